"""The server's own health: liveness, readiness, and lost and regained dependencies."""
