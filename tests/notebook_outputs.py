"""A machine-independent check of the notebooks' checked (nbval-compared) outputs.

nbval compares the text a notebook prints with the committed text, digit by digit. A printed
digit that depends on round-off (BLAS kernel, vector width, summation order, FMA) makes that
comparison pass on one machine and fail on another. This module finds such digits in the
committed outputs themselves, so a violation is caught on any machine:

* a printed number whose magnitude is below :data:`SMALLEST` but not zero (``4.9e-16``,
  ``1.2E-17``, ``0.0000000000003``, ``3.1×10⁻¹⁶``), or a negative zero (``-0``, ``-0.000``),
  whose sign is round-off;
* a column of a text table (a header line, a line of dashes, rows: the format of
  :func:`idebook.analysis.table`) in which one quantity prints as a bound (``<1e-10``) on
  one row and as an exact ``0`` on another: the same round-off-level quantity printed two ways,
  which is what changes from one machine to the next.

* a path to a Python file (``/home/me/idebook/analysis.py:387``, the location a warning
  prints), which names the checkout the notebook was executed in: another clone prints
  another path.

Outputs nbval does not compare (cells tagged ``nbval-ignore-output`` or ``nbval-skip``, images,
widget views) are not checked.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

SMALLEST = 1e-12
"""Printed magnitudes below this (other than an exact zero) are round-off."""

UNCHECKED_TAGS = frozenset({"nbval-ignore-output", "nbval-skip"})

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
# A number not glued to an identifier: 12, -3.5, .5, 4.9e-16, 1.2E+03, 3.1×10⁻¹⁶, 2·10^-13.
_NUMBER = re.compile(
    r"(?<![\w.])(?P<mant>[-+−]?(?:\d+\.?\d*|\.\d+))"
    r"(?:(?P<exp>[eE][-+]?\d+)"
    r"|\s?[×x·*]\s?10(?:\^\{?(?P<pow>[-+−]?\d+)\}?|(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)))?"
    r"(?![\w])")
_BOUND = re.compile(r"^[<≤]|^<=")
_ZERO = re.compile(r"^[-+−]?0+(?:\.0*)?(?:[eE][-+]?\d+)?$")
_DASHES = re.compile(r"^-+(?: {2,}-+)*\s*$")
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[\w.-]+[/\\])+[\w.-]+\.py\b(?::\d+)?")


@dataclass(frozen=True)
class Violation:
    """One fragile printed value: where it is and why it is fragile."""

    notebook: str
    cell: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.text!r}: {self.reason}"


SANITIZE = Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg"


@functools.cache
def _sanitize_patterns() -> tuple[tuple[str, str], ...]:
    from nbval.plugin import get_sanitize_patterns

    return tuple(get_sanitize_patterns(SANITIZE.read_text()))


def sanitize(text: str) -> str:
    """The text as nbval compares it: the patterns of nbval_sanitize.cfg applied in their order,
    as nbval applies them (``nbval.plugin.IPyNbCell.sanitize``)."""
    for regex, replacement in _sanitize_patterns():
        text = re.sub(regex, replacement, text)
    return text


def number_value(match: re.Match) -> float:
    """The value of a :data:`_NUMBER` match."""
    mant = float(match["mant"].replace("−", "-"))
    if match["exp"]:
        return mant * 10.0 ** int(match["exp"][1:])
    power = match["pow"] or (match["sup"] or "").translate(_SUPERSCRIPT)
    return mant * 10.0 ** int(power.replace("−", "-")) if power else mant


def fragile_numbers(text: str) -> list[tuple[str, str]]:
    """(number as printed, reason) for every round-off-level number in ``text``."""
    found = []
    for match in _NUMBER.finditer(text):
        value = number_value(match)
        printed = match.group(0)
        if value != 0 and abs(value) < SMALLEST:
            found.append((printed, f"magnitude below {SMALLEST:g} (round-off)"))
        elif value == 0 and match["mant"][0] in "-−":
            found.append((printed, "negative zero (its sign is round-off)"))
    return found


def mixed_columns(text: str) -> list[tuple[str, str]]:
    """(column header, reason) for table columns printing both a bound and an exact 0."""
    lines = text.splitlines()
    found = []
    for r, line in enumerate(lines):
        if r == 0 or not _DASHES.match(line) or not line.strip():
            continue
        spans = [m.span() for m in re.finditer(r"-+", line)]
        rows = []
        for body in lines[r + 1:]:
            if not body.strip() or _DASHES.match(body):
                break
            rows.append(body)
        for c, (start, _) in enumerate(spans):
            stop = spans[c + 1][0] if c + 1 < len(spans) else None
            cells = [row[start:stop].strip() for row in rows]
            if any(_BOUND.match(x) for x in cells) and any(_ZERO.match(x) for x in cells):
                header = lines[r - 1][start:stop].strip()
                found.append((header, "one quantity printed both as a bound and as an exact 0"))
    return found


def machine_paths(text: str) -> list[tuple[str, str]]:
    """(path, reason) for every path to a Python file in ``text`` as nbval compares it."""
    return [(m.group(0), "a path of the checkout it ran in (another clone prints another)")
            for m in _PATH.finditer(sanitize(text))]


def checked_texts(notebook: Path) -> list[tuple[int, str]]:
    """(cell index, text) of every output nbval compares in ``notebook``."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    texts = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        if UNCHECKED_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                text = output["text"]
            elif output["output_type"] in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "")
            else:
                continue
            texts.append((index, "".join(text) if isinstance(text, list) else text))
    return texts


def violations(notebook: Path) -> list[Violation]:
    """Every fragile printed value (or path) in the checked outputs of ``notebook``."""
    found = []
    for index, text in checked_texts(notebook):
        for printed, reason in fragile_numbers(text) + mixed_columns(text) + machine_paths(text):
            found.append(Violation(notebook.name, index, printed, reason))
    return found
