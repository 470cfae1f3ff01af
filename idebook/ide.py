r"""High-order solver for integro-differential equations of the Gelmi–Jorquera form.

:func:`solve_ide` solves

.. math::

    y'(x) = c(x, y(x)) + d(x) \int_{a(x)}^{b(x)} k(x, s)\, F(y(s))\, ds,
    \qquad x \in [x_0, x_N], \quad y(x_0) = y_0,

for real or complex, scalar or vector :math:`y`. It takes the arguments of the ``idesolver``
package (Karpel) under the same names and in the same order, but it is a function returning an
:class:`IDEResult` where idesolver is a class, so switching changes the call and the names of
the results; see "From idesolver" below.

Algorithm (Gelmi & Jorquera 2014, "IDSOLVER", Comput. Phys. Commun. 185:392)
----------------------------------------------------------------------------
Fixed-point (successive relaxation) iteration on the trajectory:

1. :math:`y^{(0)}` solves the ODE with the integral dropped, :math:`y' = c(x, y)`.
2. Given :math:`y^{(k)}`, the integral :math:`I^{(k)}(x) = \int_{a(x)}^{b(x)} k(x,s)
   F(y^{(k)}(s))\,ds` is a known function, and :math:`T(y^{(k)})` solves the ODE
   :math:`y' = c(x, y) + d(x) I^{(k)}(x)`, :math:`y(x_0) = y_0` (``c`` stays implicit in ``y``).
3. The error is :math:`e_k = \max_i |T(y^{(k)})(x_i) - y^{(k)}(x_i)|`, the sup-norm of the
   fixed-point residual over the collocation nodes :math:`x_i` (max over components; absolute).
   If :math:`e_k \le` ``global_error_tolerance`` the solution is :math:`T(y^{(k)})`; otherwise
   :math:`y^{(k+1)} = \alpha\, y^{(k)} + (1 - \alpha)\, T(y^{(k)})` with
   :math:`\alpha` = ``smoothing_factor`` (the weight of the *previous* iterate, as in idesolver;
   :math:`\alpha = 0` is plain Picard iteration).

Windows. The iteration runs on *windows*: the shortest runs of panels (see below) whose
integrals need no :math:`y` beyond their right end, one after the other, each started from the
converged past and iterated until its own error is below the tolerance. For Fredholm-type bounds
there is one window, and this is exactly the iteration above. For Volterra-type bounds
(:math:`a(x), b(x) \le x`) every panel is a window, so the iteration never has to push
transients of size :math:`\sim e^{L\,|d k F'|}` through the whole interval of length :math:`L`;
a one-panel window whose iteration diverges is halved and the solve restarted (at most 8
times). The
reported ``global_error`` is the largest final window error.

Discretisation (what makes it fast)
-----------------------------------
``[x_0, x_N]`` is split into panels, each carrying :math:`p` = ``nodes_per_panel``
Legendre–Gauss–Lobatto nodes; :math:`y` is the piecewise polynomial of degree :math:`p-1`
through its node values.

* ODE step: Lobatto IIIA collocation on each panel (the :math:`p`-stage implicit Runge–Kutta
  method whose stages are the nodes; stage order :math:`p`, order :math:`2p-2` at panel ends,
  A-stable), marched panel by panel and solved by simplified Newton with a forward-difference
  Jacobian of ``c`` (one step for linear ``c``, however stiff).
* Integral: Nyström product integration. For each node :math:`x_i` the interval
  :math:`[a(x_i), b(x_i)]` is cut at panel edges and each piece gets a :math:`p`-point
  Gauss–Legendre rule applied to :math:`k(x_i, s)` times the panel interpolant of
  :math:`F(y)`. This is a fixed matrix :math:`W`, built once per mesh, so every iteration
  evaluates the integral at all nodes as one product :math:`W F(y)`.

For smooth data the error at the nodes is :math:`O(h^{p})` in the panel width :math:`h`
(measured: order :math:`p` for a Fredholm and :math:`p+1` for a Volterra test problem), i.e.
order 16 with the default :math:`p = 16`, spectral in :math:`p`. The mesh adapts: after the
iteration converges on a mesh, panels whose two highest Legendre coefficients of :math:`y`
exceed ``resolution_tolerance``:math:`\cdot\max(1, \|y\|_\infty)` are halved and the iteration
restarts from the interpolated solution, until every panel is resolved. The result is returned
at the requested ``x`` by barycentric interpolation of the panel polynomials, and
:meth:`IDEResult.sol` evaluates it anywhere in ``[x[0], x[-1]]``. Cost per iteration, with
:math:`N` nodes: :math:`O(N^2 n)` for the integrals in a Fredholm window (:math:`O(p^2 n)` per
iteration of a Volterra one-panel window, plus :math:`O(p N n)` once per window) and
:math:`O(N p^2 n^3)` for the collocation solves (one LU of size :math:`(p-1) n` per panel).

Numba
-----
The iteration is written once (``_make_kernel``). If ``c``, ``k`` and ``f`` are all numba
dispatchers (``@numba.njit``) it runs compiled, calling them pointwise (``c(x: float, y)``
with ``y`` a float/complex scalar or a 1-D array, returning the same shape; ``k(x, s)`` and
``f(y)`` likewise). Otherwise the same code runs as plain Python/NumPy and the user functions are
called on whole arrays of points (``x`` of shape ``(P,)``, ``y`` of shape ``(P,)`` or ``(n, P)``,
the ``vectorized`` layout of :func:`scipy.integrate.solve_ivp`) when a check against pointwise
calls shows that this gives the same values, and pointwise otherwise. ``d`` and the bounds are
only evaluated while building a mesh and may be any callables. The array helpers that do not call
user functions are always numba-compiled and cached on disk; the compiled kernel is specialised
on the user functions, so each new set of jitted ``c, k, f`` costs a few seconds of compilation
on its first call.

Failures
--------
How a solve ends is its ``status``, a code of :data:`idebook.results.STATUS`:

* ``0``: the iteration converged in every window and every panel is resolved.
* ``-1``: a window reached ``max_iterations`` with its error still above
  ``global_error_tolerance``.
* ``-2``: the iteration diverged: a window's error grew to more than ``1e6`` times its best
  value, or ended above its best value at ``max_iterations`` (after halving a one-panel window
  up to 8 times).
* ``-3``: the mesh could not be resolved within ``max_panels``.
* ``-4``: a collocation step's simplified Newton iteration did not converge (the time stepper
  failed).

A negative status comes with ``success=False``, a message and one
:class:`~idebook.results.ConvergenceWarning`; nothing is raised. The returned ``y`` then
holds the converged
past, the failing window's last iterate and nan after it (``-4``: nan from the failing panel
on; ``-3``: the converged solution on the last mesh). A NaN or inf in ``dy/dx``, ``y``,
``F(y)`` or the integral term raises :class:`~idebook.results.DivergenceError` with ``t`` the
first node ``x`` where it appeared (``k`` is None). Invalid arguments raise
:class:`ValueError` naming the parameter and the allowed range.

From idesolver
--------------
idesolver solves in two steps, ``solver = IDESolver(x, y_0, c, d, k, f, lower_bound,
upper_bound, **options)`` then ``y = solver.solve()``, and keeps its results on ``solver``.
Here one call takes the same eight arguments in the same order, ``res = solve_ide(x, y_0, c, d,
k, f, lower_bound, upper_bound, **options)``, and returns them in ``res``. idesolver's three
results keep their names on ``res``; their values follow this package's conventions:

* ``solver.y`` -> ``res.y``. For a vector problem idesolver's ``y`` has shape
  ``(n, len(x))`` and ``res.y`` has shape ``(len(x), n)``: ``solver.y`` is ``res.y.T``.
* ``solver.global_error`` -> ``res.global_error`` (also ``res.residual``, the name of the
  package's other results), a different norm: here the sup-norm above, in idesolver the
  2-norm over its points ``x`` (which grows with ``len(x)``).
* ``solver.iteration`` -> ``res.iteration`` (the same number as ``res.iterations``), counted
  differently: idesolver counts from 0 after its first solve with the integral term, here
  every such solve counts (so it is idesolver's count + 1 for one window on one mesh), and
  it is the most of any window, summed over meshes.
* ``res.success``, ``res.status``, ``res.message``, ``res.nfev`` (evaluations of ``c``),
  ``res.sol``, ``res.x_nodes``, ``res.y_nodes`` and ``res.panel_edges`` have no counterpart.
* Options with the same name and meaning: ``global_error_tolerance`` (default ``1e-10`` here,
  ``1e-6`` in idesolver), ``max_iterations`` (default 200 here; idesolver's ``None``, no limit,
  is not accepted) and ``smoothing_factor`` (here in ``[0, 1)``, in idesolver ``(0, 1)``).
* ``c, d, k, f`` and the bounds are required here; idesolver's defaults for ``None`` are
  ``c = 0``, ``d = 1``, ``k = 1``, ``F = 0``, ``lower_bound = x[0]``, ``upper_bound = x[-1]``.
  ``c`` is called as ``c(x, y)`` by both.
* idesolver's options of its discretisation (``ode_method``, ``ode_atol``, ``ode_rtol``,
  ``int_atol``, ``int_rtol``, ``interpolation_kind``) have no counterpart; the accuracy here is
  set by ``global_error_tolerance``, ``resolution_tolerance``, ``nodes_per_panel`` and
  ``n_panels``. ``store_intermediate_y``, ``global_error_function`` and ``solve(callback)``
  have no counterpart either.
* Failures: idesolver warns ``IDEConvergenceWarning`` and returns; here
  :class:`~idebook.results.ConvergenceWarning` is emitted and ``res.success`` is False with
  ``res.status < 0``,
  and a NaN or inf raises :class:`~idebook.results.DivergenceError` (see Failures).
  Invalid arguments raise :class:`ValueError`, where idesolver raises ``InvalidParameter``.
  A complex problem is detected from ``y_0`` *or* complex values of ``c``, ``d``, ``k``, ``f`` at
  the initial point; idesolver needs a complex ``y_0`` and raises
  ``UnexpectedlyComplexValuedIDE`` otherwise.
"""

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba.extending import is_jitted
from numpy.polynomial import legendre

