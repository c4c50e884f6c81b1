"""Everything with I/O: camera, decoder, MQTT. Each implements a port of ``station_agent.ports``."""
