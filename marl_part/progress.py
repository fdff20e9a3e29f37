"""Progress of the long parts of a command, on stderr (stdout carries its tables and
JSON): what runs, done out of total, the time elapsed and an estimate of the rest. On a
terminal one line that updates; elsewhere (a log, CI) a plain line every
:data:`LOG_EVERY_S` seconds and at the end. Either ticks while a long part runs, so
that a slow command is told from a hung one, and shows only once a part has run
:data:`SHOW_AFTER_S` seconds (a refusal found early stays one line).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import tqdm

from marl_part.interrupts import interrupted

LOG_EVERY_S = 30.0  # seconds between the lines of a log
SHOW_AFTER_S = 2.0  # a part that ends sooner shows no progress
_open: list[tqdm.tqdm] = []  # the bars of the progress() blocks open, innermost last
PLAIN = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed} elapsed, about {remaining} left{postfix}]"


class _Lines:
    """A stream for tqdm that writes each of its updates as a line of its own (once:
    a redraw that changes nothing is left out)."""

    def __init__(self, stream):
        self.stream, self.last = stream, ""

    def write(self, text: str) -> None:
        line = text.strip("\r\n").rstrip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(what: str, total: int, unit: str, initial: int = 0,
                 shown: bool = True) -> tqdm.tqdm:
    """A tqdm bar on stderr, drawn for a terminal or written as lines for a log."""
    terminal = sys.stderr.isatty()
    return tqdm.tqdm(total=total, initial=initial, desc=what, unit=unit, disable=not shown,
                     mininterval=_every(), delay=SHOW_AFTER_S,
                     file=sys.stderr if terminal else _Lines(sys.stderr),
                     dynamic_ncols=terminal, bar_format=None if terminal else PLAIN)


def _every() -> float:
    """Seconds between two redraws."""
    return 1.0 if sys.stderr.isatty() else LOG_EVERY_S


@contextmanager
def progress(what: str, total: int, unit: str) -> Iterator[tqdm.tqdm]:
    """A bar of ``total`` ``unit`` (``bar.update(n)`` as they are done) that ticks while
    nothing is done; an interruption passing through says how far it got."""
    bar = progress_bar(what, total, unit)
    done = threading.Event()

    def tick() -> None:
        wait = SHOW_AFTER_S
        while not done.wait(wait):
            bar.refresh()
            wait = _every()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    _open.append(bar)
    try:
        yield bar
    except KeyboardInterrupt as error:
        raise interrupted(error).at(f"{what}: {bar.n:,} of {total:,} {unit} done") from None
    finally:
        _open.remove(bar)
        done.set()
        ticker.join()
        bar.close()


def advance() -> None:
    """Count one more done on the innermost open bar: for a callback that cannot hold
    its bar (Tune saves its callbacks with an experiment, and restores them)."""
    _open[-1].update()


def run_shown(run_all: Callable, calls: Sequence, on_done: Callable, what: str,
              unit: str) -> list:
    """``run_all(calls, on_done)`` (a :data:`~marl_part.evaluation.tasks.Runner`) with
    a bar of the calls done; ``on_done``'s lines are written above it."""
    with progress(what, len(calls), unit) as bar:
        def done(index: int, result) -> None:
            on_done(index, result)
            bar.update()

        return run_all(calls, done)


def log_above(text: str) -> None:
    """``print(text)`` to stdout, above the bars on a terminal."""
    tqdm.tqdm.write(text, file=sys.stdout)
