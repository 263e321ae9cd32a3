"""pyvision: a self-hosted image-recognition service."""

__version__ = "0.2.0"
