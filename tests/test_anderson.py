"""Acceleration of the Picard sweeps of AdaGrad and RMSProp: Anderson's method
(idebook._anderson) and the predicted windows (idebook._fast.PREDICTED)."""

from __future__ import annotations

import numpy as np
import pytest

from idebook import _anderson, _fast, continuous
from idebook.continuous import Segment
from idebook.objectives import quadratic, rosenbrock

# A linear Picard map on cubic memories P(t) = sum_k c_k t^k, c -> A c + b, with one slow mode
# (0.95) and three faster ones: plain iteration needs some 450 sweeps to reach 1e-10.
RATES = np.array([0.95, 0.9, 0.5, 0.1])
Q = np.linalg.qr(np.random.default_rng(7).standard_normal((4, 4)))[0]
A = Q @ np.diag(RATES) @ Q.T
B = np.array([1.0, -0.5, 0.25, 2.0])
FIXED = np.linalg.solve(np.eye(4) - A, B)


def cubic_sweep(X: np.ndarray, c: np.ndarray) -> Segment:
    """A sweep whose theta and memory are both the cubic with coefficients c, on nodes X (cubic
    Hermite steps, exact for it)."""
    p = np.polynomial.Polynomial(c)
    Y = np.column_stack([p(X), p(X)])
    dY = np.column_stack([p.deriv()(X), p.deriv()(X)])
    return Segment(X=X, Y=Y, dY=dY, M=np.full((X.size - 1, 2), np.nan), sqrt_time=False,
                   methods=np.zeros(X.size - 1, dtype=np.int8), D=np.zeros(2))


def coefficients(lag) -> np.ndarray:
    return np.polynomial.polynomial.polyfit(lag.T, lag.P[:, 0], 3)


def iterate(combine: bool, meshes: list[np.ndarray], sweeps: int) -> list[float]:
    """Errors of the lags of ``sweeps`` Picard sweeps of the linear map, the k-th on
    meshes[k % len(meshes)]; and the changes in theta the solver would see."""
    accelerate = _anderson.Anderson(iv=1)
    lag = cubic_sweep(meshes[0], np.zeros(4)).lag(1)
    previous, errors, changes = None, [], []
    for k in range(sweeps):
        sweep = cubic_sweep(meshes[k % len(meshes)], A @ coefficients(lag) + B)
        if previous is not None:
            changes.append(float(np.max(np.abs(sweep.Y[:, 0] - previous(sweep.X)[:, 0]))))
        lag, previous = accelerate(lag, sweep, 1e-6, combine=combine)
        errors.append(float(np.max(np.abs(coefficients(lag) - FIXED))))
    return errors, changes


@pytest.mark.parametrize("meshes", [
    [np.linspace(0.0, 1.0, 11)],
    [np.linspace(0.0, 1.0, 11), np.linspace(0.0, 1.0, 17) ** 1.5],  # steps change each sweep
], ids=["same steps", "changing steps"])
def test_a_linear_picard_map_is_solved_in_a_few_sweeps(meshes):
    plain, _ = iterate(False, meshes, 12)
    accelerated, changes = iterate(True, meshes, 12)
    assert plain[-1] > 0.1  # 0.95^12: far from the fixed point
    assert accelerated[-1] < 1e-9
    # the solver's convergence test, the change against the combination, sees it too
    assert changes[-1] < 1e-9


def test_the_history_restarts_when_the_tolerance_changes():
    accelerate = _anderson.Anderson(iv=1)
    X = np.linspace(0.0, 1.0, 11)
    lag = cubic_sweep(X, np.zeros(4)).lag(1)
    for tol in (1e-5, 1e-5, 1e-6):
        sweep = cubic_sweep(X, A @ coefficients(lag) + B)
        new, previous = accelerate(lag, sweep, tol)
        lag = new
    assert previous is sweep  # two sweeps of one tolerance are needed to combine
    assert len(accelerate.sweeps) == 1


@pytest.mark.parametrize("name, kw", [
    ("adagrad", {"alpha": 0.5, "t_end": 20.0}),
    ("rmsprop", {"alpha": 0.1, "beta": 0.9, "t_end": 10.0}),
    ("adagrad", {"alpha": 0.5, "t_end": 20.0, "per_coordinate": True}),  # two memories
])
def test_acceleration_takes_fewer_sweeps_to_the_same_solution(monkeypatch, name, kw):
    f, theta0, tol = rosenbrock(), [-1.2, 1.0], 1e-6
    fast = getattr(continuous, name)(f, theta0, tol=tol, **kw)

    class Plain(_anderson.Anderson):
        def __call__(self, given, sweep, tol, combine=True):
            return super().__call__(given, sweep, tol, combine=False)

    monkeypatch.setattr(continuous, "Anderson", Plain)
    plain = getattr(continuous, name)(f, theta0, tol=tol, **kw)
    assert fast.success and plain.success
    assert fast.iterations < plain.iterations
    assert fast.nfev < plain.nfev
    t = np.linspace(0.0, kw["t_end"], 501)
    assert np.max(np.abs(fast.at(t).theta - plain.at(t).theta)) < 10 * tol


@pytest.mark.parametrize(("alpha", "steps"), [(0.1, 60), (0.01, 600)])  # the paper's horizons
def test_predicted_windows_take_fewer_sweeps_to_the_same_solution(monkeypatch, alpha, steps):
    """RMSProp with beta = 0 (a memory of about one window) on the paper's quadratic: the sweeps
    that correct the window by the memory's own change at t (eq. (eq-solve-predicted) of the
    solving chapter) reach the solution of the plain sweeps in fewer sweeps and gradients
    (measured: 12 against 16 sweeps at alpha = 0.1, 13 against 18 at 0.01)."""
    kw = {"alpha": alpha, "beta": 0.0, "t_end": steps * alpha, "tol": 1e-8}
    predicted = continuous.rmsprop(quadratic(), 1.0, **kw)
    monkeypatch.setattr(continuous, "WINDOW", _fast.LAGGED)
    plain = continuous.rmsprop(quadratic(), 1.0, **kw)
    assert predicted.success and plain.success
    assert predicted.iterations < plain.iterations
    assert predicted.nfev < 0.9 * plain.nfev
    t = np.sort(np.random.default_rng(1).uniform(0.0, kw["t_end"], 400))
    assert np.max(np.abs(predicted.at(t).theta - plain.at(t).theta)) < 10 * kw["tol"]


def test_predicted_sweeps_that_do_not_contract_give_way_to_plain_ones(monkeypatch):
    """Where two predicted sweeps of one tolerance change theta by no less than the sweeps
    before them (here made so: the first three changes are reported as 1e-3), the rest of the
    iteration, the finer solve included, takes plain sweeps, and the solve still converges."""
    modes, changes = [], []
    march, change = continuous._System.march, continuous._change

    def recording(system, mode, *args, **kwargs):
        modes.append(mode)
        return march(system, mode, *args, **kwargs)

    def stalled(seg, previous, t_end, n):
        changes.append(change(seg, previous, t_end, n))
        return 1e-3 if len(changes) <= 3 else changes[-1]

    monkeypatch.setattr(continuous._System, "march", recording)
    monkeypatch.setattr(continuous, "_change", stalled)
    run = continuous.rmsprop(quadratic(), 1.0, alpha=0.1, beta=0.0, t_end=6.0)
    assert run.success
    switch = modes.index(_fast.LAGGED)
    assert modes[0] == _fast.FROZEN and set(modes[1:switch]) == {_fast.PREDICTED}
    assert set(modes[switch:]) == {_fast.LAGGED}
