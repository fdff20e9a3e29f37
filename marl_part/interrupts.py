"""Stopping on SIGINT (Ctrl-C) or SIGTERM (what cluster schedulers send), work kept.

While :func:`handled` is active, either signal raises :class:`Interrupted` where the
program is, unless it is inside :func:`deferred`: there the first signal is only
recorded, and the code stops where its work is whole (a training run writes a
checkpoint at the start of its next step) once :func:`pending` says so. On its way out,
each level adds where it was (:meth:`Interrupted.at`); the command line prints it all on
one line and exits with 128 + the signal's number (130, 143). A second signal ends the
process at once. Code that stops passes on any KeyboardInterrupt as :func:`interrupted`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: int | None = None  # the first signal's number
_deferring = 0  # depth of deferred() blocks
_handling = False  # inside handled()


class Interrupted(KeyboardInterrupt):
    """A signal stopped the work: a KeyboardInterrupt, which no ``except Exception``
    takes for an error and which libraries that check for signals (Ray) pass on."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.places: list[str] = []  # innermost first
        self.folder: str | None = None  # the folder that holds the work, to resume

    def at(self, place: str) -> Interrupted:
        """This interruption, which also stopped ``place`` (outside the places so far)."""
        self.places.append(place)
        return self

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    def describe(self, what: str, again: str) -> str:
        """One line: what was interrupted, where, and the command that resumes it (or
        ``again``, the command that starts it over, where no folder keeps the work)."""
        where = f" at {', '.join(reversed(self.places))}" if self.places else ""
        then = (f"resume with: marl-part {what} --resume {self.folder}" if self.folder
                else f"nothing was kept; start again with: {again}")
        return f"{what} interrupted ({signal.Signals(self.signum).name}){where}; {then}"


def interrupted(error: KeyboardInterrupt) -> Interrupted:
    """``error`` as an :class:`Interrupted`: a library that checks for signals itself
    (Ray) raises a KeyboardInterrupt of its own in place of ours."""
    if isinstance(error, Interrupted):
        return error
    return Interrupted(signal.SIGINT if _received is None else _received)


def _on_signal(signum: int, _frame) -> None:
    global _received
    if _received is not None:  # the second: at once, without cleaning up
        os.write(2, b"\nmarl-part: stopped at once\n")
        os._exit(128 + signum)
    _received = signum
    if not _deferring:
        raise Interrupted(signum)


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` within this block."""
    global _received, _handling
    _received, _handling = None, True
    previous = [signal.signal(number, _on_signal) for number in SIGNALS]
    try:
        yield
    finally:
        for number, handler in zip(SIGNALS, previous):
            signal.signal(number, handler)
        _received, _handling = None, False


def reclaim() -> None:
    """Take both signals back from a library that set its own handlers (``ray.init``
    does), inside :func:`handled`."""
    if _handling:
        for number in SIGNALS:
            signal.signal(number, _on_signal)


@contextmanager
def deferred() -> Iterator[None]:
    """Within this block a signal is only recorded: the code asks :func:`pending` where
    it can stop whole. One that it did not stop for is raised at the block's end."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _received is not None and not _deferring:
        raise Interrupted(_received)


def pending() -> int | None:
    """The number of a signal received inside :func:`deferred`, or None."""
    return _received
