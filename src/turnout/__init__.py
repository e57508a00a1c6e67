"""turnout: move a live database to a new home, keep both in step, switch over, switch back."""

__version__ = "0.1.0"
