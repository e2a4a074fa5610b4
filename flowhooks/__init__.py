"""flowhooks: the helper service IVR flows call while a call is in progress."""

__version__ = "0.1.0"
