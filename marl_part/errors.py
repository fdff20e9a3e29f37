"""The exception types for bad user input.

Everything a user can get wrong (a YAML key, a value, a trace file, a policy name)
raises :class:`InputError` with a message that names the place (file, line, key) and
what would have been allowed. The CLI prints the message and exits with status 2;
only ``--debug`` shows a traceback. A config dataclass that finds one of its values
bad raises :class:`FieldError`; :mod:`marl_part.typed_yaml` turns it into an
:class:`InputError` naming the file, line and key.
"""

from __future__ import annotations

import re

EXIT_BAD_INPUT = 2


class InputError(Exception):
    """Bad user input, with a message fit to print as it is: one line.

    ``where`` is the place (a file, ``file:line``, an option); ``key`` the config key
    it concerns, when the error is raised where the config's file is not known (while
    building an env): :meth:`in_file` names the file later.
    """

    def __init__(self, message: str, where: str | None = None, *, key: str | None = None):
        self.message, self.where, self.key = message, where, key
        text = f"key '{key}': {message}" if key else message
        # one line, also when the message quotes a multi-line library error
        super().__init__(re.sub(r"\s*\n\s*", " ", f"{where}: {text}" if where else text))

    def in_file(self, where: str | None) -> InputError:
        """This error placed in ``where`` (the config file), unless it names a place."""
        return self if self.where or not where else InputError(self.message, where, key=self.key)


class FieldError(ValueError):
    """Raised by a config dataclass's ``__post_init__``: the value of ``field`` is bad."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def one_of(values) -> str:
    """Format allowed values for an error message: ``one of: a, b, c``."""
    return "one of: " + ", ".join(str(v) for v in values)
