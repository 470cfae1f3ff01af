"""success=True is earned (issue 11, point 2): a seeded sample of random solves, each judged
against a solve at tol/1000 over its output times and 64 random times of its dense output.
``benchmarks/fuzz_solvers.py`` runs the same judge on 1000 and more examples."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from truthful import FACTOR, TOL, cases, judge


@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_no_false_success_and_no_false_divergence(case):
    verdict = judge(case, reference_max_nfev=2_000_000)  # a costlier reference: unjudged
    assert verdict.kind in ("honest", "unjudged"), (
        f"{verdict.kind}: {case} has error {verdict.error:.3g} > {FACTOR} * {TOL}")
