"""The central service: issues rider credentials, decides access, stores usage, serves staff."""

__version__ = "0.1.0"
