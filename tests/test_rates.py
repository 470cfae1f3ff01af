"""idebook.rates: rate fits on synthetic exponentials, and the bounds against known solutions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import idebook
from idebook import rates


def test_fit_rate_recovers_an_exponential_exactly():
    t = np.linspace(0.0, 10.0, 201)
    fit = rates.fit_rate(t, 3.0 * np.exp(-0.7 * t))
    assert abs(fit.rate - 0.7) < 1e-12
    assert abs(fit.intercept - math.log(3.0)) < 1e-12
    assert fit.r2 > 1 - 1e-12 and fit.n == 201


def test_fit_rate_on_a_window_and_on_vectors():
    t = np.linspace(0.0, 10.0, 1001)
    d = np.where(t < 5, np.exp(-t), np.exp(-5) * np.exp(-3 * (t - 5)))
    assert abs(rates.fit_rate(t, d, (0.0, 4.9)).rate - 1.0) < 1e-10
    assert abs(rates.fit_rate(t, d, (5.0, 10.0)).rate - 3.0) < 1e-10
    # a whole-run fit of a broken line is worse than either piece
    assert rates.fit_rate(t, d).r2 < 0.99
    vec = np.column_stack([0.6 * np.exp(-2 * t), 0.8 * np.exp(-2 * t)])  # norm exp(-2t)
    assert abs(rates.fit_rate(t, vec).rate - 2.0) < 1e-12


def test_fit_rate_r2_reflects_noise():
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 5.0, 501)
    noisy = np.exp(-t + 0.3 * rng.standard_normal(t.size))
    fit = rates.fit_rate(t, noisy)
    assert abs(fit.rate - 1.0) < 0.05
    assert 0.8 < fit.r2 < 0.99


def test_level_window_and_local_rate():
    t = np.linspace(0.0, 10.0, 1001)
    d = np.exp(-t**2 / 4)  # rate t/2: super-exponential
    lo, hi = rates.level_window(t, d, 1e-1, 1e-4)
    assert abs(np.exp(-lo**2 / 4) - 1e-1) < 1e-2 and d[np.searchsorted(t, hi)] <= 1e-4
    mid, r = rates.local_rate(t, d, 0.1)
    np.testing.assert_allclose(r, mid / 2, rtol=1e-9)


def test_envelope_and_fit_decay_of_a_damped_oscillation():
    t = np.linspace(0.0, 30.0, 30001)
    d = np.exp(-0.4 * t) * np.cos(3 * t)
    fit, used = rates.fit_decay(t, d, 1e-1, 1e-4)
    assert used and abs(fit.rate - 0.4) < 1e-3 and fit.r2 > 0.9999
    fit, used = rates.fit_decay(t, np.exp(-0.4 * t), 1e-1, 1e-4)
    assert not used and abs(fit.rate - 0.4) < 1e-12
    # a slow oscillation with a single peak in the stretch cannot be fitted either way
    slow = np.exp(-0.4 * t) * np.cos(0.3 * t)
    with pytest.raises(ValueError, match="oscillates"):
        rates.fit_decay(t, slow, 0.5, 0.05)


def test_adam_frozen_rate():
    assert rates.adam_frozen_rate(1.0, 1.0, 2.0) == 0.5  # underdamped: c1/2
    c1, s, k = 10.0, 2.0, 2.0  # overdamped: slow root of z^2 + c1 z + k c1/s
    z = rates.adam_frozen_rate(c1, s, k)
    assert abs(z * z - c1 * z + k * c1 / s) < 1e-12 and z < c1 / 2


def test_s_min():
    assert rates.s_min(0.0, 0.99) == 0.0
    assert abs(rates.s_min(0.9, 0.999) - math.sqrt(math.log(0.999) / math.log(0.9))) < 1e-15
    assert rates.s_min(0.5, 0.1) == 1.0


def test_bounds_hold_on_the_paper_problem():
    """The proven rates lie below the rates of computed continuous solutions."""
    f = idebook.objectives.quadratic()
    rp = idebook.continuous.rmsprop(f, 1.0, alpha=0.1, beta=0.9, t_end=3.0)
    d = np.abs(rp.theta[:, 0] - 4.0)
    bound = rates.rmsprop_bound(2.0, 2.0, 9.0)
    assert abs(bound - 1 / 3) < 1e-8
    assert np.all(d <= 3.0 * np.exp(-bound * rp.t) * (1 + 1e-9))
    ag = idebook.continuous.adagrad(f, 1.0, alpha=0.1, t_end=200.0)
    sharp = rates.adagrad_quadratic_bound(2.0, 2.0, 0.1, 6.0, 3.0)
    general = rates.adagrad_bound(2.0, 0.1, 9.0)
    assert general < sharp <= 2 / math.sqrt(ag.G[-1, 0])
    d = np.abs(ag.theta[:, 0] - 4.0)
    assert np.all(d <= 3.0 * np.exp(-sharp * ag.t) * (1 + 1e-9))


def test_pl_example():
    pl = rates.pl_example()
    assert pl(np.zeros(1)) == 0.0
    theta = np.array([1.3])
    assert abs(pl.gradient(theta)[0] - (2.6 + 3 * math.sin(2.6))) < 1e-14
    mu = rates.pl_constant(pl, -3.5, 3.5)
    assert 1 / 32 < mu < 0.5


@pytest.mark.parametrize(("call", "name"), [
    (lambda: rates.fit_rate([0, 1, 2], [1, 2]), "same length"),
    (lambda: rates.fit_rate([0, 1], [1, 2]), "fewer than 3"),
    (lambda: rates.fit_rate([0, 1, 2, 3], [1, 0, 1, 1]), "distance must be > 0"),
    (lambda: rates.fit_rate([0, 2, 1], [1, 1, 1]), "increasing"),
    (lambda: rates.fit_rate([0, 1, 2], [1, 1, 1], (2, 1)), "window"),
    (lambda: rates.level_window([0, 1, 2], [1, 0.5, 0.2], 0.1, 0.5), "upper > lower"),
    (lambda: rates.level_window([0, 1, 2], [1, 0.5, 0.2], 0.5, 0.1), "never falls"),
    (lambda: rates.local_rate([0, 1, 2], [1, 0.5, 0.2], -1.0), "width"),
    (lambda: rates.rmsprop_bound(-1.0, 2.0, 9.0), "mu"),
    (lambda: rates.adagrad_bound(1.0, 0.0, 9.0), "alpha"),
    (lambda: rates.s_min(1.0, 0.9), "beta1"),
    (lambda: rates.adam_memory_excess(0.1, 0.9, 1.0), "beta2"),
    (lambda: rates.adam_start(0.1, 0.9, 0.99, kappa=1.0), "kappa"),
    (lambda: rates.adam_lyapunov(0.1, 0.9, 0.99, 2.0, -1.0, 36.0), "mu"),
    (lambda: rates.fit_exponent([1, 2, 3], [1, 1, 1], (0.0, 3.0)), "window"),
    (lambda: rates.kl_memory_rate(0.1, 1.0), "beta"),
])
def test_invalid_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- Adam's Lyapunov bound ------------------------------------------------------------------

def test_adam_memory_excess_against_a_fine_grid():
    # the rigorous cell bound is >= Phi everywhere and within 1e-3 of its maximum on a fine grid
    for alpha, b1, b2 in ((0.1, 0.9, 0.999), (0.01, 0.9, 0.99), (0.1, 0.5, 0.9)):
        c1, c2 = (1 - b1) / alpha, (1 - b2) / alpha
        l1, l2 = -math.log(b1) / alpha, -math.log(b2) / alpha
        t = np.geomspace(1e-4 * alpha, 1e4 * alpha, 200_001)
        with np.errstate(over="ignore"):
            phi = c2 / 2 + l2 / np.expm1(l2 * t) / 2 - l1 / np.expm1(l1 * t)
        bound = rates.adam_memory_excess(alpha, b1, b2)
        assert phi.max() <= bound <= phi.max() + 1e-3 * abs(phi.max()) + 1e-12
        assert bound < 2 * c1  # hypothesis (M) holds for these betas
    # beta1 = 0: Phi decreases from +inf; the start time puts it at 2 c1 (1 - kappa) = c1
    t0 = rates.adam_start(0.1, 0.0, 0.99)
    assert 0 < t0 < 0.1
    assert abs(rates.adam_memory_excess(0.1, 0.0, 0.99, t0) - 1 / 0.1) < 1e-9
    assert rates.adam_memory_excess(0.1, 0.0, 0.99) == math.inf
    assert rates.adam_start(0.1, 0.9, 0.999) == 0.0


@pytest.mark.parametrize(("beta1", "beta2", "alpha"), [
    (0.9, 0.999, 0.1), (0.9, 0.999, 0.01), (0.0, 0.99, 0.1), (0.5, 0.9, 0.05)])
def test_adam_lyapunov_bound_holds_on_the_quadratic(beta1, beta2, alpha):
    f = idebook.objectives.quadratic()  # mu = L = 2, Delta = 9 from theta0 = 1
    run = idebook.continuous.adam(f, 1.0, alpha=alpha, beta1=beta1, beta2=beta2, t_end=40.0)
    assert run.success
    gap = (run.theta[:, 0] - 4.0) ** 2
    W = rates.adam_energy(run.t, gap, run.m, run.v, alpha, beta1, beta2)
    t0 = rates.adam_start(alpha, beta1, beta2)
    if t0 == 0.0:
        vmax, e0 = 2 * 2.0 * 9.0, 9.0
    else:  # the start-up quantities of the a-posteriori version, from the dense output
        early = run.at(np.linspace(0.0, t0, 101))
        s = run.at(np.array([t0]))
        w0 = rates.adam_energy(s.t, (s.theta[:, 0] - 4) ** 2, s.m, s.v, alpha, beta1, beta2)[0]
        vmax, e0 = max(np.max(4 * (early.theta[:, 0] - 4) ** 2), 4.0 * w0), 1.5 * w0
    ly = rates.adam_lyapunov(alpha, beta1, beta2, 2.0, 2.0, vmax, t0=t0)
    late = run.t >= t0
    assert np.all(np.diff(W[late]) <= 1e-9 * W[0])  # W is non-increasing
    assert np.all(gap[late] <= 2 * e0 * np.exp(-ly.rate * (run.t[late] - t0)) + 1e-12)
    assert 0 < ly.rate < 2.0  # a real, and conservative, rate (measured F-rates are 1-8)


def test_adam_energy_increases_where_the_memory_condition_fails():
    # 1 - beta2 = 0.5 > 4 (1 - beta1) = 0.04: hypothesis (M) fails and W does grow
    f = idebook.objectives.quadratic()
    with pytest.raises(ValueError, match="memory condition"):
        rates.adam_lyapunov(0.1, 0.99, 0.5, 2.0, 2.0, 36.0)
    run = idebook.continuous.adam(f, 1.0, alpha=0.1, beta1=0.99, beta2=0.5, t_end=20.0)
    W = rates.adam_energy(run.t, (run.theta[:, 0] - 4) ** 2, run.m, run.v, 0.1, 0.99, 0.5)
    assert W.max() > 1.1 * W[0]


# --- the KL example ---------------------------------------------------------------------------

def test_kl_example_and_its_tails():
    kl = rates.kl_example()
    assert kl(np.array([4.0])) == 0.0 and kl(np.array([6.0])) == 16.0
    assert kl.gradient(np.array([3.0]))[0] == -4.0
    # not PL: g^2 / (2 f) = 8 x^2 -> 0 (the grid stops at f = 1e-12, x = 1e-3)
    assert rates.pl_constant(kl, 3.0, 5.0) < 1e-5
    t = np.linspace(10.0, 1e4, 1000)
    fit = rates.fit_exponent(t, rates.kl_tail(t, 1e-8), (100.0, 1e4))
    assert abs(fit.rate - 0.5) < 1e-12 and fit.r2 > 1 - 1e-12
    assert abs(rates.kl_memory_rate(0.1, 0.9) - 0.25) < 1e-15
    assert abs(rates.kl_memory_rate(0.1, 0.9, discrete=True) - math.log(1 / 0.9) / 0.4) < 1e-12


def test_kl_rmsprop_reaches_the_eps_tail():
    # the model and the algorithm both end on 1/x^2 = 8 t / eps (the eps-dominated phase)
    kl = rates.kl_example()
    c = idebook.continuous.rmsprop(kl, 1.0, alpha=0.1, beta=0.9, t_end=1000.0, substeps=2)
    d = idebook.discrete.rmsprop(kl, 1.0, alpha=0.1, beta=0.9, steps=10_000)
    for run in (c, d):
        x = np.abs(run.theta[:, 0] - 4.0)
        assert 1.0 < x[-1] / rates.kl_tail(1000.0, 1e-8) < 1.05
        assert abs(rates.fit_exponent(run.t, x, (500.0, 1000.0)).rate - 0.5) < 0.05
