"""How many evidence fragments of a given size independent code produces by chance.

The rates come from the dev-set calibration (``calibration.json``, section
``chance``): the independent pairs' trees were matched against the originals
and a large distractor corpus, and every fragment they produced was counted by
channel and size (shared fingerprints). A fragment's ``expected_chance`` is the
number of fragments at least as large, on its channel, that independent code of
the same size is expected to produce: ``rate(size >= n) x code lines / 1000``.
Past the largest size the calibration saw, no rate is extrapolated: the figure
is the bound "fewer than one in the calibration's lines", scaled to the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

SECTION = "chance"


@dataclass(frozen=True)
class Chance:
    """A fragment's expected number of chance look-alikes in its audited file."""

    expected: float
    beyond_calibration: bool  # larger than anything the calibration saw: ``expected`` is a bound


class ChanceTable:
    """Counts of calibration fragments by channel and size, over ``code_lines`` audited lines."""

    def __init__(self, code_lines: int, counts: dict[str, dict], corpus_files: int = 0):
        self.code_lines = max(1, int(code_lines))
        self.corpus_files = int(corpus_files)  # the corpora's files the calibration searched
        self._sizes, self._at_least = {}, {}
        for channel, by_size in counts.items():
            rows = sorted((int(s), int(n)) for s, n in by_size.items())  # JSON keys are strings
            self._sizes[channel] = np.array([s for s, _ in rows], dtype=np.int64)
            n = np.array([n for _, n in rows], dtype=np.int64)
            self._at_least[channel] = np.cumsum(n[::-1])[::-1]  # fragments of this size or larger

    def at_least(self, channel: str, size: int) -> int:
        """Calibration fragments on ``channel`` with at least ``size`` fingerprints."""
        sizes = self._sizes.get(channel)
        if sizes is None or not len(sizes):
            return 0
        i = int(np.searchsorted(sizes, size, "left"))
        return int(self._at_least[channel][i]) if i < len(sizes) else 0

    def rate(self, channel: str, size: int) -> float:
        """Fragments of at least ``size`` per 1,000 audited code lines."""
        return self.at_least(channel, size) * 1000.0 / self.code_lines

    def scale(self, corpus_files: int) -> float:
        """How many times the calibration's corpus the searched one is: chance matches are taken
        to grow in proportion beyond it, and never to shrink below it (a smaller corpus keeps
        the calibrated figure, which then errs towards calling a match ordinary)."""
        return max(1.0, corpus_files / self.corpus_files) if self.corpus_files else 1.0

    def expected(self, channel: str, size: int, file_lines: int, corpus_files: int = 0) -> Chance:
        """The expected number of chance fragments this large in a file of ``file_lines`` code
        lines, matched against ``corpus_files`` documents."""
        lines = max(1, int(file_lines)) * self.scale(corpus_files)
        count = self.at_least(channel, size)
        if count == 0:  # one calibration fragment is the most the data can rule out
            return Chance(lines / self.code_lines, True)
        return Chance(count * lines / self.code_lines, False)


def table_from(data: dict) -> ChanceTable | None:
    """The table in a calibration document, or None when it was not measured."""
    sec = data.get(SECTION)
    if not sec:
        return None
    files = sum(int(c.get("files", 0)) for c in sec.get("corpora", []))
    return ChanceTable(sec["code_lines"], sec["fragments_by_size"], files)


@lru_cache(maxsize=1)
def shipped_section() -> dict:
    """The "chance" section shipped with the package (calibration.json); empty if unmeasured."""
    text = resources.files("audit.provenance").joinpath("calibration.json").read_text("utf-8")
    return json.loads(text).get(SECTION) or {}


@lru_cache(maxsize=1)
def shipped() -> ChanceTable | None:
    """The table shipped with the package (built once: every matched file pair asks for it)."""
    return table_from({SECTION: shipped_section()})


def legend(section: dict | None = None) -> str:
    """What the figure means and what it was measured on, in one sentence."""
    sec = shipped_section() if section is None else section
    if not sec:
        return MEANING + "; not measured in this build, so not shown"
    pairs = ", ".join(p["id"] for p in sec.get("pairs", []))
    corpora = ", ".join(c["name"] for c in sec.get("corpora", []))
    return (f"{MEANING}; measured {sec.get('date', '?')} on {sec['code_lines']:,} code lines of "
            f"independent implementations ({pairs}) against {corpora}")


def describe(expected: float | None, beyond: bool, calibration_lines: int | None = None) -> str:
    """The figure as a reader sees it: a number, or the bound past the calibration's range."""
    if expected is None:
        return "not calibrated"
    if beyond:
        lines = calibration_lines or shipped_section().get("code_lines")
        where = f"{lines:,} " if lines else ""
        return f"< 1 in the calibration's {where}lines (< {_sig(expected)} here)"
    return _sig(expected)


def _sig(x: float) -> str:
    """Two significant figures, never in exponent form (0.0031, 0.42, 3.1, 120)."""
    if x >= 10:
        return f"{x:,.0f}"
    if x <= 0:
        return "0"
    digits = max(0, 1 - int(np.floor(np.log10(x))))
    return f"{x:.{digits}f}"


MEANING = ("how many shared runs at least this large, on this channel, "
           "independent code of the same domain produces in a file of this size "
           "(dev-set calibration); well below 1 is unlikely to be coincidence, 1 or more is "
           "what unrelated code shows")
