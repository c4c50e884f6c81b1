"""A simulator of the station hardware: lock relay, door contact, exit button, display, camera.

Each class implements a port of ``station_agent.ports``; riders act on a ``SimStation``.
For the real adapters: ``pins.py`` (a gpiozero pin factory backed by files, so a test drives
an agent process's GPIO from outside) and ``video.py`` (recordings of the simulated camera).
"""
