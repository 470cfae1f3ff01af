"""Bounded work and memory of the fast solver (issue 11, point 3): absurd requests are refused
up front with a ValueError naming alpha and t_end; a solve that cannot finish within max_nfev
gradient evaluations stops before the sweep that would pass it, with status -5."""

from __future__ import annotations

import numpy as np
import pytest

import idebook
from idebook import _fast, continuous
from idebook.model import output_intervals, output_times
from idebook.objectives import from_functions, quadratic
from idebook.results import STATUS

F = quadratic()
THETA0 = 1.0
ALGORITHMS = ("adagrad", "rmsprop", "adam")


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("method", ["fast", "paper"])
@pytest.mark.parametrize(("alpha", "t_end"), [(1e-12, 1.0), (0.1, 1e9)])
def test_an_absurd_grid_is_refused_naming_alpha_and_t_end(name, method, alpha, t_end):
    with pytest.raises(ValueError, match=r"alpha = .* and t_end = .*GiB"):
        getattr(continuous, name)(F, THETA0, alpha=alpha, t_end=t_end, method=method)


@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_a_solve_beyond_the_default_work_limit_stops_before_it_starts(name):
    """alpha = 1e-6, t_end = 2: 2e6 windows, which the two grids of an error estimate would
    cost 1.9e8 gradient evaluations, over the default 1e8 (it used to compute for 19 s)."""
    with pytest.warns(idebook.ConvergenceWarning, match="work limit"):
        run = getattr(continuous, name)(F, THETA0, alpha=1e-6, t_end=2.0)
    assert not run.success and run.status == -5 and "max_nfev = 100000000" in run.message
    assert run.nfev == 0 and np.isnan(run.theta).all()
    assert run.t[-1] == 2.0


def test_the_work_limit_returns_the_last_grid_solved():
    full = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=20.0)
    assert full.success and full.nfev > 100_000
    for max_nfev in (30_000, 60_000):
        with pytest.warns(idebook.ConvergenceWarning, match="max_nfev"):
            run = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=20.0,
                                     max_nfev=max_nfev)
        assert run.status == -5 and not run.success
        assert run.nfev <= max_nfev and run.substeps in (4, 8)
        assert np.max(np.abs(run.theta - full.theta)) < 1e-4


def test_a_refinement_that_would_not_fit_in_memory_is_not_made(monkeypatch):
    """With the memory cap between the grids alpha/4 and alpha/8, the solve stops at alpha/4
    and says why (status -3: error above tol at the finest grid allowed)."""
    run = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=2.0)
    # 22 windows (20 and 2 of padding) of 6 steps, 2 arrays of 2 float64 states per node
    monkeypatch.setattr(continuous, "MAX_GRID_BYTES", (22 * 6 + 1) * 2 * 2 * 8)
    with pytest.warns(idebook.ConvergenceWarning, match="GiB"):
        capped = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=2.0)
    assert capped.status == -3 and capped.substeps == 4 and "alpha/8" in capped.message
    assert np.max(np.abs(capped.theta - run.theta)) < 1e-4


def test_the_work_limit_status_is_documented():
    assert -5 in STATUS and "max_nfev" in STATUS[-5]


@pytest.mark.parametrize("max_nfev", [0, 1.5, True])
def test_max_nfev_is_validated(max_nfev):
    with pytest.raises(ValueError, match="max_nfev"):
        continuous.adam(F, THETA0, alpha=0.1, t_end=1.0, max_nfev=max_nfev)


# --- the stiff path of idebook._fast (issue 11, point 5) ---

QUADRATIC = from_functions(lambda th: float((th[0] - 4) ** 2), lambda th: 2 * (th - 4))


def test_lu_solve_matches_numpy():
    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 6):
        A = rng.normal(size=(size, size))
        A[0, 0] = 0.0 if size > 1 else 2.0  # a zero pivot needs a row exchange
        b = rng.normal(size=size)
        LU, pivots, x = A.copy(), np.empty(size, dtype=np.int64), b.copy()
        _fast.lu_factor(LU, pivots)
        _fast.lu_solve(LU, pivots, x)
        np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)


def _stiff_everywhere(monkeypatch, fail_full_steps=False):
    """Send every step of the interpreted sweep through SDIRK4 (and optionally make Newton fail
    on every full step, so that each one is retried as two half steps)."""
    namespace = _fast.plain_sweep.__globals__
    monkeypatch.setitem(namespace, "STIFF", -1.0)
    if fail_full_steps:
        sdirk = namespace["sdirk_step"]

        def failing(grad, params, coef, mode, t, hs, y, y_new, i, frac, N, h, D, P, Pd):
            if hs == h:
                return False, 7
            return sdirk(grad, params, coef, mode, t, hs, y, y_new, i, frac, N, h, D, P, Pd)

        monkeypatch.setitem(namespace, "sdirk_step", failing)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("fail_full_steps", [False, True])
def test_sdirk_steps_and_their_retries_agree_with_lawson_rk4(monkeypatch, name, fail_full_steps):
    kw = {"alpha": 0.1, "t_end": 1.0, "substeps": 8}
    explicit = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    _stiff_everywhere(monkeypatch, fail_full_steps)
    implicit = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    assert explicit.success and implicit.success
    assert np.max(np.abs(implicit.theta - explicit.theta)) < 1e-6
    assert implicit.nfev > 2 * explicit.nfev
    assert ("retried as 2 to 8 SDIRK steps" in implicit.message) == fail_full_steps
    assert "taken explicitly" not in implicit.message


@pytest.mark.parametrize(("alpha", "t_end"), [(0.1, 2.0), (0.3, 1.0), (0.1, 0.0), (0.1, 0.05),
                                              (0.01, 0.01 * 200_000), (0.1, 0.1 * 3)])
def test_output_intervals_counts_output_times_without_making_them(alpha, t_end):
    assert output_intervals(alpha, t_end) == output_times(alpha, t_end).size - 1
