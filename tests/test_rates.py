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
])
def test_invalid_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
