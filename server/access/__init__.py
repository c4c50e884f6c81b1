"""The server's pure decisions: who may enter, and what an event does to occupancy."""
