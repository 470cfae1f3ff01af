"""The committed notebooks print nothing that depends on round-off (see notebook_outputs.py).

These tests read the committed outputs only (no kernel, well under a second), so they fail on
any machine, not only on the one whose round-off happens to differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notebook_outputs import fragile_numbers, machine_paths, mixed_columns, violations

from idebook.analysis import fmt, table

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 12


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_outputs_print_no_round_off(notebook):
    found = violations(notebook)
    assert not found, "fragile printed values:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("text", [
    "closed form  4.9e-16", "4.9E-16", "x = -3.3e-17,", "[4.00000000e+00 1.2e-13]",
    "0.0000000000003", "3.1×10⁻¹⁶", "2·10^-13", "2 x 10^{-14}", "bound < 1e-30", "-0.000",
    "gap -0", "(1e-300)",
])
def test_round_off_numbers_are_found(text):
    assert fragile_numbers(text), text


@pytest.mark.parametrize("text", [
    "<1e-10", "gap 1e-10 and 1.5e-12", "0", "0.0", "theta_1e5 x2e-20", "k = 1853", "1e+30",
    "α=0.01, β=0.9", "order 3.917", "v2.4.6", "-1.25", "page 10^3",
])
def test_ordinary_numbers_pass(text):
    assert not fragile_numbers(text), text


def test_a_column_mixing_a_bound_and_an_exact_zero_is_found():
    text = table(("run", "final gap"), [("B = 10", "0.0025"), ("B = N", "<1e-10"), ("B = N", "0")])
    assert mixed_columns(text) == [("final gap", "one quantity printed both as a bound and as "
                                                 "an exact 0")]
    same = table(("run", "final gap"), [("a", fmt(0.0)), ("b", fmt(3e-17)), ("c", fmt(0.25))])
    assert mixed_columns(same) == []


def _notebook(tmp_path, text, tags=()):
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {"tags": list(tags)},
            "source": "print(x)", "outputs": [{"output_type": "stream", "name": "stdout",
                                               "text": text}]}
    path = tmp_path / "planted.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def test_a_planted_round_off_value_fails_the_check(tmp_path):
    found = violations(_notebook(tmp_path, "closed form  4.9e-16\n"))
    assert [(v.cell, v.text) for v in found] == [(0, "4.9e-16")]


def test_unchecked_cells_are_skipped(tmp_path):
    assert violations(_notebook(tmp_path, "4.9e-16\n", ["nbval-ignore-output"])) == []


@pytest.mark.parametrize("text", [
    "/work/main/idebook/analysis.py:387: RuntimeWarning: invalid value encountered in sqrt",
    "/tmp/tmp.x1/fresh/idebook/continuous.py:12: ConvergenceWarning: ...",
    "C:\\Users\\me\\idebook\\analysis.py:387: RuntimeWarning",
])
def test_a_path_of_the_checkout_is_found(text):
    assert machine_paths(text), text


def test_relative_paths_and_fractions_pass():
    assert not machine_paths("see idebook/analysis.py and 1/2/3 and tests/roundtrip.py")
