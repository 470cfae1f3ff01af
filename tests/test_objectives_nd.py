"""Rosenbrock and logistic regression: gradients against finite differences, minimisers, input."""

from __future__ import annotations

import numpy as np
import pytest

from idebook import continuous, discrete
from idebook.analysis import gaps
from idebook.objectives import logistic, rosenbrock, two_blobs


def _fd_gradient(f, theta, h=1e-6):
    e = np.eye(theta.size)
    return np.array([(f(theta + h * e[i]) - f(theta - h * e[i])) / (2 * h)
                     for i in range(theta.size)])


@pytest.mark.parametrize("theta", [[-1.2, 1.0], [0.5, 0.3], [2.0, -1.0]])
def test_rosenbrock_gradient_and_minimum(theta):
    f = rosenbrock(1.0, 100.0)
    theta = np.array(theta)
    np.testing.assert_allclose(f.gradient(theta), _fd_gradient(f, theta), rtol=1e-7, atol=1e-6)
    np.testing.assert_array_equal(f.gradient(f.minimizer), [0.0, 0.0])
    assert f(f.minimizer) == 0.0


def test_logistic_gradient_matches_finite_differences_and_is_stable():
    X, y = two_blobs(100, seed=3)
    f = logistic(X, y, reg=0.05)
    for theta in (np.zeros(3), np.array([0.4, -1.0, 0.2]), np.array([40.0, 40.0, 0.0])):
        np.testing.assert_allclose(f.gradient(theta), _fd_gradient(f, theta), rtol=1e-6,
                                   atol=1e-8)
    assert np.all(np.isfinite(f.gradient(np.array([1e4, 1e4, 1e4]))))


def test_two_blobs_is_seeded():
    a, b = two_blobs(50, seed=7), two_blobs(50, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert set(np.unique(a[1])) == {-1.0, 1.0} and np.all(a[0][:, 2] == 1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="b must be > 0"):
        rosenbrock(1.0, -1.0)
    X, y = two_blobs(10)
    with pytest.raises(ValueError, match="labels"):
        logistic(X, (y + 1) / 2)
    with pytest.raises(ValueError, match="reg"):
        logistic(X, y, reg=-1.0)
    with pytest.raises(ValueError, match="shapes"):
        logistic(X, y[:-1])


def test_continuous_adam_tracks_discrete_on_rosenbrock_per_coordinate():
    f = rosenbrock()
    gap = []
    for alpha in (0.02, 0.01):
        d = discrete.adam(f, [-1.2, 1.0], alpha=alpha, steps=round(10 / alpha),
                          per_coordinate=True)
        c = continuous.adam(f, [-1.2, 1.0], alpha=alpha, t_end=d.t[-1], per_coordinate=True)
        assert c.success
        gap.append(gaps(d, c)["theta"][0])
    assert 1.5 < gap[0] / gap[1] < 2.5
