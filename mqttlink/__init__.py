"""The paho-mqtt adapter shared by the station agent, the server and the demo.

A paho message never leaves this package: it becomes an ``Inbound`` (topic, payload and the
MQTT 5 request/response properties) handed to the owner's callback, which must only queue it.
"""

from mqttlink.link import Inbound, Link, LinkSettings, Will

__all__ = ["Inbound", "Link", "LinkSettings", "Will"]
