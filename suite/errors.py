"""The error the suite reports as one line and a non-zero exit."""


class SuiteError(Exception):
    """Bad input or an unusable record; the message is one line meant for the user."""
