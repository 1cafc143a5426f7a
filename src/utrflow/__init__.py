"""utrflow."""
