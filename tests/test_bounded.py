"""Bounded work and memory of the fast solver (issue 11, point 3): absurd requests are refused
up front with a ValueError naming alpha and t_end; a solve that cannot finish within max_nfev
gradient evaluations stops before the sweep that would pass it, with status -5."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import idebook
from idebook import _fast, continuous
from idebook.model import output_intervals, output_times
from idebook.objectives import from_functions, quadratic

F = quadratic()
THETA0 = 1.0
ALGORITHMS = ("adagrad", "rmsprop", "adam")


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("fixed", [{"method": "paper"}, {"substeps": 4}])
@pytest.mark.parametrize(("alpha", "t_end"), [(1e-12, 1.0), (0.1, 1e9)])
def test_an_absurd_fixed_grid_is_refused_naming_alpha_and_t_end(name, fixed, alpha, t_end):
    with pytest.raises(ValueError, match=r"alpha = .* and t_end = .*GiB"):
        getattr(continuous, name)(F, THETA0, alpha=alpha, t_end=t_end, **fixed)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_a_tiny_alpha_is_solved_or_stopped_within_the_work_limit(name):
    """alpha = 1e-6 over t_end = 2: 2e6 steps of the algorithm, a fixed grid alpha/4 would need
    3e7 gradient evaluations per sweep. Within 2e6 evaluations the solve either ends with a
    result that matches the discrete run to O(alpha), or says that it stopped and why."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", idebook.ConvergenceWarning)
        run = getattr(continuous, name)(F, THETA0, alpha=1e-6, t_end=2.0, max_nfev=2_000_000)
    assert run.nfev <= 2_000_000
    if run.success:
        steps = getattr(idebook.discrete, name)(F, THETA0, alpha=1e-6, steps=2_000_000)
        assert abs(run.theta[-1, 0] - steps.theta[-1, 0]) < 1e-4
    else:
        assert (run.status, run.message.split()[0]) in ((-1, "Picard"), (-5, "Stopped"))
    if name == "adagrad":  # G(t + alpha) settles at once: steps grow past alpha at the start
        assert run.success and run.nfev < 20_000


@pytest.mark.parametrize("name", ALGORITHMS)
def test_the_work_limit_stops_a_solve_with_status_minus_5(name):
    with pytest.warns(idebook.ConvergenceWarning, match="work limit"):
        run = getattr(continuous, name)(F, THETA0, alpha=0.1, t_end=6.0, max_nfev=50)
    assert not run.success and run.status == -5 and "max_nfev = 50" in run.message
    assert run.nfev <= 50 and np.isnan(run.theta).all() and run.t[-1] == 6.0


def test_the_work_limit_returns_the_last_solve_that_finished():
    full = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=20.0)
    assert full.success
    with pytest.warns(idebook.ConvergenceWarning, match="max_nfev"):
        run = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=20.0,
                                 max_nfev=full.nfev - 10)
    assert run.status == -5 and not run.success and run.nfev <= full.nfev - 10
    assert np.max(np.abs(run.theta - full.theta)) < 1e-6


def test_nodes_that_would_not_fit_in_memory_stop_the_solve(monkeypatch):
    monkeypatch.setattr(continuous, "MAX_GRID_BYTES", 40 * 5 * 8)  # 40 nodes
    with pytest.warns(idebook.ConvergenceWarning, match="GiB"):
        capped = continuous.rmsprop(F, THETA0, alpha=0.1, beta=0.9, t_end=2.0)
    assert capped.status == -3 and not capped.success


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
    """Send every step of the interpreted march through SDIRK4, never DOPRI5 (and optionally
    make Newton fail on every full step of the grid alpha/8, so that each one is retried as
    two half steps)."""
    namespace = _fast.plain_march.__globals__
    monkeypatch.setitem(namespace, "STIFF", -1.0)
    monkeypatch.setitem(namespace, "DOPRI_STIFF", -1.0)
    if fail_full_steps:
        sdirk = namespace["sdirk_step"]

        def failing(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, y_new, floor,
                    newton_tol, work, J):
            if hs > 0.9 * 0.1 / 8:
                return False, 7
            return sdirk(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, y_new, floor,
                         newton_tol, work, J)

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
    assert "taken explicitly" not in implicit.message


@pytest.mark.parametrize("name", ALGORITHMS)
def test_adaptive_sdirk_steps_agree_with_lawson_rk4(monkeypatch, name):
    kw = {"alpha": 0.1, "t_end": 1.0}
    explicit = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    _stiff_everywhere(monkeypatch)
    implicit = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    assert explicit.success and implicit.success
    assert all((seg.methods == _fast.SDIRK).all() for seg in implicit.sol.segments)
    assert any((seg.methods == _fast.DOPRI).any() for seg in explicit.sol.segments)
    assert np.max(np.abs(implicit.theta - explicit.theta)) < 3e-8


@pytest.mark.parametrize("name", ALGORITHMS)
def test_newton_stops_at_a_share_of_the_local_tolerance(monkeypatch, name):
    # SDIRK's Newton iteration stops at NEWTON_KAPPA times the step's local tolerance: fewer
    # gradients than iterating to NEWTON_TOL, and a difference far inside the tolerance
    kw = {"alpha": 0.1, "t_end": 1.0, "tol": 1e-5}
    _stiff_everywhere(monkeypatch)
    loose = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    monkeypatch.setitem(_fast.plain_march.__globals__, "NEWTON_KAPPA", 0.0)
    strict = getattr(continuous, name)(QUADRATIC, THETA0, **kw)
    assert loose.success and strict.success
    assert loose.nfev < strict.nfev
    assert np.max(np.abs(loose.theta - strict.theta)) < 0.1 * kw["tol"]


