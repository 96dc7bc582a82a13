"""Contact-center engine for Asterisk: shared pieces (routing core, config, store, CLI)."""

__version__ = "0.1.0"
