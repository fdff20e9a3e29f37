"""The fields every workload source has, and the one thing each must do: ``read``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from marl_part.errors import FieldError
from marl_part.workloads.batching import Batching
from marl_part.workloads.periods import Periods
from marl_part.workloads.trace import ContentModel, Trace


@dataclass(frozen=True, kw_only=True)
class Source(ABC):
    """Base of the workload configs; ``source`` (in each subclass) names the reader."""

    batch: Batching = Batching(tuples=10000)
    content: ContentModel | None = None  # synthetic content for traces that have none
    limit: int | None = None  # read at most this many tuples from the start of the trace
    # where the validation and test periods begin (marl_part.workloads.periods); none:
    # nothing is held out
    periods: Periods | None = None

    def __post_init__(self):
        if self.limit is not None and self.limit < 1:
            raise FieldError("limit", f"must be at least 1, got {self.limit}")

    @abstractmethod
    def read(self, base_dir: Path) -> Trace:
        """The trace as arrays (relative paths start at ``base_dir``)."""
