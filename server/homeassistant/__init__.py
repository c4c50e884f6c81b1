"""Optional Home Assistant MQTT discovery: each station as a lock, a door sensor and an
occupancy sensor, readable through the read-only monitor account (never a token)."""
