"""Deployment-wide trust data every station shares: the keys page and the denylist pages."""
