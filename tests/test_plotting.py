"""Tests of the shared figure helpers in idebook.plotting (headless, Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from idebook import objectives, plotting  # noqa: E402


def test_contours_of_a_quadratic():
    f = objectives.quadratic(np.zeros(2), np.diag([1.0, 25.0]))
    fig, ax = plt.subplots()
    plotting.contours(ax, f, ((-2.0, 2.0), (-1.0, 1.0)), levels=5, points=41)
    sets = ax.collections
    assert len(sets) == 1
    levels = sets[0].levels
    assert len(levels) == 5
    # geometric levels from just above the smallest value on the grid (the minimum, 0, is a
    # grid point) to the largest, at the corners: f(+-2, +-1) = 4 + 25 = 29
    assert levels[0] == pytest.approx(1e-3) and levels[-1] == pytest.approx(29.0, rel=1e-9)
    np.testing.assert_allclose(np.diff(np.log(levels)), np.log(29.0 / 1e-3) / 4)
    (star,) = ax.lines
    assert star.get_marker() == "*"
    np.testing.assert_array_equal(star.get_xydata(), [[0.0, 0.0]])
    plt.close(fig)


def test_contours_of_a_slice_of_three_variables():
    f = objectives.quadratic(np.array([1.0, 2.0, 3.0]))
    fig, ax = plt.subplots()
    plotting.contours(ax, f, ((0.0, 2.0), (1.0, 3.0)), slice_at=5.0, levels=4, points=21)
    # in the plane theta_3 = 5 the smallest value is (5 - 3)^2 = 4, above f(theta*) = 0
    assert ax.collections[0].levels[0] == pytest.approx(4.0 + 1e-3)
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), [[1.0, 2.0]])
    plt.close(fig)


@pytest.mark.parametrize("box, kw", [(((1.0, 0.0), (0.0, 1.0)), {}),
                                     (((0.0, 1.0), (0.0, 1.0)), {"levels": 1}),
                                     (((0.0, 1.0), (0.0, 1.0)), {"points": 1})])
def test_contours_rejects_bad_input(box, kw):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="box|levels"):
        plotting.contours(ax, objectives.quadratic(np.zeros(2)), box, **kw)
    plt.close(fig)


def test_thin_keeps_every_point_of_a_short_curve():
    np.testing.assert_array_equal(plotting.thin(np.arange(10.0), most=10), np.arange(10))


def test_thin_keeps_the_extremes_of_every_run_of_a_long_curve():
    """An oscillation at the grid's own frequency (Adam's discrete iterates can alternate) with
    noise on top: the line through the kept points reaches every run's smallest and largest
    value, and the ends."""
    rng = np.random.default_rng(7)
    n, most = 200_003, 4000
    y = (-1.0) ** np.arange(n) * np.exp(-np.arange(n) / 5e4) + 0.1 * rng.standard_normal(n)
    y[1234] = np.nan
    keep = plotting.thin(y, most=most)
    assert keep.size <= most and keep[0] == 0 and keep[-1] == n - 1
    assert np.all(np.diff(keep) > 0)
    runs = most // 2 - 1
    length = -(-n // runs)
    for start in range(0, n, length):
        run = y[start:start + length]
        inside = keep[(keep >= start) & (keep < start + length)]
        assert np.nanmin(run) in y[inside] and np.nanmax(run) in y[inside]


@pytest.mark.parametrize("y, most", [(np.zeros((5, 2)), 4000), (np.zeros(5), 3)])
def test_thin_rejects_bad_input(y, most):
    with pytest.raises(ValueError, match="y must|most must"):
        plotting.thin(y, most=most)
