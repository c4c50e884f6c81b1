"""The demo: a private broker, the server, simulated stations and riders, on embedded defaults."""
