"""The exception types for bad user input.

Everything a user can get wrong (a YAML key, a value, a trace file, a policy name)
raises :class:`InputError` with a message that names the place (file, line, key) and
what would have been allowed. The CLI prints the message and exits with status 2;
only ``--debug`` shows a traceback. A config dataclass that finds one of its values
bad raises :class:`FieldError`; :mod:`marl_part.typed_yaml` turns it into an
:class:`InputError` naming the file, line and key.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class InputError(Exception):
    """Bad user input, with a message fit to print as it is."""

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class FieldError(ValueError):
    """Raised by a config dataclass's ``__post_init__``: the value of ``field`` is bad."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def one_of(values) -> str:
    """Format allowed values for an error message: ``one of: a, b, c``."""
    return "one of: " + ", ".join(str(v) for v in values)
