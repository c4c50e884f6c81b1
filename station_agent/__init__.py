"""The edge agent of one station: camera → QR → credential check → server decision → lock."""

__version__ = "0.1.0"
