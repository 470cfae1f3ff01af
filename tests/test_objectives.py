"""Tests of idebook.objectives: the quadratic, the Appendix B regression and user objectives."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from idebook import objectives
from idebook.objectives import Objective


# ---------------------------------------------------------------------------------------------
# quadratic
# ---------------------------------------------------------------------------------------------
def test_default_quadratic_is_the_papers_f():
    f = objectives.quadratic()
    assert f.dim == 1
    assert f.jitted
    np.testing.assert_array_equal(f.minimizer, [4.0])
    # f = (theta - 4)^2, g = 2 (theta - 4), by hand
    assert f(np.array([1.0])) == 9.0
    assert f(np.array([4.0])) == 0.0
    assert f(np.array([6.5])) == 6.25
    np.testing.assert_array_equal(f.gradient(np.array([1.0])), [-6.0])
    np.testing.assert_array_equal(f.gradient(np.array([4.0])), [0.0])
    np.testing.assert_array_equal(f.gradient(np.array([6.5])), [5.0])


def test_quadratic_nd_value_and_gradient_by_hand():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    f = objectives.quadratic([1.0, -2.0], curvature=A)
    assert f.dim == 2
    theta = np.array([2.0, 0.0])  # d = theta - c = (1, 2)
    # d^T A d = 2*1 + 2*1*2*1 + 3*4 = 18 ; g = 2 A d = 2 (2 + 2, 1 + 6) = (8, 14)
    assert f(theta) == 18.0
    np.testing.assert_array_equal(f.gradient(theta), [8.0, 14.0])
    np.testing.assert_array_equal(f.gradient(np.array([1.0, -2.0])), [0.0, 0.0])


def test_quadratic_identity_in_nd():
    f = objectives.quadratic(np.array([4.0, 4.0, -1.0]))
    theta = np.array([1.0, 5.0, 0.0])
    assert f(theta) == 9.0 + 1.0 + 1.0
    np.testing.assert_array_equal(f.gradient(theta), [-6.0, 2.0, 2.0])


@pytest.mark.parametrize(
    "curvature",
    [np.eye(3), np.ones((2, 3)), np.ones(2), np.array([[1.0]])],
    ids=["3x3-for-2d", "2x3", "vector", "1x1-for-2d"],
)
def test_quadratic_bad_curvature_shape(curvature):
    with pytest.raises(ValueError, match=r"curvature must have shape \(2, 2\)"):
        objectives.quadratic([4.0, 4.0], curvature=curvature)


@pytest.mark.parametrize(
    "curvature",
    [np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[1.0, np.nan], [np.nan, 1.0]]),
     np.array([[np.inf, 0.0], [0.0, 1.0]])],
    ids=["non-symmetric", "nan", "inf"],
)
def test_quadratic_curvature_not_finite_symmetric(curvature):
    with pytest.raises(ValueError, match="curvature must be a finite symmetric matrix"):
        objectives.quadratic([4.0, 4.0], curvature=curvature)


@pytest.mark.parametrize("center", [np.nan, [1.0, np.inf], np.ones((2, 2))])
def test_quadratic_bad_center(center):
    with pytest.raises(ValueError, match="center"):
        objectives.quadratic(center)


# ---------------------------------------------------------------------------------------------
# Appendix B data and mse_line
# ---------------------------------------------------------------------------------------------
def test_paper_regression_data_reproducible_and_pinned():
    x1, y1 = objectives.paper_regression_data()
    x2, y2 = objectives.paper_regression_data()
    assert x1.shape == y1.shape == (1000,)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    # the first draws of np.random.RandomState(42).rand (legacy Mersenne Twister), pinned
    np.testing.assert_array_equal(
        x1[:3], [0.3745401188473625, 0.9507143064099162, 0.7319939418114051])
    np.testing.assert_array_equal(x1, np.random.RandomState(42).rand(1000))
    # y = 2x + N(0, 0.1^2) noise drawn after the 1000 uniforms
    np.testing.assert_array_equal(
        y1[:3], [0.7668503377880503, 1.7678941769488221, 1.5020076687234065])
    noise = y1 - 2.0 * x1
    assert abs(noise.mean()) < 0.01
    assert 0.09 < noise.std() < 0.11


def test_paper_regression_data_seed_and_size():
    x, y = objectives.paper_regression_data(n_samples=10, seed=42)
    np.testing.assert_array_equal(x, np.random.RandomState(42).rand(10))
    x7, _ = objectives.paper_regression_data(n_samples=10, seed=7)
    assert not np.array_equal(x, x7)
    assert y.shape == (10,)


def test_mse_line_value_by_hand():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([2.0, 4.0, 7.0])
    F = objectives.mse_line(x, y)
    assert F.dim == 1
    # theta = 2: residuals (0, 0, 1) -> mean 1/3 ; theta = 0: (4 + 16 + 49)/3 = 23
    assert F(np.array([2.0])) == pytest.approx(1.0 / 3.0, rel=1e-15)
    assert F(np.array([0.0])) == pytest.approx(23.0, rel=1e-15)
    # least squares: theta* = sum(xy)/sum(x^2) = (2 + 8 + 21)/14
    assert F.minimizer[0] == pytest.approx(31.0 / 14.0, rel=1e-14)
    np.testing.assert_allclose(F.gradient(F.minimizer), [0.0], atol=1e-13)


@pytest.mark.parametrize("theta", [-3.0, 0.0, 1.0, 2.0, 2.5, 10.0])
def test_mse_line_gradient_matches_finite_differences(theta):
    x, y = objectives.paper_regression_data()
    F = objectives.mse_line(x, y)
    h = 1e-5
    fd = (F(np.array([theta + h])) - F(np.array([theta - h]))) / (2 * h)
    g = F.gradient(np.array([theta]))
    assert g.shape == (1,)
    # the loss is quadratic, so the central difference is exact up to rounding
    assert g[0] == pytest.approx(fd, rel=1e-7, abs=1e-8)
    # and the closed form -2 mean(x (y - theta x))
    assert g[0] == pytest.approx(-2.0 * np.mean(x * (y - theta * x)), rel=1e-12, abs=1e-14)


def test_mse_line_multicolumn_gradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.randn(50)
    F = objectives.mse_line(X, y)
    assert F.dim == 3
    theta = np.array([0.3, 0.1, -0.7])
    h = 1e-6
    fd = np.array([(F(theta + h * e) - F(theta - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(F.gradient(theta), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(F.minimizer, [1.0, -2.0, 0.5], atol=0.05)


def test_mse_line_minimizer_close_to_two_on_paper_data():
    x, y = objectives.paper_regression_data()
    F = objectives.mse_line(x, y)
    assert F.minimizer.shape == (1,)
    assert abs(F.minimizer[0] - 2.0) < 0.02
    assert F.minimizer[0] == pytest.approx(np.sum(x * y) / np.sum(x * x), rel=1e-12)
    assert F.minimizer[0] == pytest.approx(2.0108373421046513, rel=1e-12)
    # it is a minimum: the loss is larger on both sides
    m = F.minimizer[0]
    assert F(np.array([m])) < F(np.array([m - 0.01]))
    assert F(np.array([m])) < F(np.array([m + 0.01]))


@pytest.mark.parametrize(
    "x, y",
    [(np.ones(10), np.ones(9)), (np.ones(5), np.ones((5, 1))), (np.ones(0), np.ones(0)),
     (np.ones((4, 2)), np.ones(3))],
    ids=["10-vs-9", "y-2d", "empty", "X-rows-vs-y"],
)
def test_mse_line_mismatched_xy(x, y):
    with pytest.raises(ValueError, match="x and y"):
        objectives.mse_line(x, y)


def test_mse_line_non_finite_data():
    with pytest.raises(ValueError, match="x and y must be finite"):
        objectives.mse_line(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------
# user objectives
# ---------------------------------------------------------------------------------------------
def test_from_functions_plain_python_gradient_accepts_scalars_and_lists():
    F = objectives.from_functions(lambda th: float((th[0] - 4.0) ** 2),
                                  lambda th: 2.0 * (th[0] - 4.0))
    assert not F.jitted
    g = F.gradient(np.array([1.0]))
    assert g.shape == (1,) and g.dtype == np.float64
    assert g[0] == -6.0
    G = objectives.from_functions(lambda th: 0.0, lambda th: [1, 2], dim=2)
    np.testing.assert_array_equal(G.gradient(np.zeros(2)), [1.0, 2.0])


def test_from_functions_params_are_passed():
    F = objectives.from_functions(lambda th: 0.0, lambda th, p: p[0] * th + p[1],
                                  params=[3.0, 1.0])
    np.testing.assert_array_equal(F.gradient(np.array([2.0])), [7.0])
    np.testing.assert_array_equal(F.params, [3.0, 1.0])
    assert F.params.dtype == np.float64


def test_from_functions_without_params_has_empty_params():
    F = objectives.from_functions(lambda th: 0.0, lambda th: th)
    assert F.params.shape == (0,)


def test_from_functions_keeps_a_jitted_gradient():
    @numba.njit
    def grad(theta):
        return 2.0 * (theta - 4.0)

    F = objectives.from_functions(lambda th: 0.0, grad)
    assert F.jitted
    np.testing.assert_array_equal(F.gradient(np.array([1.0])), [-6.0])


def test_from_functions_keeps_a_jitted_gradient_with_params():
    @numba.njit
    def grad(theta, p):
        return p[0] * (theta - p[1])

    F = objectives.from_functions(lambda th: 0.0, grad, params=np.array([2.0, 4.0]))
    assert F.jitted
    np.testing.assert_array_equal(F.gradient(np.array([1.0, 5.0])), [-6.0, 2.0])


def test_from_functions_rejects_non_callables():
    with pytest.raises(ValueError, match="callable"):
        objectives.from_functions(1.0, lambda th: th)
    with pytest.raises(ValueError, match="callable"):
        objectives.from_functions(lambda th: 0.0, "grad")


def test_as_objective():
    f = objectives.quadratic()
    assert objectives.as_objective(f) is f
    pair = objectives.as_objective((lambda th: 0.0, lambda th: -th))
    assert isinstance(pair, Objective)
    np.testing.assert_array_equal(pair.gradient(np.array([2.0])), [-2.0])
    for bad in (None, lambda th: th, [lambda th: 0.0, lambda th: th], (lambda th: 0.0,)):
        with pytest.raises(ValueError, match="objective must be an Objective or a"):
            objectives.as_objective(bad)