from . import _validation as check
from ._linalg import lu_factor, lu_solve
from .results import ConvergenceWarning, DivergenceError

__all__ = ["IDEResult", "PanelSolution", "solve_ide"]

_CONVERGED, _MAX_ITERATIONS, _DIVERGED, _NONFINITE_Y, _NONFINITE_INTEGRAL, _NEWTON_FAILED = range(6)
#: The kernel's verdicts that return a result, as codes of idebook.results.STATUS (the
#: non-finite ones raise DivergenceError instead); -3, a mesh not resolved, is decided outside.
_STATUS = {_CONVERGED: 0, _MAX_ITERATIONS: -1, _DIVERGED: -2, _NEWTON_FAILED: -4}
_MESH_UNRESOLVED = -3
_PROBE_EVALUATIONS = 1  # _solution_dtype evaluates c once, at (x[0], y_0)
_NEWTON_MAX_ITERATIONS = 30
_DIVERGENCE_FACTOR = 1e6
_MAX_WINDOW_HALVINGS = 8


@dataclass(frozen=True, kw_only=True, eq=False)
class IDEResult:
    """Solution of y' = c(x, y) + d(x) ∫_{a(x)}^{b(x)} k(x, s) F(y(s)) ds, y(x[0]) = y_0.

    What :func:`solve_ide` returns, under the result contract of the package
    (:mod:`idebook.results`): built by keyword only with every field required, compared by
    identity, picklable (dense output included).

    Attributes
    ----------
    x : numpy.ndarray
        The requested points.
    y : numpy.ndarray
        The solution at ``x``: shape ``(len(x),)`` for scalar ``y_0``, ``(len(x), n)`` for
        ``y_0`` of length n. On failure, see the module's Failures section.
    success : bool
        True exactly when ``status`` is 0: the iteration converged and the mesh is resolved.
    status : int
        How the solve ended, a code of :data:`idebook.results.STATUS`: 0 success, -1
        ``max_iterations`` reached, -2 iteration diverging, -3 mesh not resolved within
        ``max_panels``, -4 a collocation (Newton) step failed.
    message : str
        How the solve ended, in words.
    nfev : int
        Evaluations of ``c``: the number of points ``(x, y)`` at which ``c`` was called, a
        call on an array of P points counting P. They are the check of the arguments (1
        point), for plain Python functions the choice between array and pointwise calls
        (``2 * nodes_per_panel`` points), and in every collocation step of every mesh the
        forward-difference Jacobian (n + 1 points per panel) and each Newton evaluation
        (``nodes_per_panel`` points). Evaluations of ``d``, ``k``, ``f`` and the bounds are
        not counted.
    iterations : int
        Fixed-point iterations (solves of the ODE with the integral term) of the window that
        needed most, summed over the meshes tried. ``iteration`` is the same number under
        idesolver's name (the module's "From idesolver" says how the counts differ).
    global_error : float
        The final sup-norm fixed-point residual ``max_i |T(y)(x_i) - y(x_i)|`` over the
        collocation nodes (the largest over the windows; ``inf`` if no iteration completed),
        under idesolver's name; ``residual`` is the same number under the name the package's
        other results use.
    x_nodes, y_nodes : numpy.ndarray
        The collocation nodes and the solution there.
    panel_edges : numpy.ndarray
        The final mesh.

    References
    ----------
    Those of :func:`solve_ide` (Gelmi & Jorquera 2014; Karpel 2018, idesolver).
    """

    x: np.ndarray
    y: np.ndarray
    success: bool
    status: int
    message: str
    nfev: int
    iterations: int
    global_error: float
    x_nodes: np.ndarray
    y_nodes: np.ndarray
    panel_edges: np.ndarray

    @property
    def residual(self) -> float:
        """``global_error``, under the name the package's other results use."""
        return self.global_error

    @property
    def iteration(self) -> int:
        """``iterations``, under idesolver's name (counted differently: see "From idesolver")."""
        return self.iterations

    @property
    def sol(self) -> "PanelSolution":
        """The dense output. ``sol(x)`` evaluates the panel polynomials anywhere in
        ``[x[0], x[-1]]`` (a :class:`PanelSolution` built from ``panel_edges``, ``x_nodes`` and
        ``y_nodes``)."""
        return PanelSolution(panel_edges=self.panel_edges, x_nodes=self.x_nodes,
                             y_nodes=self.y_nodes)


