"""Adapters to Asterisk: the runtime (root, start, stop), config generation, AMI and FastAGI."""
