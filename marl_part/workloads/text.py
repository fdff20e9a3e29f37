"""``text``: a plain or gzipped text, one tuple per word, in order (a word-count stream,
as in SaSPartitioner's and the PKG papers' word-count experiments)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import InputError
from marl_part.workloads.common import MAX_TUPLES, read_text, resolve
from marl_part.workloads.source import Source
from marl_part.workloads.trace import Trace, dense_ids, stable_key_hash

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@dataclass(frozen=True, kw_only=True)
class TextSource(Source):
    source: Literal["text"]
    path: str
    lowercase: bool = True  # 'The' and 'the' are one key

    def read(self, base_dir: Path) -> Trace:
        path = resolve(self.path, base_dir)
        text = read_text(path)
        # at most limit words (and one past MAX_TUPLES, refused later) are kept
        cap = min(self.limit or MAX_TUPLES + 1, MAX_TUPLES + 1)
        found = WORD.finditer(text.lower() if self.lowercase else text)
        words = [match.group() for match in itertools.islice(found, cap)]
        if not words:
            raise InputError("no words in the file", str(path))
        keys, names = dense_ids(words)
        return Trace(keys, np.ones(len(keys)), None, names, stable_key_hash(len(names)))
