"""A simulator of the station hardware: lock relay, door contact, exit button, display, camera.

Each class implements a port of ``station_agent.ports``; riders act on a ``SimStation``.
"""
