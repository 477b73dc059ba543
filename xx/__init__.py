"""xx: launch any AI coding agent with the right flags, through one local gateway."""

__version__ = "0.1.0"
