"""The agent's pure core: plain functions over plain data, time passed in, no I/O."""
