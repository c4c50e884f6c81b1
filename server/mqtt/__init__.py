"""The server's MQTT side: one consumer, one handler module per topic family."""
