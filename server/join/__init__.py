"""Riders joining without a desk: requests at /join that staff decide, and invite codes."""
