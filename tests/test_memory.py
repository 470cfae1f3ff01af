"""Tests of idebook.memory: the kernels of Propositions 1-3, Adam's bias factor, the kernel mass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from idebook import memory, objectives
from idebook.model import build


@pytest.mark.parametrize("alpha", [0.1, 0.01, 1.0])
def test_adagrad_kernel_is_constant(alpha):
    t = np.array([0.0, 0.5, 3.0, 100.0])
    K = memory.kernel(t, alpha)
    assert K.shape == t.shape
    assert np.all(K == 1.0 / alpha)
    assert memory.kernel(2.0, alpha) == pytest.approx(1.0 / alpha, rel=1e-15)


@pytest.mark.parametrize("alpha", [0.1, 0.01])
@pytest.mark.parametrize("beta", [0.0, 0.9, 0.99, 0.999])
def test_exponential_kernel_by_hand(alpha, beta):
    c = (1.0 - beta) / alpha
    t = np.array([0.0, alpha, 10 * alpha, 1.0])
    K = memory.kernel(t, alpha, beta)
    np.testing.assert_allclose(K, [c * math.exp(-c * s) for s in t], rtol=1e-15)
    assert K[0] == pytest.approx(c, rel=1e-15)  # K(0) = (1 - beta)/alpha
    # one step alpha later the kernel has decayed by exp(-(1 - beta))
    assert K[1] / K[0] == pytest.approx(math.exp(-(1.0 - beta)), rel=1e-14)


@pytest.mark.parametrize("alpha", [0.1, 0.01, 0.5])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("steps", [0.5, 1.0, 10.0, 250.0])
def test_kernel_integrates_to_kernel_mass(alpha, beta, steps):
    t = steps * alpha
    integral, err = integrate.quad(lambda s: float(memory.kernel(s, alpha, beta)), 0.0, t,
                                   epsabs=1e-14, epsrel=1e-12, limit=200)
    assert err < 1e-10
    assert memory.kernel_mass(t, alpha, beta) == pytest.approx(integral, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("alpha", [0.1, 0.01, 0.37])
def test_kernel_mass_after_one_step(alpha):
    # int_0^alpha K = 1 - exp(-(1 - beta)) for every alpha
    assert memory.kernel_mass(alpha, alpha, 0.9) == pytest.approx(1.0 - math.exp(-0.1), rel=1e-14)
    assert memory.kernel_mass(alpha, alpha, 0.0) == pytest.approx(1.0 - math.exp(-1.0), rel=1e-14)


def test_kernel_mass_limits_and_shape():
    t = np.array([0.0, 1.0, 1e6])
    mass = memory.kernel_mass(t, 0.1, 0.99)
    assert mass.shape == (3,)
    assert mass[0] == 0.0
    assert mass[-1] == 1.0  # all the weight gathered at long times
    assert np.all(np.diff(mass) > 0)
    # small t: mass ~ (1 - beta) t / alpha, computed without cancellation
    assert memory.kernel_mass(1e-12, 0.1, 0.9) == pytest.approx(1e-12, rel=1e-10)


@pytest.mark.parametrize("alpha", [0.1, 0.01, 0.37])
def test_bias_factor_after_one_step(alpha):
    # 1 - beta^(alpha/alpha) = 1 - beta
    assert memory.bias_factor(alpha, alpha, 0.9) == pytest.approx(0.1, rel=1e-14)
    assert memory.bias_factor(alpha, alpha, 0.999) == pytest.approx(0.001, rel=1e-12)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99, 0.999])
def test_bias_factor_matches_discrete_correction_at_integer_steps(beta):
    alpha = 0.1
    k = np.arange(0, 50)
    np.testing.assert_allclose(memory.bias_factor(alpha * k, alpha, beta), 1.0 - beta**k,
                               rtol=1e-12, atol=0.0)
    assert memory.bias_factor(0.0, alpha, beta) == 0.0


def test_bias_factor_beta_zero():
    # beta = 0: no bias correction for t > 0, the limit 0 at t = 0
    np.testing.assert_array_equal(memory.bias_factor(np.array([0.0, 1e-9, 0.1, 5.0]), 0.1, 0.0),
                                  [0.0, 1.0, 1.0, 1.0])


def test_bias_factor_between_steps():
    # t = alpha/2: 1 - sqrt(beta)
    assert memory.bias_factor(0.05, 0.1, 0.81) == pytest.approx(0.1, rel=1e-14)


def test_memory_ode_green_function():
    # M(t) = int_0^t K(t - s) q ds with q = 1 is M = kernel_mass(t), and solves M' = c - d M
    alpha, beta = 0.1, 0.9
    c = d = (1.0 - beta) / alpha
    t = np.linspace(0.0, 5.0, 11)
    M = memory.kernel_mass(t, alpha, beta)
    h = 1e-6
    dM = (memory.kernel_mass(t + h, alpha, beta) - memory.kernel_mass(t - h, alpha, beta)) / (2 * h)
    np.testing.assert_allclose(dM, c - d * M, rtol=1e-7)


def test_model_coefficients():
    f = objectives.quadratic()
    ada = build("adagrad", f, 1.0, alpha=0.1)
    rms = build("rmsprop", f, 1.0, alpha=0.1, beta=0.9)
    adam = build("adam", f, 1.0, alpha=0.01, beta1=0.9, beta2=0.999)
    assert ada.c2 == pytest.approx(10.0) and ada.d2 == 0.0 and ada.memory_name == "G"
    assert rms.c2 == pytest.approx(1.0) and rms.d2 == pytest.approx(1.0)
    assert rms.memory_name == "v"
    assert adam.c1 == pytest.approx(10.0) and adam.c2 == pytest.approx(0.1)
    assert adam.d2 == pytest.approx(0.1)
    assert (ada.has_m, rms.has_m, adam.has_m) == (False, False, True)
    assert (ada.shifted, rms.shifted, adam.shifted) == (True, True, False)
    # c2, d2 are the weight and decay of the kernel: K(t) = c2 exp(-d2 t)
    t = np.array([0.0, 0.3])
    np.testing.assert_allclose(memory.kernel(t, 0.1, 0.9), rms.c2 * np.exp(-rms.d2 * t),
                               rtol=1e-15)
    np.testing.assert_allclose(memory.kernel(t, 0.1), ada.c2 * np.exp(-ada.d2 * t), rtol=1e-15)
