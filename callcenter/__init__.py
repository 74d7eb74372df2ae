"""callcenter: a PBX/ACD call-center server on an Asterisk 22 core."""

__all__ = ["__version__"]

__version__ = "0.1.0"
