"""One exception root for the project, split by whose fault a failure is."""

__all__ = ["CallcenterError", "ConfigError", "PeerError"]


class CallcenterError(Exception):
    """Root of every exception the project raises on purpose."""


class ConfigError(CallcenterError):
    """Configuration or input given to us is wrong; the message says where and how to fix it."""


class PeerError(CallcenterError):
    """Asterisk, PostgreSQL or another peer misbehaved or went away."""