@dataclass(frozen=True, kw_only=True, eq=False)
class PanelSolution:
    """The piecewise polynomial of :func:`solve_ide` (panel Lobatto interpolants); picklable."""

    panel_edges: np.ndarray
    x_nodes: np.ndarray
    y_nodes: np.ndarray

    def __call__(self, x: float | np.ndarray) -> np.ndarray:
        """The solution at points ``x`` in ``[x[0], x[-1]]``, shaped like ``x`` (times n).

        Raises
        ------
        ValueError
            A point that is not finite or lies outside the interval.
        """
        xq = np.asarray(x, dtype=float)
        a, b = self.panel_edges[0], self.panel_edges[-1]
        if not np.all((xq >= a) & (xq <= b)):
            raise ValueError(f"x must lie in [{a:g}, {b:g}], got values outside")
        panels = self.panel_edges.size - 1
        ref = _reference((self.x_nodes.size - 1) // panels + 1)
        y_nodes = self.y_nodes.reshape(self.x_nodes.size, -1)
        values = _interpolate(self.panel_edges, y_nodes, ref, xq.ravel())
        shape = xq.shape if self.y_nodes.ndim == 1 else (*xq.shape, y_nodes.shape[1])
        return values.reshape(shape)


@dataclass(frozen=True)
class _Reference:
    """Reference panel [-1, 1] with p Lobatto nodes and everything built from them."""

    t: np.ndarray  # Legendre–Gauss–Lobatto nodes
    bary: np.ndarray  # barycentric weights of t
    a_rows: np.ndarray  # (p-1, p): A[j, m] = ∫_{-1}^{t_j} ℓ_m, rows j = 1..p-1
    a_block: np.ndarray  # (p-1, p-1): a_rows[:, 1:], the Newton block
    gauss_t: np.ndarray
    gauss_w: np.ndarray
    gauss_basis: np.ndarray  # (p, p): Lagrange basis of t at the Gauss points gauss_t
    to_legendre: np.ndarray  # node values -> Legendre coefficients


@functools.cache
def _reference(p: int) -> _Reference:
    inner = legendre.Legendre.basis(p - 1).deriv().roots()
    t = np.concatenate(([-1.0], np.sort(inner.real), [1.0]))
    bary = 1.0 / np.prod(t[:, None] - t[None, :] + np.eye(p), axis=1)
    to_legendre = np.linalg.inv(legendre.legvander(t, p - 1))
    integrals = legendre.legval(t, legendre.legint(np.eye(p), lbnd=-1)).T  # ∫_{-1}^{t_j} P_k
    a = integrals @ to_legendre
    gauss_t, gauss_w = legendre.leggauss(p)
    return _Reference(t, bary, a[1:].copy(), a[1:, 1:].copy(), gauss_t, gauss_w,
                      _lagrange_basis(t, bary, gauss_t), to_legendre)


def _lagrange_basis(nodes: np.ndarray, bary: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Lagrange basis ℓ_j(t) of ``nodes`` (barycentric weights ``bary``) at points ``t``.

    Shape ``(*t.shape, nodes.size)``.
    """
    diff = t[..., None] - nodes
    exact = diff == 0
    diff[exact] = 1.0
    basis = bary / diff
    basis /= basis.sum(axis=-1, keepdims=True)
    hit = exact.any(axis=-1)
    basis[hit] = exact[hit]
    return basis


def _panel_indices(panels: int, p: int) -> np.ndarray:
    return np.arange(panels)[:, None] * (p - 1) + np.arange(p)


def _interpolate(edges: np.ndarray, y_nodes: np.ndarray, ref: _Reference, xq: np.ndarray):
    """Piecewise-polynomial interpolant of node values ``y_nodes`` (N, n) at points ``xq``."""
    panels = edges.size - 1
    m = np.clip(np.searchsorted(edges, xq, side="right") - 1, 0, panels - 1)
    t = (2.0 * xq - edges[m] - edges[m + 1]) / (edges[m + 1] - edges[m])
    basis = _lagrange_basis(ref.t, ref.bary, t)
    values = y_nodes[_panel_indices(panels, ref.t.size)[m]]
    return np.einsum("qj,qjn->qn", basis, values)


def _mesh_nodes(edges: np.ndarray, ref: _Reference) -> np.ndarray:
    left, right = edges[:-1, None], edges[1:, None]
    points = 0.5 * (left + right) + 0.5 * (right - left) * ref.t
    points[:, 0], points[:, -1] = edges[:-1], edges[1:]
    return np.append(points[:, :-1].ravel(), edges[-1])


# Evaluators: fill out[j] with c(xs[j], Y[j]) (or f(Y[j]), k(xs[j], Y[j, 0])). Signature
# (g, xs, Y, out) with Y, out of shape (P, n). The pointwise ones are also compiled by numba.
def _c_pointwise_scalar(g, xs, y, out):
    for j in range(xs.size):
        out[j, :] = g(xs[j], y[j, 0])


def _c_pointwise_vector(g, xs, y, out):
    for j in range(xs.size):
        out[j, :] = g(xs[j], y[j])


def _f_pointwise_scalar(g, xs, y, out):
    for j in range(xs.size):
        out[j, :] = g(y[j, 0])


def _f_pointwise_vector(g, xs, y, out):
    for j in range(xs.size):
        out[j, :] = g(y[j])


def _c_vectorised_scalar(g, xs, y, out):
    np.copyto(out[:, 0], g(xs, y[:, 0]), casting="same_kind")


def _c_vectorised_vector(g, xs, y, out):
    np.copyto(out.T, np.asarray(g(xs, y.T)), casting="same_kind")


def _f_vectorised_scalar(g, xs, y, out):
    np.copyto(out[:, 0], g(y[:, 0]), casting="same_kind")


def _f_vectorised_vector(g, xs, y, out):
    np.copyto(out.T, np.asarray(g(y.T)), casting="same_kind")


_JITTED = {fn: numba.njit(fn) for fn in (_c_pointwise_scalar, _c_pointwise_vector,
                                         _f_pointwise_scalar, _f_pointwise_vector)}


def _choose_evaluator(g, pointwise, vectorised, xs, y, dtype):
    """``vectorised`` if it reproduces ``pointwise`` on a sample of points, else ``pointwise``."""
    reference = np.empty(y.shape, dtype)
    pointwise(g, xs, y, reference)
    trial = np.empty(y.shape, dtype)
    try:
        with np.errstate(all="ignore"):
            vectorised(g, xs, y, trial)
    except Exception:  # any failure on arrays means: call the function point by point
        return pointwise
    scale = max(1.0, float(np.nanmax(np.abs(reference), initial=0.0)))
    same = np.allclose(trial, reference, rtol=1e-10, atol=1e-12 * scale, equal_nan=True)
    return vectorised if same else pointwise


# Array work that does not call user functions, written as plain loops and always compiled with
# numba (once per dtype, cached on disk). Loops rather than np.linalg keep the compiled code small,
# which matters because it is linked into the kernel compiled for every new set of user functions.
@numba.njit(cache=True)
def _jacobian_probe(x_left, y_left, x_probe, y_probe, steps):
    """Points (x_left, y_left + steps[r] e_r) for a forward-difference Jacobian of c."""
    n = steps.size
    for r in range(n + 1):
        x_probe[r] = x_left
        for q in range(n):
            y_probe[r, q] = y_left[q]
    for r in range(n):
        steps[r] = 1.5e-8 * max(1.0, abs(y_left[r]))
        y_probe[r + 1, r] += steps[r]


@numba.njit(cache=True)
def _newton_factor(c_probe, steps, a_block, half, lu, pivots):
    """LU factors (in ``lu``, ``pivots``) of I - half (A ⊗ J), J = dc/dy by forward differences."""
    n, m = steps.size, a_block.shape[0]
    for j in range(m):
        for r in range(n):
            for q in range(n):
                jac = (c_probe[q + 1, r] - c_probe[0, r]) / steps[q]
                for i in range(m):
                    identity = 1.0 if i == j and r == q else 0.0
                    lu[i * n + r, j * n + q] = identity - half * a_block[i, j] * jac
    lu_factor(lu, pivots)


@numba.njit(cache=True)
def _newton_step(g, forcing, y_panel, a_rows, half, lu, pivots, update):
    """One simplified-Newton update of y_j = y_0 + half Σ_m A_jm (g_m + forcing_m), j >= 1.

    Returns (first node with non-finite right-hand side or -1, relative step size).
    """
    p, n = g.shape
    for j in range(p):
        for r in range(n):
            g[j, r] += forcing[j, r]
            if not np.isfinite(g[j, r]):
                return j, np.inf
    for j in range(1, p):  # residual of the collocation equations
        for r in range(n):
            total = 0.0 * g[0, 0]
            for q in range(p):
                total += a_rows[j - 1, q] * g[q, r]
            update[(j - 1) * n + r] = y_panel[j, r] - y_panel[0, r] - half * total
    lu_solve(lu, pivots, update)
    step, scale = 0.0, 1.0
    for j in range(1, p):
        for r in range(n):
            y_panel[j, r] -= update[(j - 1) * n + r]
            step = max(step, abs(update[(j - 1) * n + r]))
            scale = max(scale, abs(y_panel[j, r]))
    if not np.isfinite(step):
        return 1, step
    return -1, step / scale


@numba.njit(cache=True)
def _past_integrals(weights, f_values, past, start, end):
    """past_i = Σ_{j < start} W_ij f(y_j) for start <= i <= end: the frozen part of a window."""
    for i in range(start, end + 1):
        for r in range(past.shape[1]):
            past[i, r] = 0.0
            for j in range(start):
                past[i, r] += weights[i, j] * f_values[j, r]


@numba.njit(cache=True)
def _integral_forcing(weights, d_matrices, f_values, past, forcing, start, end):
    """forcing_i = d(x_i) (past_i + Σ_{start <= j <= end} W_ij f(y_j)) for start <= i <= end.

    Returns the first node in [start, end] where f(y) or else the forcing is not finite, or -1.
    """
    n = f_values.shape[1]
    for j in range(start, end + 1):
        for r in range(n):
            if not np.isfinite(f_values[j, r]):
                return j
    integral = np.empty(n, forcing.dtype)
    for i in range(start, end + 1):
        for r in range(n):
            integral[r] = past[i, r]
        for j in range(start, end + 1):
            for r in range(n):
                integral[r] += weights[i, j] * f_values[j, r]
        for r in range(n):
            total = 0.0 * integral[0]
            for q in range(n):
                total += d_matrices[i, r, q] * integral[q]
            forcing[i, r] = total
            if not np.isfinite(total):
                return i
    return -1


@numba.njit(cache=True)
def _relax(y, y_new, smoothing, start, end):
    """y <- smoothing y + (1 - smoothing) y_new on nodes start..end; returns max |y_new - y|."""
    error = 0.0
    for i in range(start, end + 1):
        for r in range(y.shape[1]):
            error = max(error, abs(y_new[i, r] - y[i, r]))
            y[i, r] = smoothing * y[i, r] + (1.0 - smoothing) * y_new[i, r]
    return error


@numba.njit(cache=True)
def _shifted_copy(src, first, anchor, out):
    """out[j] = src[first + j] - src[first] + anchor: ``src`` shifted to start at ``anchor``."""
    for j in range(out.shape[0]):
        for r in range(out.shape[1]):
            out[j, r] = src[first + j, r] - src[first, r] + anchor[r]


@numba.njit(cache=True)
def _copy_rows(src, src_first, dst, dst_first, count):
    for j in range(count):
        for r in range(src.shape[1]):
            dst[dst_first + j, r] = src[src_first + j, r]


@numba.njit(cache=True)
def _fill_nan(dst, start, stop):
    for j in range(start, stop):
        for r in range(dst.shape[1]):
            dst[j, r] = np.nan


def _make_kernel(jit: bool) -> Callable:
    """Build the fixed-point iteration: numba-compiled if ``jit``, else plain Python."""
    compile_ = numba.njit if jit else (lambda fn: fn)

    @compile_
    def march(eval_c, c, nodes, a_rows, a_block, forcing, y_start, y_prev, y_new, start, end):
        """Solve y' = c(x, y) + forcing on nodes start..end, y(x_start) = y_start, by Lobatto IIIA
        collocation panel by panel.

        ``y_prev`` (the previous iterate) is the Newton predictor. Returns (status, first bad
        node or -1, points at which c was evaluated); on failure ``y_new`` is nan from the
        failing panel to ``end``.
        """
        n = forcing.shape[1]
        p = a_rows.shape[1]
        size = (p - 1) * n
        g = np.empty((p, n), forcing.dtype)
        y_panel = np.empty((p, n), forcing.dtype)
        x_probe = np.empty(n + 1)
        y_probe = np.empty((n + 1, n), forcing.dtype)
        c_probe = np.empty((n + 1, n), forcing.dtype)
        steps = np.empty(n)
        lu = np.empty((size, size), forcing.dtype)
        pivots = np.empty(size, np.int64)
        update = np.empty(size, forcing.dtype)
        y_new[start] = y_start
        evaluations = 0
        for s in range(start, end, p - 1):
            xs = nodes[s : s + p]
            half = 0.5 * (xs[-1] - xs[0])
            _jacobian_probe(xs[0], y_new[s], x_probe, y_probe, steps)
            eval_c(c, x_probe, y_probe, c_probe)
            evaluations += n + 1
            _newton_factor(c_probe, steps, a_block, half, lu, pivots)
            _shifted_copy(y_prev, s, y_new[s], y_panel)
            previous_step = np.inf
            status = _NEWTON_FAILED
            for _ in range(_NEWTON_MAX_ITERATIONS):
                eval_c(c, xs, y_panel, g)
                evaluations += p
                bad, step = _newton_step(g, forcing[s : s + p], y_panel, a_rows, half, lu,
                                         pivots, update)
                if bad >= 0:
                    _fill_nan(y_new, s + 1, end + 1)
                    return _NONFINITE_Y, s + bad, evaluations
                if step <= 1e-13 or (step >= previous_step and step <= 1e-11):
                    status = _CONVERGED
                    break
                previous_step = step
            if status != _CONVERGED:
                _fill_nan(y_new, s + 1, end + 1)
                return status, s, evaluations
            _copy_rows(y_panel, 1, y_new, s + 1, p - 1)
        return _CONVERGED, -1, evaluations

    @compile_
    def fixed_point(eval_c, c, eval_f, f, nodes, a_rows, a_block, weights, d_matrices, y_0, guess,
                    have_guess, window_ends, tolerance, max_iterations, smoothing):
        """Gelmi–Jorquera iteration, window after window, from ``guess`` (or y^(0) if not
        ``have_guess``), each window's first iterate continuing the converged past.

        Returns (y, most iterations of a window, largest final window error, status, first bad
        node or -1, points at which c was evaluated). On failure y is the converged past, the
        failing window's last iterate and nan after it.
        """
        n_nodes = guess.shape[0]
        forcing = np.zeros_like(guess)
        f_values = np.empty_like(guess)
        past = np.empty_like(guess)
        y = np.empty_like(guess)
        y_new = np.empty_like(guess)
        start = np.int64(0)  # not the literal 0, which numba would compile march for again
        nfev = 0
        if not have_guess:  # y^(0): the ODE with the integral dropped
            status, bad, nfev = march(eval_c, c, nodes, a_rows, a_block, forcing, y_0, guess,
                                      y_new, start, window_ends[-1])
            if status != _CONVERGED:
                return y_new, 0, np.inf, status, bad, nfev
            guess, y_new = y_new, guess
        y[0] = y_0
        most_iterations, worst_error = 0, 0.0
        for end in window_ends:
            _shifted_copy(guess, start, y[start], y[start : end + 1])
            _past_integrals(weights, f_values, past, start, end)
            error, best = np.inf, np.inf
            status, bad, iteration = _MAX_ITERATIONS, start, max_iterations
            for it in range(1, max_iterations + 1):
                eval_f(f, nodes[start : end + 1], y[start : end + 1], f_values[start : end + 1])
                bad = _integral_forcing(weights, d_matrices, f_values, past, forcing, start,
                                        end)
                if bad >= 0:
                    status, iteration = _NONFINITE_INTEGRAL, it
                    _copy_rows(y, start, y_new, start, end + 1 - start)
                    break
                status, bad, evaluations = march(eval_c, c, nodes, a_rows, a_block, forcing,
                                                  y[start], y, y_new, start, end)
                nfev += evaluations
                if status != _CONVERGED:
                    iteration = it
                    break
                error = _relax(y, y_new, smoothing, start, end)
                best = min(best, error)
                iteration, bad = it, start
                if error <= tolerance:
                    break
                status = _MAX_ITERATIONS
                if error > _DIVERGENCE_FACTOR * best or (it == max_iterations and error > best):
                    status = _DIVERGED  # fast growth, or ended up above its best error
                    break
            most_iterations = max(most_iterations, iteration)
            if status != _CONVERGED:
                _copy_rows(y, 0, y_new, 0, start)
                _fill_nan(y_new, end + 1, n_nodes)
                return y_new, most_iterations, error, status, bad, nfev
            worst_error = max(worst_error, error)
            _copy_rows(y_new, start, y, start, end + 1 - start)  # accept T(y) on the window
            eval_f(f, nodes[start : end + 1], y[start : end + 1], f_values[start : end + 1])
            start = end
        return y, most_iterations, worst_error, _CONVERGED, -1, nfev

    return fixed_point


_KERNEL_PYTHON = _make_kernel(jit=False)
_KERNEL_NUMBA = _make_kernel(jit=True)


def _bound_values(name: str, bound: Callable, nodes: np.ndarray) -> np.ndarray:
    """``bound(x_i)`` at every node, checked to be real and in ``[x[0], x[-1]]``."""
    values = np.array([bound(xi) for xi in nodes])
    a, b = nodes[0], nodes[-1]
    if values.shape == nodes.shape and values.dtype.kind in "iufc":
        slack = 1e-12 * max(1.0, abs(a), abs(b))
        real = values.real
        bad = (values.imag != 0) | ~(np.isfinite(real) & (real >= a - slack)
                                     & (real <= b + slack))
    else:  # not one real number per node
        bad = np.ones(nodes.shape, bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}(x) must return real numbers in [x[0], x[-1]] = [{a:g}, {b:g}], "
                         f"got {values.flat[i]} at x = {nodes[i]:g}")
    return np.clip(values.real, a, b)


def _d_matrices(d: Callable, nodes: np.ndarray, n: int, dtype) -> np.ndarray:
    """d(x_i) at every node as an (n, n) matrix: scalar -> multiple of I, (n,) -> diagonal."""
    values = [np.asarray(d(xi)) for xi in nodes]
    shape = values[0].shape
    if shape not in ((), (n,), (n, n)) or any(v.shape != shape for v in values):
        raise ValueError(f"d(x) must return a scalar, an array of shape ({n},) or ({n}, {n}), "
                         f"got shape {shape}")
    stacked = np.array(values, dtype=dtype)
    if stacked.ndim == 3:
        return stacked
    diagonal = np.broadcast_to(stacked.reshape(nodes.size, -1), (nodes.size, n))
    return diagonal[:, :, None] * np.eye(n, dtype=dtype)


def _nystrom_weights(eval_k, k, edges, nodes, lower, upper, ref, dtype) -> np.ndarray:
    """W with (W v)_i = ∫_{lower_i}^{upper_i} k(x_i, s) v(s) ds for v the panel interpolant."""
    n_nodes, p, q = nodes.size, ref.t.size, ref.gauss_t.size
    weights = np.zeros((n_nodes, n_nodes), dtype)
    sign = np.where(upper >= lower, 1.0, -1.0)
    low, high = np.minimum(lower, upper), np.maximum(lower, upper)
    for panel, columns in enumerate(_panel_indices(edges.size - 1, p)):
        e0, e1 = edges[panel], edges[panel + 1]
        u, v = np.clip(low, e0, e1), np.clip(high, e0, e1)
        rows = np.flatnonzero(v > u)
        if rows.size == 0:
            continue
        half = 0.5 * (v - u)[rows, None]
        s = 0.5 * (u + v)[rows, None] + half * ref.gauss_t
        kernel = np.empty((rows.size * q, 1), dtype)
        eval_k(k, np.repeat(nodes[rows], q), s.reshape(-1, 1), kernel)
        w = (sign[rows, None] * half * ref.gauss_w) * kernel.reshape(rows.size, q)
        # rows covering the whole panel share the basis at the Gauss points
        whole = (u[rows] == e0) & (v[rows] == e1)
        weights[rows[whole, None], columns] += w[whole] @ ref.gauss_basis
        part = ~whole
        basis = _lagrange_basis(ref.t, ref.bary, (2.0 * s[part] - e0 - e1) / (e1 - e0))
        weights[rows[part, None], columns] += np.einsum("rq,rqj->rj", w[part], basis)
    return weights


def _window_ends(weights: np.ndarray, p: int) -> np.ndarray:
    """Panel-edge nodes e such that no node up to e needs y beyond e (W_ij = 0 for i <= e < j).

    Volterra-type bounds (a(x), b(x) <= x) make every panel a window; Fredholm ones, one window.
    """
    n_nodes = weights.shape[0]
    nonzero = weights != 0
    last_needed = n_nodes - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    last_needed[~nonzero.any(axis=1)] = 0
    reach = np.maximum.accumulate(last_needed)
    edges = np.arange(p - 1, n_nodes, p - 1)
    return edges[reach[edges] <= edges]


def _unresolved_panels(y_nodes: np.ndarray, ref: _Reference, tolerance: float) -> np.ndarray:
    """Panels whose two highest Legendre coefficients exceed tolerance * max(1, |y|_inf)."""
    p = ref.t.size
    panels = (y_nodes.shape[0] - 1) // (p - 1)
    coefficients = np.einsum("kj,mjn->mkn", ref.to_legendre,
                             y_nodes[_panel_indices(panels, p)])
    tail = np.abs(coefficients[:, -2:]).max(axis=(1, 2))
    return tail > tolerance * max(1.0, float(np.abs(y_nodes).max()))


@dataclass(frozen=True)
class _Options:
    """The numerical options of :func:`solve_ide`, checked."""

    tolerance: float  # global_error_tolerance
    max_iterations: int
    smoothing: float  # smoothing_factor
    p: int  # nodes_per_panel
    n_panels: int
    max_panels: int
    resolution_tolerance: float


def _options(global_error_tolerance: float, max_iterations: int, smoothing_factor: float,
             nodes_per_panel: int, n_panels: int, max_panels: int,
             resolution_tolerance: float | None) -> _Options:
    """Check the options (ValueError naming the parameter and its allowed range)."""
    tolerance = check.positive("global_error_tolerance", global_error_tolerance)
    n_panels = check.count("n_panels", n_panels, minimum=1)
    return _Options(
        tolerance=tolerance,
        max_iterations=check.count("max_iterations", max_iterations, minimum=1),
        smoothing=check.unit_interval("smoothing_factor", smoothing_factor),
        p=check.count("nodes_per_panel", nodes_per_panel, minimum=3),
        n_panels=n_panels,
        max_panels=check.count("max_panels", max_panels, minimum=n_panels),
        resolution_tolerance=(tolerance if resolution_tolerance is None else
                              check.positive("resolution_tolerance", resolution_tolerance)),
    )


@dataclass(frozen=True)
class _Problem:
    """The IDE, checked: output grid, y_0 as an (n,) array of the solve's dtype, functions."""

    x: np.ndarray
    y_0: np.ndarray
    scalar: bool  # y_0 was a scalar: y is returned with shape (len(x),)
    c: Callable
    d: Callable
    k: Callable
    f: Callable
    lower_bound: Callable
    upper_bound: Callable

    @property
    def n(self) -> int:
        return self.y_0.size

    @property
    def dtype(self) -> np.dtype:
        return self.y_0.dtype


def _grid(x: np.ndarray) -> np.ndarray:
    """``x`` as a float array if it is a finite, strictly increasing 1-D array of >= 2 reals."""
    array = np.asarray(x)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"x must be a 1-D array of real numbers, got dtype {array.dtype}")
    if array.ndim != 1 or array.size < 2:
        raise ValueError(f"x must be a 1-D array with at least 2 points, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("x must contain only finite values")
    if not np.all(np.diff(array) > 0):
        raise ValueError("x must be strictly increasing")
    return array.astype(float)


def _initial_value(y_0: complex | np.ndarray) -> np.ndarray:
    """``y_0`` as an array if it is a finite number or non-empty 1-D array of numbers."""
    array = np.asarray(y_0)
    if array.ndim > 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"y_0 must be a number or a non-empty 1-D array, got {array!r}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"y_0 must be finite, got {array}")
    return array


def _solution_dtype(x_0: float, y_0: np.ndarray, c: Callable, d: Callable, k: Callable,
                    f: Callable) -> np.dtype:
    """complex128 if y_0 or a value of c, d, k, f at the initial point is complex, else float64.

    Checks on the way that ``c(x, y)`` and ``f(y)`` return the shape of ``y_0``, ``k(x, s)`` a
    scalar, and all four numbers.
    """
    values = {"c(x, y)": np.asarray(c(x_0, y_0[()])), "f(y)": np.asarray(f(y_0[()]))}
    for call, value in values.items():
        if value.size != y_0.size or value.ndim > 1:
            raise ValueError(f"{call} must return the shape of y_0 {y_0.shape}, "
                             f"got {value.shape}")
    values["k(x, s)"] = np.asarray(k(x_0, x_0))
    if values["k(x, s)"].size != 1:
        raise ValueError(f"k(x, s) must return a scalar, got shape {values['k(x, s)'].shape}")
    values["d(x)"] = np.asarray(d(x_0))
    for call, value in values.items():
        if value.dtype.kind not in "biufc":
            raise ValueError(f"{call} must return real or complex numbers, got {value!r}")
    complex_ = any(value.dtype.kind == "c" for value in (y_0, *values.values()))
    return np.dtype(np.complex128 if complex_ else np.float64)


def _problem(x: np.ndarray, y_0: complex | np.ndarray, c: Callable, d: Callable, k: Callable,
             f: Callable, lower_bound: Callable, upper_bound: Callable) -> _Problem:
    """Check the IDE's data and probe the functions once at the initial point."""
    x, y_0 = _grid(x), _initial_value(y_0)
    functions = dict(c=c, d=d, k=k, f=f, lower_bound=lower_bound, upper_bound=upper_bound)
    for name, function in functions.items():
        check.function(name, function)
    dtype = _solution_dtype(x[0], y_0, c, d, k, f)
    return _Problem(x, y_0.astype(dtype).reshape(y_0.size), y_0.ndim == 0, **functions)


@dataclass(frozen=True)
class _Calls:
    """How the iteration calls the user functions: its kernel and the evaluators of c, f, k."""

    kernel: Callable
    eval_c: Callable
    eval_f: Callable
    eval_k: Callable
    c_evaluations: int  # points at which choosing eval_c evaluated c


def _calls(problem: _Problem, ref: _Reference, first_panel: np.ndarray) -> _Calls:
    """The compiled kernel with pointwise calls if c, k and f are all numba dispatchers; else the
    Python kernel, calling each function on whole arrays where that reproduces pointwise calls
    on the nodes of ``first_panel`` (two edges).
    """
    c_pointwise = _c_pointwise_scalar if problem.scalar else _c_pointwise_vector
    f_pointwise = _f_pointwise_scalar if problem.scalar else _f_pointwise_vector
    if all(is_jitted(fn) for fn in (problem.c, problem.k, problem.f)):
        return _Calls(_KERNEL_NUMBA, *(_JITTED[fn] for fn in (c_pointwise, f_pointwise,
                                                               _c_pointwise_scalar)), 0)
    y_0, dtype = problem.y_0, problem.dtype
    xs = _mesh_nodes(first_panel, ref)
    ys = y_0 + 1e-6 * np.arange(1, ref.t.size + 1)[:, None] * (1.0 + np.abs(y_0))
    c_vectorised = _c_vectorised_scalar if problem.scalar else _c_vectorised_vector
    f_vectorised = _f_vectorised_scalar if problem.scalar else _f_vectorised_vector
    return _Calls(
        _KERNEL_PYTHON,
        _choose_evaluator(problem.c, c_pointwise, c_vectorised, xs, ys, dtype),
        _choose_evaluator(problem.f, f_pointwise, f_vectorised, xs, ys, dtype),
        _choose_evaluator(problem.k, _c_pointwise_scalar, _c_vectorised_scalar, xs,
                          xs[::-1, None], dtype),
        2 * xs.size,  # c at the points xs once pointwise and once on the whole array
    )


@dataclass(frozen=True)
class _Mesh:
    """Panels of Lobatto nodes with everything the iteration needs on them."""

    ref: _Reference
    edges: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray  # the Nyström matrix W
    d_matrices: np.ndarray  # d(x_i) as (n, n) matrices
    windows: np.ndarray  # last node of each window


def _mesh(problem: _Problem, calls: _Calls, ref: _Reference, edges: np.ndarray) -> _Mesh:
    """Lobatto nodes on the panels ``edges``, the Nyström matrix of the integral on them, d at
    the nodes and the windows of the iteration.
    """
    nodes = _mesh_nodes(edges, ref)
    lower = _bound_values("lower_bound", problem.lower_bound, nodes)
    upper = _bound_values("upper_bound", problem.upper_bound, nodes)
    weights = _nystrom_weights(calls.eval_k, problem.k, edges, nodes, lower, upper, ref,
                               problem.dtype)
    return _Mesh(ref, edges, nodes, weights, _d_matrices(problem.d, nodes, problem.n,
                                                         problem.dtype),
                 _window_ends(weights, ref.t.size))


@dataclass(frozen=True)
class _Sweep:
    """What the fixed-point iteration returned on one mesh (see ``fixed_point``)."""

    y_nodes: np.ndarray  # (N, n)
    iterations: int  # most iterations of a window
    error: float  # largest final window error, or the failing window's error
    status: int
    bad: int  # first bad node, or -1
    nfev: int  # points at which c was evaluated


def _iterate(problem: _Problem, options: _Options, calls: _Calls, mesh: _Mesh,
             guess: np.ndarray | None) -> _Sweep:
    """Gelmi–Jorquera iteration on ``mesh``, started from ``guess`` (node values) or, if None,
    from y^(0), the solution of the ODE without the integral term.
    """
    have_guess = guess is not None
    if guess is None:
        guess = np.ascontiguousarray(np.broadcast_to(problem.y_0, (mesh.nodes.size, problem.n)),
                                     problem.dtype)
    ref, dtype = mesh.ref, problem.dtype
    return _Sweep(*calls.kernel(
        calls.eval_c, problem.c, calls.eval_f, problem.f, mesh.nodes, ref.a_rows.astype(dtype),
        ref.a_block.astype(dtype), mesh.weights, mesh.d_matrices, problem.y_0, guess, have_guess,
        mesh.windows, options.tolerance, options.max_iterations, options.smoothing))


@dataclass(frozen=True)
class _Outcome:
    """The final mesh and iteration, the iterations and evaluations of c summed over meshes,
    and the verdict (``status`` a code of idebook.results.STATUS).
    """

    mesh: _Mesh
    sweep: _Sweep
    iterations: int
    nfev: int
    status: int
    message: str


def _solve_on_adapted_mesh(problem: _Problem, options: _Options) -> _Outcome:
    """Iterate on a mesh of equal panels; halve a one-panel window whose iteration diverges, or
    else the panels that do not resolve the converged solution, and iterate again, until every
    panel is resolved or the iteration fails.

    Raises DivergenceError (``t`` the first node concerned) if y, dy/dx, F(y) or the integral
    term becomes NaN or inf.
    """
    ref = _reference(options.p)
    edges = np.linspace(problem.x[0], problem.x[-1], options.n_panels + 1)
    calls = _calls(problem, ref, edges[:2])
    guess, total, halvings = None, 0, 0
    nfev = _PROBE_EVALUATIONS + calls.c_evaluations
    while True:
        mesh = _mesh(problem, calls, ref, edges)
        sweep = _iterate(problem, options, calls, mesh, guess)
        total += sweep.iterations
        nfev += sweep.nfev
        if sweep.status in (_NONFINITE_Y, _NONFINITE_INTEGRAL):
            raise DivergenceError(_failure_message(
                sweep.status, mesh.nodes, sweep.bad, edges, sweep.error, options.tolerance,
                options.max_iterations), t=float(mesh.nodes[sweep.bad]))
        if (sweep.status == _DIVERGED and sweep.bad + options.p - 1 in mesh.windows
                and edges.size <= options.max_panels and halvings < _MAX_WINDOW_HALVINGS):
            # a one-panel (Volterra-type) window: halving it shortens the iteration's window
            halvings += 1
            panel = sweep.bad // (options.p - 1)
            edges = np.insert(edges, panel + 1, edges[panel : panel + 2].mean())
            guess = None
            continue
        if sweep.status != _CONVERGED:
            return _Outcome(mesh, sweep, total, nfev, _STATUS[sweep.status], _failure_message(
                sweep.status, mesh.nodes, sweep.bad, edges, sweep.error, options.tolerance,
                options.max_iterations))
        unresolved = _unresolved_panels(sweep.y_nodes, ref, options.resolution_tolerance)
        if not unresolved.any():
            return _Outcome(mesh, sweep, total, nfev, _STATUS[_CONVERGED], (
                f"converged: global_error {sweep.error:.2e} <= {options.tolerance:g} "
                f"on {edges.size - 1} panels of {options.p} nodes"))
        if edges.size - 1 + unresolved.sum() > options.max_panels:
            return _Outcome(mesh, sweep, total, nfev, _MESH_UNRESOLVED, (
                f"mesh refinement stopped by max_panels={options.max_panels}: "
                f"{unresolved.sum()} of {edges.size - 1} panels not resolved to "
                f"resolution_tolerance {options.resolution_tolerance:g}"))
        # halve the unresolved panels and restart from the interpolated solution
        edges = np.sort(np.concatenate((edges, 0.5 * (edges[:-1] + edges[1:])[unresolved])))
        guess = _interpolate(mesh.edges, sweep.y_nodes, ref,
                             _mesh_nodes(edges, ref)).astype(problem.dtype)


def _failure_message(status: int, nodes, bad: int, edges, error: float, tolerance: float,
                     max_iterations: int) -> str:
    window = f" in the window from x = {nodes[bad]:.10g}" if bad > 0 else ""
    if status == _MAX_ITERATIONS:
        return (f"did not converge{window}: global_error {error:.3g} > global_error_tolerance "
                f"{tolerance:g} after max_iterations={max_iterations} iterations")
    if status == _DIVERGED:
        return (f"fixed-point iteration diverged{window}: global_error grew to {error:.3g}; "
                "try a larger smoothing_factor")
    if status == _NONFINITE_Y:
        return f"non-finite value (nan/inf) in y or dy/dx first at x = {nodes[bad]:.10g}"
    if status == _NONFINITE_INTEGRAL:
        return (f"non-finite value (nan/inf) in f(y) or the integral term first at "
                f"x = {nodes[bad]:.10g}")
    panel = np.searchsorted(edges, nodes[bad], side="right") - 1
    return (f"collocation (Newton) step did not converge on panel "
            f"[{edges[panel]:.6g}, {edges[panel + 1]:.6g}]: c(x, y) too nonlinear for the "
            "panel width; try a larger n_panels")


def _result(problem: _Problem, outcome: _Outcome) -> IDEResult:
    """The solution at the requested ``x`` (interpolating the panel polynomials) and at the
    nodes, with the diagnostics; scalar problems get 1-D ``y`` and ``y_nodes``.
    """
    mesh, y_nodes = outcome.mesh, outcome.sweep.y_nodes
    y = _interpolate(mesh.edges, y_nodes, mesh.ref, problem.x)
    return IDEResult(
        x=problem.x,
        y=y[:, 0] if problem.scalar else y,
        success=outcome.status == 0,
        status=outcome.status,
        message=outcome.message,
        nfev=int(outcome.nfev),
        iterations=int(outcome.iterations),
        global_error=float(outcome.sweep.error),
        x_nodes=mesh.nodes,
        y_nodes=y_nodes[:, 0] if problem.scalar else y_nodes,
        panel_edges=mesh.edges,
    )


def solve_ide(
    x: np.ndarray,
    y_0: complex | np.ndarray,
    c: Callable,
    d: Callable,
    k: Callable,
    f: Callable,
    lower_bound: Callable,
    upper_bound: Callable,
    *,
    global_error_tolerance: float = 1e-10,
    max_iterations: int = 200,
    smoothing_factor: float = 0.5,
    nodes_per_panel: int = 16,
    n_panels: int = 4,
    max_panels: int = 128,
    resolution_tolerance: float | None = None,
) -> IDEResult:
    """Solve y' = c(x, y) + d(x) ∫_{lower_bound(x)}^{upper_bound(x)} k(x, s) f(y(s)) ds.

    With y(x[0]) = y_0, on [x[0], x[-1]]; the solution is returned at the points ``x``. The
    Gelmi-Jorquera fixed-point iteration (Gelmi & Jorquera 2014) on Lobatto panels, with
    idesolver's arguments (Karpel 2018); the module docstring gives the method, the
    evaluation conventions of the functions (numba or NumPy), the failures and the map from
    idesolver's names.

    Parameters
    ----------
    x : numpy.ndarray
        Where the solution is returned: 1-D, strictly increasing, at least 2 finite points.
    y_0 : complex or numpy.ndarray
        y(x[0]): a finite real or complex number, or a 1-D array of n of them.
    c : callable
        ``c(x, y)``, returning the shape of ``y``.
    d : callable
        ``d(x)``, returning a scalar, an (n,) array (componentwise) or an (n, n) matrix.
    k : callable
        ``k(x, s)``, returning a scalar.
    f : callable
        ``f(y)`` (the F of the equation), returning the shape of ``y``.
    lower_bound, upper_bound : callable
        ``x -> a(x)`` and ``x -> b(x)``, real values in ``[x[0], x[-1]]``.
    global_error_tolerance : float, default 1e-10
        Stop a window's iteration when its sup-norm fixed-point residual is <= this (finite,
        > 0).
    max_iterations : int, default 200
        Most fixed-point iterations per window and mesh (an integer >= 1).
    smoothing_factor : float, default 0.5
        alpha in [0, 1), the weight of the previous iterate (0: plain Picard iteration).
    nodes_per_panel : int, default 16
        Lobatto nodes per panel p (an integer >= 3); the method has order p.
    n_panels : int, default 4
        Initial number of equal panels (an integer >= 1).
    max_panels : int, default 128
        The mesh refinement stops (status -3) beyond this many panels (an integer >=
        n_panels); memory grows as (max_panels * (nodes_per_panel - 1))**2 for the dense
        integral matrix.
    resolution_tolerance : float, optional
        Panel resolution target (finite, > 0); defaults to global_error_tolerance.

    Returns
    -------
    IDEResult
        The solution at ``x``, its dense output ``sol``, and ``success``, ``status`` (0, or
        -1 to -4 of :data:`idebook.results.STATUS`), ``message``, ``nfev`` (evaluations of
        ``c``), ``iterations`` and ``global_error``.

    Raises
    ------
    ValueError
        An argument outside its range (named, with the range), or a function returning the
        wrong shape or type at the initial point, or a bound outside ``[x[0], x[-1]]``.
    DivergenceError
        y, dy/dx, f(y) or the integral term became NaN or inf; ``t`` is the first node
        where it did.

    Warns
    -----
    ConvergenceWarning
        Once, whenever the result has ``success=False`` (``status < 0``).

    References
    ----------
    - C. A. Gelmi and H. Jorquera, "IDSOLVER: A general purpose solver for nth-order
      integro-differential equations", Comput. Phys. Commun. 185(1), 392-397 (2014),
      doi:10.1016/j.cpc.2013.09.008.
    - J. T. Karpel, "IDESolver: a general purpose integro-differential equation solver",
      J. Open Source Softw. 3(25), 542 (2018), doi:10.21105/joss.00542.
    """
    options = _options(global_error_tolerance, max_iterations, smoothing_factor, nodes_per_panel,
                       n_panels, max_panels, resolution_tolerance)
    problem = _problem(x, y_0, c, d, k, f, lower_bound, upper_bound)
    result = _result(problem, _solve_on_adapted_mesh(problem, options))
    if not result.success:
        warnings.warn(result.message, ConvergenceWarning, stacklevel=2)
    return result
