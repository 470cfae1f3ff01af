"""Is ``success=True`` earned? One random continuous solve judged against a solve at tol/1000.

Shared by ``tests/test_truthful.py`` (a seeded sample, in every test run) and
``benchmarks/fuzz_solvers.py`` (the full count, 1000 examples and more). The parameter space is
issue 11's: alpha in [1e-3, 1], betas in [0, 0.999], eps in [1e-12, 1e-2], theta0 in [-10, 10]
or within 1e-9 of the minimiser, t_end from below alpha up to 20, on f = (theta - 4)^2.

A solve is judged on theta at every output time and at 64 random times in [0, t_end] (its
dense output), against the reference's dense output there:

* ``false success``: success=True, and an error above FACTOR * tol somewhere;
* ``false divergence``: DivergenceError, while the reference is finite everywhere;
* ``honest``: success=True within FACTOR * tol, or success=False (a status and a message);
* ``unjudged``: the reference itself did not succeed (it cannot serve as the truth).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from idebook import continuous
from idebook.objectives import quadratic
from idebook.results import ConvergenceWarning, DivergenceError

F = quadratic()
TOL = 1e-8
FACTOR = 10.0  # success promises an error within FACTOR * tol, dense output included
REFERENCE_TOL = TOL / 1000
REFERENCE_MAX_NFEV = 3 * 10**7  # some 15 s; a reference that needs more is unjudged
DENSE_TIMES = 64


@dataclass(frozen=True)
class Case:
    """One continuous solve: the algorithm and its keyword arguments."""

    algorithm: str
    kwargs: dict
    seed: int

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"continuous.{self.algorithm}(F, {args})"


@dataclass(frozen=True)
class Verdict:
    case: Case
    kind: str  # "honest", "false success", "false divergence", "unjudged"
    error: float  # max |theta - theta_ref| over the checked times (NaN if not compared)
    nfev: int
    success: bool = False  # what the solve reported


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(low), math.log10(high)).map(lambda x: 10.0**x)


@st.composite
def cases(draw) -> Case:
    """A random continuous solve from issue 11's parameter space."""
    algorithm = draw(st.sampled_from(["adagrad", "rmsprop", "adam"]))
    alpha = draw(_log_uniform(1e-3, 1.0))
    beta = st.floats(0.0, 0.999)
    near = draw(st.booleans()) and draw(st.integers(0, 3)) == 0  # a quarter of the cases
    theta0 = (4.0 + draw(st.floats(-1e-9, 1e-9)) if near
              else draw(st.floats(-10.0, 10.0)))
    t_end = draw(st.one_of(st.floats(0.1, 0.999).map(lambda x: x * alpha),
                           st.floats(0.0, 1.0).map(lambda x: min(20.0, alpha + 20.0 * x**2))))
    kwargs = {"theta0": theta0, "alpha": alpha, "t_end": t_end,
              "eps": draw(_log_uniform(1e-12, 1e-2))}
    if algorithm == "rmsprop":
        kwargs["beta"] = draw(beta)
    elif algorithm == "adam":
        kwargs["beta1"] = draw(beta)
        kwargs["beta2"] = draw(beta)
    return Case(algorithm, kwargs, draw(st.integers(0, 2**31 - 1)))


def _solve(case: Case, **extra):
    kwargs = dict(case.kwargs)
    theta0 = kwargs.pop("theta0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(continuous, case.algorithm)(F, theta0, **kwargs, **extra)


def judge(case: Case, reference_max_nfev: int = REFERENCE_MAX_NFEV) -> Verdict:
    """Solve ``case`` at the default tolerance and at tol/1000, and classify the result."""
    try:
        ref = _solve(case, tol=REFERENCE_TOL, max_nfev=reference_max_nfev)
    except DivergenceError:
        ref = None
    try:
        run = _solve(case)
    except DivergenceError:
        finite = ref is not None and bool(np.all(np.isfinite(ref.theta)))
        return Verdict(case, "false divergence" if finite else "honest", math.nan, 0)
    if ref is None or not ref.success:
        return Verdict(case, "unjudged", math.nan, run.nfev)
    t_end = case.kwargs["t_end"]
    times = np.concatenate([run.t, np.random.default_rng(case.seed).uniform(0.0, t_end,
                                                                           DENSE_TIMES)])
    error = float(np.max(np.abs(run.sol(times).theta - ref.sol(times).theta)))
    if not run.success:
        return Verdict(case, "honest", error, run.nfev)
    return Verdict(case, "false success" if error > FACTOR * TOL else "honest", error, run.nfev,
                   success=True)
