"""The server's Prometheus metrics, served at ``/metrics`` (docs/operations.md)."""
