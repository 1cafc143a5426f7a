"""The one exception users see: a one-line message naming the file, row or key, and the problem."""


class InputError(ValueError):
    """Bad user input. The message is a single line meant for the person who made the input.

    A message quotes what the user wrote (a header, a cell), and a quoted CSV cell may hold a
    line break: those are shown escaped, so the promise of one line holds for any input.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))


class NotEnoughData(InputError):
    """Input that is well formed but too small for a stage (a pilot plate: too few distinct
    passing sequences to train and test a model). The run goes on without that stage and the
    report says, in its place, what would let it run."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type if it has none): for one-line errors
    that quote what a library said."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