def test_the_stage_predictor_is_exact_for_a_derivative_linear_in_time():
    # each stage's Newton starts from its derivative predicted by the line through those before
    for st in range(1, _fast.SDIRK_C.size):
        weights = _fast.SDIRK_PREDICT[st, :st]
        assert np.isclose(weights.sum(), 1.0)
        if st > 1:
            assert np.isclose(weights @ _fast.SDIRK_C[:st], _fast.SDIRK_C[st])
    assert not np.triu(_fast.SDIRK_PREDICT).any()  # only the stages before it


@pytest.mark.parametrize("name", ALGORITHMS)
def test_predicted_stages_save_newton_iterations(monkeypatch, name):
    # Newton started from each stage's predicted derivative against started from none (the
    # stage's explicit part alone), every step implicit: 2.25 / 3.0 (AdaGrad), 2.45 / 3.1
    # (RMSProp) and 3.25 / 4.0 (Adam) gradients per stage, on the same steps
    _stiff_everywhere(monkeypatch)
    namespace = _fast.plain_march.__globals__
    sdirk, evaluations = namespace["sdirk_step"], []

    def counting(*args):
        ok, evals = sdirk(*args)
        evaluations.append(evals)
        return ok, evals

    monkeypatch.setitem(namespace, "sdirk_step", counting)
    per_stage = []
    for weights in (_fast.SDIRK_PREDICT, np.zeros_like(_fast.SDIRK_PREDICT)):
        monkeypatch.setitem(namespace, "SDIRK_PREDICT", weights)
        evaluations.clear()
        run = getattr(continuous, name)(QUADRATIC, THETA0, alpha=0.1, t_end=1.0, tol=1e-6)
        assert run.success
        per_stage.append((len(evaluations), np.mean(evaluations) / _fast.SDIRK_C.size))
    (steps, predicted), (steps_unpredicted, unpredicted) = per_stage
    assert steps == steps_unpredicted
    assert predicted < 0.85 * unpredicted


@pytest.mark.parametrize(("alpha", "t_end"), [(0.1, 2.0), (0.3, 1.0), (0.1, 0.0), (0.1, 0.05),
                                              (0.01, 0.01 * 200_000), (0.1, 0.1 * 3)])
def test_output_intervals_counts_output_times_without_making_them(alpha, t_end):
    assert output_intervals(alpha, t_end) == output_times(alpha, t_end).size - 1


def test_a_replay_that_stops_suiting_its_nodes_goes_on_adaptively():
    # a sweep that follows nodes which suit it up to t = 1 and are far too coarse after it keeps
    # the replayed nodes and goes on from the step that failed with adaptive steps (no
    # DivergenceError, no new sweep from t = 0), and it agrees with an adaptive sweep
    model = idebook.model.build("rmsprop", QUADRATIC, THETA0, alpha=0.1, beta=0.9)
    system = continuous._System(model, max_nfev=10**6)
    y0 = np.array([THETA0, 0.0])
    tol, end = 1e-9, 3.0

    def sweep(local_tol, follow=None):
        return system.march(_fast.FROZEN, None, y0, 0.0, end, tol=local_tol, h0=0.025,
                            follow=follow)

    fine, coarse = sweep(tol), sweep(1e-3)
    kept = int(np.sum(fine.X <= 1.0))
    X = np.concatenate([fine.X[:kept], coarse.X[coarse.X > 1.0]])
    methods = np.concatenate([fine.methods[fine.X[:-1] < 1.0],
                              coarse.methods[coarse.X[:-1] >= 1.0]])
    assert X.size - 1 == methods.size
    follow = continuous.Segment(X=X, Y=np.empty((X.size, 2)), dY=np.empty((X.size, 2)),
                                M=np.empty((X.size - 1, 2)), sqrt_time=False, methods=methods,
                                D=system.D)
    before = system.nfev
    hybrid = sweep(tol, follow=follow)
    replayed = np.flatnonzero(hybrid.X[:X.size] != X)[0]
    assert replayed >= kept  # the fine nodes were all replayed, then a coarse step failed
    assert replayed < X.size - 1 and hybrid.X.size > X.size
    assert system.nfev - before < 1.5 * fine.X.size * 6
    assert np.max(np.abs(hybrid(fine.t)[:, 0] - fine.Y[:, 0])) < 100 * tol


@pytest.mark.parametrize("name", ALGORITHMS)
def test_sdirk_steps_converge_at_fourth_order(monkeypatch, name):
    # a grid-refinement study of SDIRK4 alone: theta on the grids alpha/N (every step
    # implicit) against an adaptive solve at tol 1e-12; the observed order log2(e_N / e_2N)
    kw = {"alpha": 0.1, "t_end": 1.0}
    reference = getattr(continuous, name)(QUADRATIC, THETA0, tol=1e-12, **kw)
    assert reference.success
    _stiff_everywhere(monkeypatch)
    errors = []
    for N in (4, 8, 16):
        run = getattr(continuous, name)(QUADRATIC, THETA0, substeps=N, **kw)
        assert all((seg.methods == _fast.SDIRK).all() for seg in run.sol.segments)
        errors.append(np.max(np.abs(run.theta - reference.theta)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.5) & (orders < 4.6)), orders
