"""Hostile SIP input: which addresses to block after repeated failures (pure), and its AMI adapter."""
