"""Alarms sent out: notifiers, the durable delivery queue, message formats, the worker."""
