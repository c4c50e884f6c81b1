"""The shared contract of Warm Station: MQTT topics, payload models and the rider credential.

Agent, server and simulator all import from here; nothing in this package does I/O.
"""
