"""The errors the suite reports as one line and a non-zero exit."""


class SuiteError(Exception):
    """Bad input, an unusable record or an OS error; the message is one line meant for the user."""


class Interrupted(Exception):
    """A grid stopped by Ctrl-C or SIGTERM at a consistent point (exit status 130); `frame`
    holds the runs' results so far."""

    def __init__(self, message: str, frame=None):
        super().__init__(message)
        self.frame = frame
