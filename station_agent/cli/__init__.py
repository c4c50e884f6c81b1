"""The commands of ``python -m station_agent``: run, enrol, check, decode (one module each),
and where they find things on a station box (``files.py``)."""
