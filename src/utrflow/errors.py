"""The one exception users see: a one-line message naming the file, row or key, and the problem."""


class InputError(ValueError):
    """Bad user input. The message is a single line meant for the person who made the input."""
