"""The branch kiosk application: dialogue, store, CLI and runtime."""

__version__ = "0.1.0"

__all__ = ["__version__"]
