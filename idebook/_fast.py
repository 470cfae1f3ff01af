"""The fast IDE solver: adaptive explicit steps of order five, exponential steps where the
memory decays are stiff, SDIRK4 where the field is, Picard iteration for the shift.

The models of Propositions 1-3 are written as one system for y = (theta, m, v):

    theta' = -(w/alpha) theta - mhat / (sqrt(vhat) + eps)
    m'     = c1 (g - m)                      (Adam only)
    v'     = c2 q - d2 v                     (G for AdaGrad, with d2 = 0)

with g = grad f(theta) + (lambda/2) theta and q = ||g||^2 (or g^2 per coordinate). For Adam,
mhat = m / (1 - beta1^(t/alpha)) and vhat = v / (1 - beta2^(t/alpha)), which is eq. (5)-(6)
rewritten (:func:`idebook.model.bias_ratio`, with its limit at t = 0). For AdaGrad and
RMSProp, mhat = g and vhat is the memory one step *ahead*, v(t + alpha). Splitting that
value as

    v(t + alpha) = exp(-d2 alpha) v(t) + int_t^{t+alpha} c2 exp(-d2 (t + alpha - s)) q(s) ds

leaves only the window integral non-causal; it is taken from the previous sweep's memory P as
W = P(t + alpha) - exp(-d2 alpha) P(t) (Picard iteration), with P the previous sweep's dense
output (:func:`interpolate`), and corrected by how far this sweep's memory v(t) has moved
from P(t) (PREDICTED). The first sweep freezes q over the window, which is Assumption 2 to
first order.

Each sweep (:func:`march`) chooses every step's method from the step and two Lipschitz
estimates of the last step (see DOPRI_STIFF), and from how a DOPRI5 step's error splits
between the decays and N (see DECAYS):

* where the whole field is non-stiff, the Dormand-Prince 5(4) pair (:func:`dopri_step`), six
  gradient evaluations per step (FSAL), its embedded estimate controlling the step, and its
  own quartic dense output kept for the result;
* where only the decays -D y are stiff (steps long against the memory's window), or where
  they make most of DOPRI5's error (see DECAYS), exponential
  Runge-Kutta steps of order four (:func:`step_coefficients`): the decays are integrated
  exactly, the rest as in the classical RK4, by the ETDRK4 method of Cox & Matthews (2002) in
  t and by Lawson's integrating-factor method (Lawson 1967) in s = sqrt(t). Their fifth
  stage, the field at the new point, is the next step's first (FSAL), and weights
  (1/6, 1/3, 1/3, 0, 1/6) on the five stages (their exponential analogues) make a third-order
  companion for the error estimate: four gradient evaluations per step;
* where N itself is stiff, SDIRK4, with a step-doubling estimate.

The step is chosen by the PI controller of Gustafsson (Hairer & Wanner, Solving ODEs II, IV.2).
A sweep can also follow given nodes without error control: the fixed grid h = alpha/N of
``substeps=N`` (exponential RK4 or SDIRK4 steps, the reference of order four the tests use),
and the later Picard sweeps, which replay the nodes and step methods of an adaptive sweep so
that their change measures the iteration alone.

Adam's first window is integrated in the variable s = sqrt(t) (``sqrt_time``): with beta2 = 0
(or no bias correction) vhat = v grows like t, so theta' ~ t^(-1/2), which is smooth in s; with
bias correction the layer where 1 - beta^(t/alpha) goes from 0 to 1 is smooth in s too.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import types

from ._jit import GRAD_TYPE, plain
from ._linalg import lu_factor, lu_solve
from .model import bias_ratio, step_ratio

PAD = 2  # alpha-windows integrated beyond t_end for the shifted models

# When a step is stiff. The decays -D y are integrated exactly, so only N limits the step.
# Classical RK4 is stable for h * lambda (lambda an eigenvalue of dN/dy) in its stability
# region, which meets the negative real axis at -2.785 and the imaginary axis at +-2.83i. L is
# a Lipschitz estimate of N along the step from its two midpoint stages (Shampine's test:
# |k3 - k2| / |z3 - z2|, which bounds |lambda| for the dominant direction). Where h L > 1.5 the
# step is past about half of that interval, where RK4's amplification factor is far from
# exp(h lambda) and little more takes it out of the region: the step is then taken by the
# L-stable SDIRK4, whose stability region contains the whole left half-plane, so that the step
# is limited by accuracy, not by stability.
STIFF = 1.5
HALVINGS = 3  # on a given grid, a failed SDIRK step is retried as 2, 4, 8 SDIRK steps
# A replayed explicit step (a later Picard sweep taking an earlier sweep's nodes and methods)
# whose own error estimate exceeds REPLAY_LIMIT times its local tolerance fails, and the sweep
# adapts again from there. The solve returns its last sweep, usually a replay, and its estimate
# compares two such sweeps. At 100 (before) replayed steps carried errors of up to 100 local tol
# and that estimate came out 10-50x below the true error (RMSProp, alpha = 1: 1.3e-9 against
# 2.3e-8). At 4 (a replayed step within tol itself, the local tolerance being LOCAL = tol / 4 in
# the finer solve) the estimate covered that case, 8.0e-10 against 6.8e-10, until SDIRK4's
# stages were predicted (SDIRK_PREDICT): on other steps, theta0 one ulp up came out 7.5e-9
# against 7.7e-10, most of it inside one replayed exponential step. At 2, 5.1e-10 against
# 7.7e-10 for theta0 and the two floats above it, and over the playground's 108 settings 1.1 %
# fewer gradients than at 4 (1,060,207 against 1,071,732); at 30 the estimate was 1.14x low.
REPLAY_LIMIT = 2.0
JACOBIAN_MAX = 64  # larger states never take the stiff path (its Jacobian: 2 ny + 1 gradients)

# Step-size control (Hairer, Norsett & Wanner I, II.4; the PI variant of Gustafsson)
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 5.0
PI_BETA = 0.08  # weight of the previous error in the PI controller (0: the classical I rule)
NEWTON_TOL = 1e-12  # Newton's updates, relative to |y| + floor (see sdirk_step), at least
NEWTON_KAPPA = 0.01  # and at most this share of the step's local tolerance (Hairer & Wanner II,
# IV.8: Newton's error need only be small against the error the step is allowed)
NEWTON_ITERATIONS = 50  # per SDIRK stage
MIN_STEP = 1e-13  # relative to max(1, |s|): a smaller step is a singularity or a blow-up
# The first moment's local error is measured relative to its size, but not below this share of
# its largest |m| so far: m crosses zero, and the result's promise measures m's error against
# its largest magnitude (where that exceeds 1). The same floor scales the Newton convergence
# test of the stiff steps (sdirk_step: updates against |y| + floor). At 1e-3 the steps were set
# by m near its zeros in Adam's later windows. With M_FLOOR = 0.1, the 108 playground settings
# took 1,017,715 -> 983,498 gradients in all; every setting that changed by more than 5 % was
# Adam's and fell, by 9-43 %. On seven of the paper's eight Adam configurations nfev/K fell by
# 12-18 % (alpha = 0.01, beta1 = 0.9, beta2 = 0.99: 3.41 -> 2.82). It cost more where the
# estimate of a pair of solves came out just over tol and a third solve was made (beta1 = 0.9,
# beta2 = 0.99, alpha = 0.001, t_end = 5: 7463 -> 11 592 gradients), and 7 % on beta1 = 0,
# beta2 = 0.999, alpha = 0.01 (9.29 -> 9.93). With M_FLOOR = 0.3 or 1, some playground settings
# took 10-60 % more.
M_FLOOR = 0.1

# SDIRK4 of Hairer & Wanner (gamma = 1/4, L-stable, stiffly accurate: b = last row of A)
GAMMA = 0.25
SDIRK_C = np.array([0.25, 0.75, 11 / 20, 0.5, 1.0])
SDIRK_A = np.array([
    [0.25, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.25, 0.0, 0.0, 0.0],
    [17 / 50, -1 / 25, 0.25, 0.0, 0.0],
    [371 / 1360, -137 / 2720, 15 / 544, 0.25, 0.0],
    [25 / 24, -49 / 48, 125 / 16, -85 / 12, 0.25],
])


def _stage_predictor(c: np.ndarray) -> np.ndarray:
    """Weights that predict each stage's derivative from those before it: the value at c[st] of
    the straight line fitted by least squares to the derivatives at c[:st] (the one before it,
    for the second stage). Newton starts each stage from that prediction."""
    weights = np.zeros((c.size, c.size))
    weights[1, 0] = 1.0
    for st in range(2, c.size):
        mean = c[:st].mean()
        d = c[:st] - mean
        weights[st, :st] = 1.0 / st + (c[st] - mean) * d / (d @ d)
    return weights


# With one Jacobian per adaptive step, measured over the playground's 108 settings against
# Newton started from the stage before and a Jacobian per half step: 9.8 % fewer gradients
# (AdaGrad on Rosenbrock, alpha = 0.5, 2000 steps: 75 gradients per adaptive SDIRK4 step -> 55,
# and 125,426 gradients in all -> 104,534), both at REPLAY_LIMIT = 4. Stopping Newton sooner,
# where the contraction rate of its first updates said that what was left of its error was
# small (Hairer & Wanner's test), saved 8 % more, but that rate understates the slow
# directions: accepted steps carried Newton errors of up to 32 local tolerances (RMSProp on
# Rosenbrock, alpha = 0.05, per coordinate). Starting the two half steps' stages from the full
# step's instead cost 37 % more there.
SDIRK_PREDICT = _stage_predictor(SDIRK_C)

# Dormand & Prince (1980) 5(4), FSAL, as in scipy.integrate.RK45 (Hairer, Norsett & Wanner I,
# II.5): the explicit step wherever the whole field, decays included, is non-stiff. Its error
# estimate is that of the embedded fourth-order solution, so the step is controlled with the
# exponent 1/5, and the fifth-order solution is kept (local extrapolation). DOPRI_MID weights
# the stages into the free dense output of order 4 at the step's midpoint.
DOPRI_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
DOPRI_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1 / 5, 0.0, 0.0, 0.0, 0.0],
    [3 / 40, 9 / 40, 0.0, 0.0, 0.0],
    [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
])
DOPRI_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
DOPRI_E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525,
                    1 / 40])
DOPRI_MID = np.array([
    [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933,
     87487479700 / 32700410799],
    [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408,
     701980252875 / 199316789632],
    [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
]) @ 0.5 ** np.arange(1, 5)
# The region of absolute stability of DOPRI5 meets the negative real axis near -3.3. A step is
# taken by DOPRI5 when h rho <= DOPRI_STIFF, rho a Lipschitz estimate of the whole field from the
# last step: after a DOPRI5 step, Hairer & Wanner's test |f(z7) - f(z6)| / |z7 - z6| (z6 and z7
# the two stages at the step's end); after an exponential step, the estimate L of N plus the
# fastest decay max D, which bounds the field's constant (triangle inequality). Beyond it the
# decays are integrated exactly (exponential RK4), and stiffness in N goes on to SDIRK4 (STIFF);
# up to 10 DOPRI_STIFF, DOPRI5 cut to its stability limit is cheaper, except after an SDIRK4 step
# (taken or rejected), until a step is non-stiff again (h rho <= DOPRI_STIFF). Near its stability
# limit an explicit step hardly damps an oscillatory mode, and one step's rho can miss it: Adam
# resting at theta* (m and theta oscillate at a frequency sqrt(c1 f'' / (sqrt(vhat) + eps)),
# damped at c1 / 2) alternated DOPRI5 steps, some cut to the limit, with single SDIRK4 steps, and
# an oscillation kept at the tolerance's level held every step near 2e-4 (alpha = 0.05, beta1 =
# 0.5, beta2 = 0.9, t_end = 40: the work limit of 10^7 gradients). For the same reason a step's
# rho is at least RHO_MEMORY times that of the last accepted step (a rejected one's can be absurd:
# its stages far off), so that a stiffness seen once counts for a few steps. With both: 8642
# gradients there when they were introduced (14 330 with the solver as it is now), and 4 %
# fewer over the playground's 108 settings.
DOPRI_STIFF = 3.0
RHO_MEMORY = 0.5
# Where N varies slowly, the decays -D y can make most of DOPRI5's error although h D is small:
# RMSProp's memory decaying towards zero once theta rests, its error measured relative to
# itself. When the part of an error-limited step's error that comes from N (the same weights on
# the stages' N) is below 1/DECAYS of it, exponential steps, whose error is N's alone, can be
# about twice as long (their estimate is controlled as ~ h^4, so 2^4 = 16; DECAYS = 32 leaves
# a margin) for 4 gradients instead of 6. Only a DOPRI5 step of the controller's own length
# (not cut to the stability limit) switches. The steps from the next one's length on are then
# exponential, DECAY_RUN of them, after which DOPRI5 decides again; they stop earlier where
# their controller asks for a shorter step than the one DOPRI5 switched at, where one is
# rejected, where N is stiff too, or where any other step is taken. After a failure no switch
# is made for the next 8, 16, 32, ... accepted steps. Adam's sweeps never switch: there the
# forcing of m and v does not vanish, and exponential steps measured (bench grid, alpha = 0.001
# and 0.01 with beta1 = 0) lost accuracy against their estimate in the first windows, so that
# the solve was refined and cost twice as much.
DECAYS = 32.0
DECAY_RUN = 8
# An exponential step (RK4 with the decays -D y integrated exactly) is taken where the decays
# are stiff, or the whole field is, and L, N's Lipschitz estimate from the step's two midpoint
# stages, says that N is not. L sees only the directions the stages probe, and missed the
# stiffness in two cases:
# * Adam with beta1 = 0 couples the decays to N: m decays at c1 = 1/alpha and is forced by
#   g(theta), theta is driven by m, and the system's stiff eigenvalue near -c1 lies in neither
#   part. Long exponential steps failed by 10^3-10^5 tol, tiny ones were accepted, DOPRI5 cut
#   to its stability limit grew the step back, and the cycle repeated: 377 of about 1000 steps
#   rejected in the coarse solve (alpha = 0.01, beta1 = 0, beta2 = 0.999, t_end = 10).
# * AdaGrad in Rosenbrock's valley (D = 0: plain RK4 steps), the stages near the slow
#   manifold: 792 of 795 such steps rejected in the finer solve (alpha = 0.1, 200 000 steps).
# An exponential step (not one of a decay run, DECAYS) that fails by more than STIFF_SEEN,
# which no cut of the step by MIN_FACTOR mends, sets stiff_seen: until a step is non-stiff again
# (h rho <= DOPRI_STIFF), stiff steps are DOPRI5 at its stability limit where the decays are
# stiff (h max D > DOPRI_STIFF), and elsewhere taken as if L had found N stiff (SDIRK4 beyond
# 10 DOPRI_STIFF or after an SDIRK4 step, DOPRI5 at its limit below). In Adam's solves only a
# failure over stiff decays sets it: the SDIRK4 steps it would add to the coarse solve made that
# solve's error exceed its share, and a third solve followed (Rosenbrock, alpha = 0.1, 300
# steps: 5279 -> 9332 gradients). Measured: the first case nfev/K 9.93 -> 7.05 (bench_solvers
# work_breakdown; 9 steps rejected after the first window), the second 106,031 -> 78,788
# gradients (tol = 1e-6); the playground's 108 settings 983,498 -> 978,328, none changing by
# more than 5 % but AdaGrad on Rosenbrock at alpha = 0.5, 2000 steps (-6 %). With DOPRI5 at its
# limit after every such failure, that setting cost 16 % more.
STIFF_SEEN = MIN_FACTOR ** -4.0

# How a step was taken (per step, in ``methods``)
ETD = 0  # exponential RK4 (step_coefficients)
SDIRK = 1  # SDIRK4 (sdirk_step)
DOPRI = 2  # Dormand-Prince 5(4) (dopri_step)
DECAY = 3  # chosen, not recorded: exponential for the decays (DECAYS), if N is not stiff

# How vhat (the memory in the denominator) is formed, passed to every function as ``mode``
ADAM = 0  # bias-corrected v / (1 - beta2^(t/alpha)), no shift
FROZEN = 1  # v(t + alpha) with q frozen over the window: the first Picard sweep
LAGGED = 2  # v(t + alpha) with the window integral W from the previous sweep's memory P
# PREDICTED: v(t + alpha) as this sweep's memory plus the previous sweep's increment over the
# window, v(t) + P(t + alpha) - P(t): the window W (at least 0) plus c = (1 - exp(-d2 alpha))
# (v(t) - P(t)), the part of the window's error that the memory at t already shows (for an
# error in q smooth on the memory's scale, the memory has moved by about the same as the
# window would). c enters as max(c + hypot(W, c), W / 4), which is W + c to first order in c
# and keeps a quarter of the window where a large negative c would empty it (a fast
# transient: Rosenbrock's first steps, q falling by orders within a window, where vhat fell to
# W^2 / 2|c| and theta' blew up). At the fixed point v = P and c = 0; the discrete solutions
# of the two modes differ by the error of the steps, c being evaluated at stage values (2e-6 at
# h = alpha/4, 6e-11 at alpha/64, both of order 4). Measured (bench_solvers work_breakdown,
# nfev/K, LAGGED -> PREDICTED): RMSProp beta = 0 303 -> 207 at alpha = 0.1 and 90 -> 74 at
# 0.01; beta = 0.9 48 -> 50 and 16.2 -> 16.9. AdaGrad (d2 = 0) has c = 0: LAGGED sweeps.
PREDICTED = 3

# Entries of a march's ``control`` before the error floors: the state it resumes from
# (next step, last error norm, rho, L, rho of the last accepted step, implicit, the decay
# run's exact_above, run, wait and cooldown, and stiff_seen); START_STATE is that of a new sweep.
STATE = 11
START_STATE = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, np.inf, 0.0, 8.0, 0.0, 0.0])

# How a march ended (the first entry of its result)
REACHED = 0  # the last node is s_end
FULL = 1  # the node arrays are full: grow them and call again
OUT_OF_WORK = 2  # the next step would pass max_nfev
BLOW_UP = 3  # non-finite values (given nodes) or a step below MIN_STEP (adaptive)


class Coefficients(NamedTuple):
    """The constants of the system, from :class:`idebook.model.Model`."""

    n: int  # dimension of theta
    nm: int  # squared-gradient memories: 1 (norm) or n (per coordinate)
    has_m: bool  # Adam's first moment m is part of the state
    per_coordinate: bool
    alpha: float
    c1: float  # m' = c1 (g - m)
    c2: float  # v' = c2 q - d2 v
    d2: float
    decay: float  # exp(-d2 alpha)
    w0: float  # the first sweep's window weight int_0^alpha c2 exp(-d2 s) ds
    ln_beta1: float
    ln_beta2: float
    eps: float
    l2: float


class Lag(NamedTuple):
    """The previous sweep's squared-gradient memory: nodes T, values P and derivatives Pd, and
    its values Pm at the midpoints of the DOPRI steps (NaN after other steps)."""

    T: np.ndarray
    P: np.ndarray
    Pd: np.ndarray
    Pm: np.ndarray


class Scratch(NamedTuple):
    """Work space of the lagged field (:func:`scaled_field`): the lag's memory at t + alpha and
    at t (rows of ``memory``; the first then becomes the window W, and :func:`field` reads
    both as its ``lag``), and for each the fit of the lag's step it was last taken in
    (``fits[j]`` of step ``fitted[j]``, -1 for none), which :func:`memory_at` reuses while t
    stays in that step. ``D2`` is the memory's decay rate d2 per component."""

    memory: np.ndarray
    D2: np.ndarray
    fits: np.ndarray
    fitted: np.ndarray


COEFFICIENTS_TYPE = numba.typeof(Coefficients(1, 1, False, False, *(0.0,) * 10))
_F = types.float64
_I = types.int64
_B = types.boolean
_VEC = _F[::1]
_MAT = _F[:, ::1]
LAG_TYPE = numba.typeof(Lag(np.zeros(1), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))))
SCRATCH_TYPE = numba.typeof(Scratch(np.zeros((2, 1)), np.zeros(1), np.zeros((2, 1, 5)),
                                    np.zeros(2, dtype=np.int64)))


@numba.njit(cache=True, error_model="numpy")
def field(t, y, g, lag, coef, mode, out):
    """Write N(t, y), the non-linear part of y' = -D y + N(t, y), into out (g = grad f); for
    the modes LAGGED and PREDICTED, ``lag`` holds the window W and the lag's memory P(t) (rows
    of :class:`Scratch` ``.memory``, filled by :func:`scaled_field`)."""
    n = coef.n
    per = coef.per_coordinate
    iv = 2 * n if coef.has_m else n
    if coef.l2 != 0.0:
        g = g + 0.5 * coef.l2 * y[:n]
    q = 0.0
    for i in range(n):
        q += g[i] * g[i]
    for j in range(coef.nm):
        out[iv + j] = coef.c2 * (g[j] * g[j] if per else q)
    for i in range(n):
        j = i if per else 0
        qj = g[j] * g[j] if per else q
        if coef.has_m:
            out[n + i] = coef.c1 * g[i]
            mhat = bias_ratio(y[n + i], coef.c1 * g[i], t, coef.alpha, coef.ln_beta1)
        else:
            mhat = g[i]
        if mode == ADAM:
            vhat = bias_ratio(y[iv + j], coef.c2 * qj, t, coef.alpha, coef.ln_beta2)
        elif mode == FROZEN:
            vhat = coef.decay * y[iv + j] + coef.w0 * qj
        elif mode == LAGGED:
            vhat = coef.decay * y[iv + j] + lag[0, j]
        else:
            window = max(lag[0, j], 0.0)
            change = (1.0 - coef.decay) * (y[iv + j] - lag[1, j])
            vhat = coef.decay * y[iv + j] + max(change + math.hypot(window, change),
                                                0.25 * window)
        out[i] = -step_ratio(mhat, np.sqrt(max(vhat, 0.0)) + coef.eps)




@numba.njit(cache=True, error_model="numpy")
def phi12(z):
    """(phi1, phi2)(z) = ((e^z - 1)/z, (e^z - 1 - z)/z^2), accurate for small |z|."""
    if abs(z) < 1e-3:
        return 1.0 + z / 2 + z * z / 6, 0.5 + z / 6 + z * z / 24
    e = math.expm1(z)
    return e / z, (e - z) / (z * z)


@numba.njit(cache=True, error_model="numpy")
def fit_step(T, Y, dY, D, M, i, fit):
    """The part of :func:`interpolate` that depends on the step i alone, per component c: the
    coefficients of the quartic or cubic in (x - T[i]) / h, or, for an exponential component,
    (n0, a, b) of its forcing n0 + a tau + b tau^2."""
    h = T[i + 1] - T[i]
    quartic = not np.isnan(M[i, 0])
    for c in range(fit.shape[0]):
        d = D[c]
        y0, y1 = Y[i, c], Y[i + 1, c]
        if quartic or d == 0.0:
            f0, f1 = h * dY[i, c], h * dY[i + 1, c]
            fit[c, 0] = y0
            fit[c, 1] = f0
            fit[c, 2] = 3.0 * (y1 - y0) - 2.0 * f0 - f1
            fit[c, 3] = -2.0 * (y1 - y0) + f0 + f1
            fit[c, 4] = 0.0
            if quartic:  # add the bump 16 s^2 (1 - s)^2, 1 at the midpoint
                delta = 16.0 * (M[i, c] - 0.5 * (y0 + y1) - (f0 - f1) / 8.0)
                fit[c, 2] += delta
                fit[c, 3] -= 2.0 * delta
                fit[c, 4] = delta
            continue
        n0 = dY[i, c] + d * y0
        n1 = dY[i + 1, c] + d * y1
        q1, q2, q3 = phi123(-d * h)
        rest = y1 - math.exp(-d * h) * y0 - h * q1 * n0
        den = h ** 3 * (2.0 * q3 - q2)
        b = (rest - (n1 - n0) * h * q2) / den if den != 0.0 else 0.0
        fit[c, 0] = n0
        fit[c, 1] = (n1 - n0) / h - b * h
        fit[c, 2] = b


@numba.njit(cache=True, error_model="numpy", inline="always")
def evaluate(T, Y, D, M, i, x, fit, out):
    """:func:`interpolate` at x in step i, given the step's :func:`fit_step`."""
    h = T[i + 1] - T[i]
    tau = x - T[i]
    s = tau / h
    poly = not np.isnan(M[i, 0])
    for c in range(out.shape[0]):
        d = D[c]
        if poly or d == 0.0:
            out[c] = fit[c, 0] + s * (fit[c, 1] + s * (fit[c, 2] + s * (fit[c, 3]
                                                                       + s * fit[c, 4])))
        else:  # exp(z) as 1 + z phi1(z): an exp here, LLVM computed for the polynomial branch
            z = -d * tau  # too, and it made the dense output three times as slow
            p1, p2, p3 = phi123(z)
            out[c] = ((1.0 + z * p1) * Y[i, c] + tau * p1 * fit[c, 0]
                      + tau * tau * p2 * fit[c, 1] + 2.0 * tau ** 3 * p3 * fit[c, 2])


@numba.njit(cache=True, error_model="numpy")
def memory_at(lag, t, scratch, j):
    """The previous sweep's memory at time t, into ``scratch.memory[j]``: :func:`interpolate` on
    its nodes (the step's fit kept in ``scratch.fits[j]`` for the next t in the same step), and
    past its last node continued with q frozen at its last value."""
    T, P, Pd = lag.T, lag.P, lag.Pd
    out, d2 = scratch.memory[j], scratch.D2[0]
    K = T.shape[0] - 1
    if t <= T[K]:
        i = scratch.fitted[j]
        if i < 0 or not (T[i] <= t < T[i + 1]):
            i = min(max(np.searchsorted(T, t, side="right") - 1, 0), K - 1)
            if i != scratch.fitted[j]:
                fit_step(T, P, Pd, scratch.D2, lag.Pm, i, scratch.fits[j])
                scratch.fitted[j] = i
        evaluate(T, P, scratch.D2, lag.Pm, i, t, scratch.fits[j], out)
        return
    tau = t - T[K]
    for c in range(out.shape[0]):
        forcing = Pd[K, c] + d2 * P[K, c]
        if d2 > 0.0:
            decay = math.exp(-d2 * tau)
            out[c] = P[K, c] * decay + forcing * (1.0 - decay) / d2
        else:
            out[c] = P[K, c] + forcing * tau


@numba.njit(cache=True, error_model="numpy")
def clock(s, sqrt_time):
    """(t, dt/ds): the time and its derivative at the integration variable s."""
    if sqrt_time:
        return s * s, 2.0 * s
    return s, 1.0


@numba.njit(cache=True, error_model="numpy")
def scaled_field(grad, params, coef, mode, sqrt_time, lag, s, y, work, out):
    """(dt/ds) N(t(s), y), the non-linear part in the integration variable (1 gradient);
    ``work`` is the lagged field's :class:`Scratch`."""
    t, rate = clock(s, sqrt_time)
    window = work.memory[0]
    if mode >= LAGGED:
        memory_at(lag, t + coef.alpha, work, 0)
        memory_at(lag, t, work, 1)
        for c in range(coef.nm):
            window[c] -= coef.decay * work.memory[1, c]
    field(t, y, grad(y[:coef.n], params), work.memory, coef, mode, out)
    if rate != 1.0:
        for r in range(y.shape[0]):
            out[r] *= rate


@numba.njit(cache=True, error_model="numpy")
def full_field(grad, params, coef, mode, sqrt_time, lag, D, s, y, work, out):
    """dy/ds = (dt/ds) (N(t, y) - D y), the whole right-hand side (1 gradient)."""
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s, y, work, out)
    rate = clock(s, sqrt_time)[1]
    for r in range(y.shape[0]):
        out[r] -= rate * D[r] * y[r]


@numba.njit(cache=True, error_model="numpy")
def phi123(z):
    """(phi1, phi2, phi3)(z), phi_k(z) = sum_j z^j / (j + k)!: the weights of exponential
    integrators, by their series for |z| < 0.1 and in closed form beyond (where cancellation
    costs phi3 at most 1e-13 of its value)."""
    if abs(z) < 0.1:
        p1 = p2 = p3 = 0.0
        term = 1.0  # z^j / j!
        for j in range(25):
            p1 += term / (j + 1)
            p2 += term / ((j + 1) * (j + 2))
            p3 += term / ((j + 1) * (j + 2) * (j + 3))
            term *= z / (j + 1)
            if abs(term) < 1e-18:  # the sums are near 1, 1/2, 1/6: the rest is below round-off
                break
        return p1, p2, p3
    e = math.expm1(z)
    return e / z, (e - z) / (z * z), (e - z - 0.5 * z * z) / (z * z * z)


@numba.njit(cache=True, error_model="numpy")
def step_coefficients(D, sqrt_time, s, hs, C):
    """The weights of one exponential Runge-Kutta step of hs from s, per component (rows of C).

    The step is z2 = Em y + A21 k1, z3 = Em y + A32 k2, z4 = E1 y + A41 k1 + A43 k3,
    y_new = E1 y + B1 k1 + B2 (k2 + k3) + B4 k4, where k_i is the non-linear part N at the
    stages, and err = B4 (k4 - k5) with k5 = N(y_new) (the FSAL companion of order 3).

    In t it is the ETDRK4 method of Cox & Matthews (2002): the decay -D y is integrated
    exactly against a forcing that varies along the step, so a memory that follows its forcing
    (m = g, v = q, where D h is large) costs no accuracy. In s = sqrt(t), where the decay rate
    varies along the step, it is Lawson's integrating-factor RK4 (Lawson 1967). Both are the
    classical RK4 where D h is small.
    """
    Em, E1, A21, A32, A41, A43, B1, B2, B4 = C[0], C[1], C[2], C[3], C[4], C[5], C[6], C[7], C[8]
    t0 = clock(s, sqrt_time)[0]
    tm = clock(s + 0.5 * hs, sqrt_time)[0]
    t1 = clock(s + hs, sqrt_time)[0]
    for r in range(D.shape[0]):
        Em[r] = math.exp(-D[r] * (tm - t0))
        E1[r] = math.exp(-D[r] * (t1 - t0))
        if sqrt_time:
            E1m = math.exp(-D[r] * (t1 - tm))
            A21[r] = 0.5 * hs * Em[r]
            A32[r] = 0.5 * hs
            A41[r] = 0.0
            A43[r] = hs * E1m
            B1[r] = hs / 6.0 * E1[r]
            B2[r] = hs / 3.0 * E1m
            B4[r] = hs / 6.0
        else:
            half = 0.5 * hs * phi123(-D[r] * 0.5 * hs)[0]
            p1, p2, p3 = phi123(-D[r] * hs)
            A21[r] = A32[r] = half
            A41[r] = half * (Em[r] - 1.0)
            A43[r] = 2.0 * half
            B1[r] = hs * (p1 - 3.0 * p2 + 4.0 * p3)
            B2[r] = 2.0 * hs * (p2 - 2.0 * p3)
            B4[r] = hs * (4.0 * p3 - p2)


@numba.njit(cache=True, error_model="numpy")
def rk_stages(grad, params, coef, mode, sqrt_time, lag, s, hs, y, C, k1, k2, k3, z2, z3, work):
    """Stages 2 and 3 of the step of :func:`step_coefficients` from (s, y), k1 given
    (2 gradient evaluations).

    Returns hs L, the step times the Lipschitz estimate of N from the two midpoint stages.
    """
    for r in range(y.shape[0]):
        z2[r] = C[0, r] * y[r] + C[2, r] * k1[r]
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s + 0.5 * hs, z2, work, k2)
    for r in range(y.shape[0]):
        z3[r] = C[0, r] * y[r] + C[3, r] * k2[r]
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s + 0.5 * hs, z3, work, k3)
    num = 0.0
    den = 0.0
    for r in range(y.shape[0]):
        num += (k3[r] - k2[r]) ** 2
        den += (z3[r] - z2[r]) ** 2
    return hs * math.sqrt(num / den) if den > 0.0 else 0.0


@numba.njit(cache=True, error_model="numpy")
def rk_finish(grad, params, coef, mode, sqrt_time, lag, s, hs, y, C, k1, k2, k3, k4, k5, z4,
              y_new, err, work):
    """Stage 4, the update, and the FSAL stage k5 = N(s + hs, y_new) with the third-order
    companion's difference err = B4 (k4 - k5) (2 gradient evaluations)."""
    for r in range(y.shape[0]):
        z4[r] = C[1, r] * y[r] + C[4, r] * k1[r] + C[5, r] * k3[r]
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s + hs, z4, work, k4)
    for r in range(y.shape[0]):
        y_new[r] = (C[1, r] * y[r] + C[6, r] * k1[r] + C[7, r] * (k2[r] + k3[r])
                    + C[8, r] * k4[r])
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s + hs, y_new, work, k5)
    for r in range(y.shape[0]):
        err[r] = C[8, r] * (k4[r] - k5[r])


@numba.njit(cache=True, error_model="numpy")
def dopri_step(grad, params, coef, mode, sqrt_time, lag, D, s, h, y, F, z, y_new, err, err_n,
               mid, work):
    """One Dormand-Prince 5(4) step h from (s, y) of the whole field f = dy/ds, (dt/ds)(N - D y).

    F[0] = f(s, y) is given; the stages fill F[1:6], and F[6] = f(s + h, y_new) is the next
    step's first (FSAL). err is the difference from the embedded fourth-order solution, err_n
    the part of it that comes from N (the same weights on the stages' (dt/ds) N), mid the dense
    output at t + h/2 (6 gradient evaluations).

    Returns (h rho, h L): rho = |F[6] - F[5]| / |y_new - z6|, the Lipschitz estimate of f
    from the two stages at t + h, and L the same for N = f + D y.
    """
    ny = y.shape[0]
    rate = clock(s, sqrt_time)[1]
    for r in range(ny):
        err_n[r] = DOPRI_E[0] * (F[0, r] + rate * D[r] * y[r])
    for i in range(1, 6):
        for r in range(ny):
            acc = 0.0
            for j in range(i):
                acc += DOPRI_A[i, j] * F[j, r]
            z[r] = y[r] + h * acc
        full_field(grad, params, coef, mode, sqrt_time, lag, D, s + DOPRI_C[i] * h, z, work,
                   F[i])
        rate = clock(s + DOPRI_C[i] * h, sqrt_time)[1]
        for r in range(ny):
            err_n[r] += DOPRI_E[i] * (F[i, r] + rate * D[r] * z[r])
    for r in range(ny):
        acc = 0.0
        for j in range(6):
            acc += DOPRI_B[j] * F[j, r]
        y_new[r] = y[r] + h * acc
    full_field(grad, params, coef, mode, sqrt_time, lag, D, s + h, y_new, work, F[6])
    rate = clock(s + h, sqrt_time)[1]
    num = num_n = den = 0.0
    for r in range(ny):
        e = 0.0
        m = 0.0
        for j in range(7):
            e += DOPRI_E[j] * F[j, r]
            m += DOPRI_MID[j] * F[j, r]
        err[r] = h * e
        err_n[r] = h * (err_n[r] + DOPRI_E[6] * (F[6, r] + rate * D[r] * y_new[r]))
        mid[r] = y[r] + h * m
        num += (F[6, r] - F[5, r]) ** 2
        num_n += (F[6, r] - F[5, r] + rate * D[r] * (y_new[r] - z[r])) ** 2
        den += (y_new[r] - z[r]) ** 2
    if den == 0.0:
        return 0.0, 0.0
    return h * math.sqrt(num / den), h * math.sqrt(num_n / den)


@numba.njit(_I(GRAD_TYPE, _VEC, COEFFICIENTS_TYPE, _I, _B, LAG_TYPE, _VEC, _F, _VEC,
                SCRATCH_TYPE, _MAT), cache=True, error_model="numpy")
def jacobian(grad, params, coef, mode, sqrt_time, lag, D, s, y, work, J):
    """dF/dy of the whole right-hand side at (s, y) into J, by forward differences; returns
    the gradient evaluations (2 ny + 1).

    Each column is taken with a relative step, and again with a step 1000 times smaller: near
    theta* the field -g / (sqrt(vhat) + eps) turns over on the scale (sqrt(vhat) + eps) /
    |grad g|, which can be far below 1.5e-8 |theta|, and a Jacobian taken across that kink
    makes Newton diverge. Where the two differ by more than 10 %, the narrower one is kept.
    """
    ny = y.shape[0]
    f0 = np.empty(ny)
    fz = np.empty(ny)
    z = np.empty(ny)
    wide = np.empty(ny)
    full_field(grad, params, coef, mode, sqrt_time, lag, D, s, y, work, f0)
    for c in range(ny):
        delta = 1.5e-8 * max(abs(y[c]), 1e-150)  # relative: a moment may be 1e-30
        for r in range(ny):
            z[r] = y[r]
        z[c] += delta
        full_field(grad, params, coef, mode, sqrt_time, lag, D, s, z, work, fz)
        for r in range(ny):
            wide[r] = (fz[r] - f0[r]) / delta
        z[c] = y[c] + 1e-3 * delta
        full_field(grad, params, coef, mode, sqrt_time, lag, D, s, z, work, fz)
        narrow = False
        for r in range(ny):
            close = (fz[r] - f0[r]) / (1e-3 * delta)
            narrow |= abs(close - wide[r]) > 0.1 * max(abs(close), abs(wide[r]))
        for r in range(ny):
            J[r, c] = (fz[r] - f0[r]) / (1e-3 * delta) if narrow else wide[r]
    return 2 * ny + 1


@numba.njit(types.Tuple((_B, _I))(GRAD_TYPE, _VEC, COEFFICIENTS_TYPE, _I, _B, LAG_TYPE, _VEC,
                                  _F, _F, _VEC, _VEC, _VEC, _F, SCRATCH_TYPE, _MAT),
           cache=True, error_model="numpy")
def sdirk_step(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, y_new, floor, newton_tol,
               work, J):
    """One step hs from s of the L-stable, stiffly accurate SDIRK method of order 4 (Hairer &
    Wanner, Solving ODEs II, Table 6.5); simplified Newton with the Jacobian J at (s, y)
    (:func:`jacobian`, possibly taken earlier in the step), I - gamma hs J LU-factored once per
    step. Each stage starts from its predicted derivative (SDIRK_PREDICT). Newton has converged
    when no update exceeds ``newton_tol`` times |y_r| + floor_r, with the error norm's floors
    (:func:`error_norm`): a squared-gradient memory far below eps^2 does not change theta' and
    is not resolved to its own digits, which the round-off of theta would not allow. A stage's
    derivative is then taken from its equation, (Y - base) / (gamma hs), not by evaluating the
    field at Y: it costs nothing, and it does not multiply what is left of the Newton error by
    the stiffness (Hairer & Wanner II, IV.8).

    Returns (Newton converged in every stage, gradient evaluations); y_new holds the step only
    where Newton converged.
    """
    ny = y.shape[0]
    F = np.empty((5, ny))
    fz = np.empty(ny)
    W = np.eye(ny)  # the Newton matrix I - gamma hs dF/dy
    for r in range(ny):
        for c in range(ny):
            W[r, c] -= GAMMA * hs * J[r, c]
    pivots = np.empty(ny, dtype=np.int64)
    lu_factor(W, pivots)
    total = 0
    for st in range(5):
        base = y.copy()
        for j in range(st):
            for r in range(ny):
                base[r] += hs * SDIRK_A[st, j] * F[j, r]
        Yst = base.copy()
        for j in range(st):
            for r in range(ny):
                Yst[r] += GAMMA * hs * SDIRK_PREDICT[st, j] * F[j, r]
        converged = False
        for _ in range(NEWTON_ITERATIONS):
            full_field(grad, params, coef, mode, sqrt_time, lag, D, s + SDIRK_C[st] * hs, Yst,
                       work, fz)
            dY = Yst - base - GAMMA * hs * fz
            lu_solve(W, pivots, dY)
            size = 0.0
            for r in range(ny):
                Yst[r] -= dY[r]
                size = max(size, abs(dY[r]) / (abs(Yst[r]) + floor[r] + 1e-300))
            total += 1
            if size < newton_tol or not np.isfinite(size):
                converged = np.isfinite(size)
                break
        if not converged:
            return False, total
        for r in range(ny):
            F[st, r] = (Yst[r] - base[r]) / (GAMMA * hs)
            y_new[r] = Yst[r]  # stiffly accurate: the last stage is the step
    return True, total


@numba.njit(cache=True, error_model="numpy")
def sdirk_steps(grad, params, coef, mode, sqrt_time, lag, D, s, hs, parts, y, y_new, floor,
                newton_tol, work):
    """``parts`` SDIRK4 steps of hs / parts from (s, y) into y_new: (ok, gradient evaluations).

    Two halves share the Jacobian at (s, y), as in :func:`sdirk_adaptive` (a replayed step is
    two halves); the finer parts after a Newton failure take a new one each.
    """
    z = y.copy()
    J = np.empty((y.shape[0], y.shape[0]))
    nfev = 0
    for p in range(parts):
        if p == 0 or parts > 2:
            nfev += jacobian(grad, params, coef, mode, sqrt_time, lag, D, s + p * hs / parts,
                             z, work, J)
        ok, evals = sdirk_step(grad, params, coef, mode, sqrt_time, lag, D, s + p * hs / parts,
                               hs / parts, z, y_new, floor, newton_tol, work, J)
        nfev += evals
        if not ok:
            return False, nfev
        z[:] = y_new
    return True, nfev


@numba.njit(cache=True, error_model="numpy")
def sdirk_adaptive(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, k1, y_mid, y_one,
                   y_new, k5, err, floor, newton_tol, work):
    """An SDIRK4 step for the adaptive march: y_new from two steps hs/2, and k5 = N there.

    err is the larger of two estimates, per component: the step-doubling estimate
    (y_new - y_one)/15 (y_one from one step hs), and the error of the dense output at the
    midpoint, the cubic Hermite interpolant of (y, y_new) against the computed y_mid. The
    second matters because an L-stable step of order 4 takes steps on which the cubic
    interpolant is less accurate than the step. The three steps share the Jacobian at (s, y):
    simplified Newton needs only an approximation, and a second one at the midpoint cost 2 ny + 1
    gradients for fewer Newton iterations than it saved. A Newton failure leaves NaN in y_new
    and err.

    Returns the gradient evaluations.
    """
    ny = y.shape[0]
    J = np.empty((ny, ny))  # at (s, y), for the step and both halves
    nfev = jacobian(grad, params, coef, mode, sqrt_time, lag, D, s, y, work, J)
    ok, evals = sdirk_step(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, y_one, floor,
                           newton_tol, work, J)
    nfev += evals
    if ok:
        ok, evals = sdirk_step(grad, params, coef, mode, sqrt_time, lag, D, s, 0.5 * hs, y,
                               y_mid, floor, newton_tol, work, J)
        nfev += evals
    if ok:
        ok, evals = sdirk_step(grad, params, coef, mode, sqrt_time, lag, D, s + 0.5 * hs,
                               0.5 * hs, y_mid, y_new, floor, newton_tol, work, J)
        nfev += evals
    if not ok or not np.all(np.isfinite(y_new)):
        y_new[:] = np.nan
        err[:] = np.nan
        return nfev
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s + hs, y_new, work, k5)
    r0 = clock(s, sqrt_time)[1]
    r1 = clock(s + hs, sqrt_time)[1]
    for r in range(ny):
        err[r] = abs(y_new[r] - y_one[r]) / 15.0
        if D[r] == 0.0:  # interpolated by the cubic (see interpolate)
            f0 = k1[r] - r0 * D[r] * y[r]
            f1 = k5[r] - r1 * D[r] * y_new[r]
            mid = 0.5 * (y[r] + y_new[r]) + hs / 8.0 * (f0 - f1)
            err[r] = max(err[r], abs(mid - y_mid[r]))
    return nfev + 1


@numba.njit(cache=True, error_model="numpy")
def error_norm(err, y, y_new, tol, n, floor):
    """max_r |err_r| / scale_r: theta absolutely (scale tol), the moments relative to tol, each
    against max(|y_r|, |y_new_r|, floor_r). The floors: M_FLOOR times the largest |m| so far for
    the first moment, which crosses zero; eps^2 for the squared-gradient memory, below which it
    does not change sqrt(vhat) + eps."""
    norm = 0.0
    for r in range(err.shape[0]):
        if not np.isfinite(err[r]):
            return np.inf
        if err[r] == 0.0:
            continue
        scale = tol if r < n else tol * max(abs(y[r]), abs(y_new[r]), floor[r])
        norm = max(norm, abs(err[r]) / scale)
    return norm


@numba.njit(cache=True, error_model="numpy", inline="always")
def keep(control, h, err_prev, rho, lip, rho_seen, implicit, exact_above, run, wait, cooldown,
         stiff_seen):
    """Store the state a march resumes from in control[:STATE] (see :func:`march`)."""
    control[0], control[1], control[2], control[3], control[4] = h, err_prev, rho, lip, rho_seen
    control[5] = 1.0 if implicit else 0.0
    control[6], control[7], control[8], control[9] = exact_above, run, wait, cooldown
    control[10] = 1.0 if stiff_seen else 0.0


@numba.njit(types.UniTuple(_I, 6)(GRAD_TYPE, _VEC, COEFFICIENTS_TYPE, _I, _B, LAG_TYPE, _VEC,
                                  _VEC, _MAT, _MAT, _MAT, _I, _F, _VEC, _F, _I, _VEC,
                                  types.int8[::1], _B),
           cache=True, error_model="numpy", nogil=True)
def march(grad, params, coef, mode, sqrt_time, lag, D, S, Y, dY, M, count, s_end, given, tol,
          max_nfev, control, methods, replay):
    """Integrate from node ``count - 1`` of (S, Y, dY) to s_end, appending the nodes.

    Parameters
    ----------
    S, Y, dY, M : arrays with room for the nodes
        Nodes of the integration variable s, the state there and dy/ds, filled up to
        ``count``; M, per step, the state at its midpoint where it was a DOPRI step (the
        dense output, see :func:`interpolate`), NaN elsewhere.
    s_end : float
        Where to stop (adaptive steps).
    given : ndarray
        Nodes to follow without error control, from S[count - 1] (a fixed grid, or an earlier
        sweep's nodes); empty: adaptive steps to ``tol`` up to s_end.
    tol : float
        Local error tolerance of an adaptive step (theta absolute, the moments relative); with
        ``replay``, that of the sweep replayed, which a replayed step may not exceed REPLAY_LIMIT
        times (BLOW_UP).
    max_nfev : int
        No step starts that could take the gradient evaluations past it.
    control : ndarray, in and out
        [the state of the march (STATE entries: the next step, the previous error norm, the
        stiffness estimates, the implicit path, the decay run's state and a stiffness seen,
        STIFF_SEEN), then per state the smallest magnitude its error is measured against]; a
        march that returned FULL resumes where it stopped.
    methods : int8 array, in and out
        Per step (from node i), how it was taken: ETD, SDIRK or DOPRI. With ``replay`` (given
        nodes of an earlier adaptive sweep), each step is taken by the method recorded for it,
        which that sweep's error control accepted, instead of by the stiffness tests: a step
        long against the memory's decay that the exponential step integrated exactly would
        otherwise go to SDIRK4, whose stability function only approximates the decay. Other
        given nodes (the fixed grid) take the exponential RK4 step, or SDIRK4 where stiff.

    Returns
    -------
    (how it ended: REACHED, FULL, OUT_OF_WORK or BLOW_UP; nodes filled; gradient evaluations;
    rejected steps; stiff steps; stiff steps of a given grid whose Newton failed at every retry
    and were taken explicitly)
    """
    ny = Y.shape[1]
    n = coef.n
    iv = 2 * n if coef.has_m else n
    adaptive = given.shape[0] == 0
    stiff_ok = ny <= JACOBIAN_MAX
    stages = np.empty((10, ny))
    k1, k2, k3, k4, k5 = stages[0], stages[1], stages[2], stages[3], stages[4]
    z2, z3, z4, y_new, err = stages[5], stages[6], stages[7], stages[8], stages[9]
    F = np.empty((7, ny))
    mid = np.empty(ny)
    err_n = np.empty(ny)
    C = np.empty((9, ny))
    work = Scratch(np.empty((2, coef.nm)), np.full(coef.nm, coef.d2), np.empty((2, coef.nm, 5)),
                   np.full(2, -1))
    floor = control[STATE:]
    newton_tol = max(NEWTON_TOL, NEWTON_KAPPA * tol)
    fastest = np.max(D) * clock(s_end, sqrt_time)[1] if adaptive else 0.0
    # the state a march resumes from (control, see STATE)
    h, err_prev = control[0], control[1]  # the next step, the last error norm
    rho, lip = control[2], control[3]  # Lipschitz estimates of the field and of N, last step
    rho_seen = control[4]  # rho after the last accepted step (RHO_MEMORY)
    implicit = control[5] != 0.0  # since the last SDIRK4 step, every step was stiff
    exact_above = control[6]  # steps at least this long integrate the decays exactly (DECAYS)
    run = int(control[7])  # of those, how many are left before DOPRI5 decides again
    # accepted steps with no switch after a failure of the decay steps, the next and now
    wait, cooldown = int(control[8]), int(control[9])
    stiff_seen = control[10] != 0.0  # a stiffness that L missed (STIFF_SEEN)
    decays_failed = False
    i = count - 1
    s = S[i]
    y = Y[i].copy()
    scaled_field(grad, params, coef, mode, sqrt_time, lag, s, y, work, k1)
    nfev = 1
    rejected = stiff = failures = 0
    rate = clock(s, sqrt_time)[1]
    for r in range(ny):
        dY[i, r] = k1[r] - rate * D[r] * y[r]
    step = 0  # index into ``given`` of the current node
    just_rejected = False
    while True:
        if decays_failed:
            exact_above, cooldown, wait, decays_failed = np.inf, wait, 2 * wait, False
        if adaptive:
            if s >= s_end:
                break
            hs = s_end - s if s + h > s_end - 1e-12 * max(1.0, abs(s_end)) else h
        else:
            if step + 1 >= given.shape[0]:
                break
            hs = given[step + 1] - given[step]
        if i + 1 >= S.shape[0] or nfev + 6 > max_nfev:
            keep(control, h, err_prev, rho, lip, rho_seen, implicit,
                 exact_above, run, wait, cooldown, stiff_seen)
            return (FULL if i + 1 >= S.shape[0] else OUT_OF_WORK), i + 1, nfev, rejected, \
                stiff, failures
        wish = h  # the step the controller asked for, before a cut to DOPRI5's stability
        if replay:
            method = methods[i]
        elif not adaptive:
            method = ETD
        elif hs * rho <= DOPRI_STIFF and hs < exact_above:
            method = DOPRI
            implicit = stiff_seen = False
        elif hs * rho <= DOPRI_STIFF:
            method = DECAY
            implicit = stiff_seen = False
        elif hs * lip <= STIFF and not stiff_seen:
            method = ETD  # the decays are stiff, N is not: integrate them exactly
        elif ((hs * rho <= 10.0 * DOPRI_STIFF and not implicit) or not stiff_ok
              or (stiff_seen and hs * fastest > DOPRI_STIFF)):
            # moderately stiff, or stiff decays coupled to N (STIFF_SEEN): DOPRI5 at its
            # stability limit costs less than SDIRK4
            method = DOPRI
            hs = DOPRI_STIFF / rho
        else:
            method = ETD  # stiff in N: SDIRK4, through the test of the exponential path
        decay_step = method == DECAY
        if method == DOPRI:
            for r in range(ny):
                F[0, r] = dY[i, r]
            rho, lip = dopri_step(grad, params, coef, mode, sqrt_time, lag, D, s, hs, y, F, z2,
                                  y_new, err, err_n, mid, work)
            rho = max(rho / hs, RHO_MEMORY * rho_seen)
            lip /= hs
            nfev += 6
            rate = clock(s + hs, sqrt_time)[1]
            for r in range(ny):
                k5[r] = F[6, r] + rate * D[r] * y_new[r]
        else:
            step_coefficients(D, sqrt_time, s, hs, C)
            stiffness = rk_stages(grad, params, coef, mode, sqrt_time, lag, s, hs, y, C, k1,
                                  k2, k3, z2, z3, work)
            nfev += 2
            lip = stiffness / hs
            rho = max(lip + fastest, RHO_MEMORY * rho_seen)
            if decay_step and stiffness > STIFF:  # N is stiff too: take the step otherwise
                decays_failed = True
                continue
            if stiff_ok and ((method == SDIRK) if replay else (stiffness > STIFF or stiff_seen)):
                # the most an SDIRK4 step can cost: its Jacobian and five stages of Newton
                most = 2 * ny + 1 + 5 * NEWTON_ITERATIONS
                if nfev + (3 if adaptive else 2 if replay else 1) * most + 1 > max_nfev:
                    keep(control, h, err_prev, rho, lip, rho_seen, implicit,
                         exact_above, run, wait, cooldown, stiff_seen)
                    return OUT_OF_WORK, i + 1, nfev, rejected, stiff, failures
                stiff += 1
                method = SDIRK
                implicit = True
                if adaptive:
                    nfev += sdirk_adaptive(grad, params, coef, mode, sqrt_time, lag, D, s, hs,
                                           y, k1, z3, z4, y_new, k5, err, floor, newton_tol,
                                           work)
                else:  # given nodes: retry a Newton failure with 2, 4, 8 SDIRK steps
                    # (replayed steps start with the two half steps their sweep accepted)
                    for level in range(1 if replay else 0, HALVINGS + 1):
                        # (+ 2: the explicit step after a last failure, or the field at the end)
                        if nfev + 2 ** level * most + 2 > max_nfev:
                            keep(control, h, err_prev, rho, lip, rho_seen, implicit,
                                 exact_above, run, wait, cooldown, stiff_seen)
                            return OUT_OF_WORK, i + 1, nfev, rejected, stiff, failures
                        ok, evals = sdirk_steps(grad, params, coef, mode, sqrt_time, lag, D, s,
                                                hs, 2 ** level, y, y_new, floor, newton_tol,
                                                work)
                        nfev += evals
                        if ok:
                            break
                    if not ok:
                        failures += 1
                        method = ETD
            else:
                method = ETD
            if method == ETD:
                rk_finish(grad, params, coef, mode, sqrt_time, lag, s, hs, y, C, k1, k2, k3,
                          k4, k5, z4, y_new, err, work)
                nfev += 2
        finite = np.all(np.isfinite(y_new))
        if replay and method != SDIRK and finite and error_norm(
                err, y, y_new, tol, n, floor) > REPLAY_LIMIT:
            # a replayed step far outside the tolerance of the sweep that chose it: the
            # nodes do not suit this sweep (the caller adapts again)
            finite = False
        if method == SDIRK and finite and not adaptive:
            scaled_field(grad, params, coef, mode, sqrt_time, lag, s + hs, y_new, work, k5)
            nfev += 1
        if adaptive:
            norm = error_norm(err, y, y_new, tol, n, floor) if finite else np.inf
            order = 5.0 if method == DOPRI else 4.0  # of the error estimate, in h
            if norm > 1.0:
                decays_failed = decay_step
                stiff_seen = stiff_seen or (method == ETD and not decay_step and norm > STIFF_SEEN
                                            and (mode != ADAM or hs * fastest > DOPRI_STIFF))
                rejected += 1
                just_rejected = True
                h = hs * max(MIN_FACTOR, SAFETY * norm ** (-1.0 / order))
                if h < MIN_STEP * max(1.0, abs(s)):
                    keep(control, h, err_prev, rho, lip, rho_seen, implicit,
                         exact_above, run, wait, cooldown, stiff_seen)
                    return BLOW_UP, i + 1, nfev, rejected, stiff, failures
                continue
            # (an error below about MAX_FACTOR^-5 hardly limits a DOPRI5 step)
            # (and a step the stability limit cut is limited by it, not by its error)
            switch = (method == DOPRI and mode != ADAM and cooldown == 0 and hs == wish
                      and norm > MAX_FACTOR ** -5.0
                      and DECAYS * error_norm(err_n, y, y_new, tol, n, floor) < norm)
            cooldown = max(cooldown - 1, 0)
            norm = max(norm, 1e-4)
            factor = SAFETY * norm ** (-1.0 / order + PI_BETA) * err_prev ** -PI_BETA
            # no growth right after a rejection (Hairer, Norsett & Wanner I, II.4)
            h = hs * min(1.0 if just_rejected else MAX_FACTOR, max(MIN_FACTOR, factor))
            if hs < wish and s + hs < s_end:
                # cut to DOPRI5's stability limit: the controller's step grows on, so that
                # SDIRK4 takes over where the cut is severe
                h = max(h, wish * min(MAX_FACTOR, max(MIN_FACTOR, factor)))
            if switch:
                exact_above, run = h, DECAY_RUN
            elif decay_step:
                run -= 1
                decays_failed = h < exact_above
                if run == 0:
                    exact_above = np.inf
            else:  # any other step ends a run: only a DOPRI5 step starts one
                exact_above = np.inf
            just_rejected = False
            err_prev = norm
            rho_seen = rho
            s = s + hs
        elif not finite:
            return BLOW_UP, i + 1, nfev, rejected, stiff, failures
        else:
            step += 1
            s = given[step]
        methods[i] = method
        for r in range(ny):
            M[i, r] = mid[r] if method == DOPRI else np.nan
        i += 1
        S[i] = s
        rate = clock(s, sqrt_time)[1]
        for r in range(ny):
            y[r] = y_new[r]
            Y[i, r] = y_new[r]
            k1[r] = k5[r]
            dY[i, r] = k1[r] - rate * D[r] * y[r]
        for r in range(n, iv):
            floor[r] = max(floor[r], M_FLOOR * abs(y[r]))
    keep(control, h, err_prev, rho, lip, rho_seen, implicit,
         exact_above, run, wait, cooldown, stiff_seen)
    return REACHED, i + 1, nfev, rejected, stiff, failures


plain_march = plain(march)


@numba.njit(cache=True, error_model="numpy", inline="always")
def slope(T, D, M, i, x, fit, y, out):
    """The derivative of :func:`interpolate` at x in step i, given the step's
    :func:`fit_step` and the value y there (:func:`evaluate`)."""
    h = T[i + 1] - T[i]
    tau = x - T[i]
    s = tau / h
    poly = not np.isnan(M[i, 0])
    for c in range(out.shape[0]):
        if poly or D[c] == 0.0:
            out[c] = (fit[c, 1] + s * (2.0 * fit[c, 2] + s * (3.0 * fit[c, 3]
                                                               + s * 4.0 * fit[c, 4]))) / h
        else:  # y' = -d y + N(tau), N the quadratic forcing
            out[c] = -D[c] * y[c] + fit[c, 0] + tau * (fit[c, 1] + tau * fit[c, 2])


@numba.njit(cache=True, error_model="numpy")
def interpolate(T, Y, dY, D, M, x, out, slopes):
    """The state at every x[k] in [T[0], T[-1]] into out[k], from the nodes T, states Y and
    dY = dy/dt (the step of x[k] found from the last one's, and each step fitted once for a
    run of points in it), and its derivative into slopes[k] if slopes has rows.

    In a DOPRI step from node i (M[i] the state at the step's midpoint, not NaN) it is the
    step's own dense output: the quartic through both nodes' values and derivatives and the
    midpoint value, which is Dormand & Prince's continuous extension of order 4 (Shampine 1986; its
    derivative at the step's end is the FSAL stage). After other steps, a component with a
    decay rate d = D[c] > 0 is y_i exp(-d tau) plus the forcing
    N = y' + d y integrated exactly, N quadratic in tau, fitted to N at both nodes and to
    y_(i+1): exact for a memory that simply decays, and able to follow one that decays within
    the step, which a cubic is not. The window integrals P(t + alpha) - exp(-d alpha) P(t) of a
    step that contains the window are then those of that quadratic forcing. Every other
    component (theta without weight decay) is cubic Hermite.
    """
    fit = np.empty((out.shape[1], 5))
    last = T.shape[0] - 2
    i = 0
    fitted = -1
    for k in range(x.shape[0]):
        if not (T[i] <= x[k] < T[i + 1]):
            i = min(max(np.searchsorted(T, x[k], side="right") - 1, 0), last)
        if i != fitted:
            fitted = i
            fit_step(T, Y, dY, D, M, i, fit)
        evaluate(T, Y, D, M, i, x[k], fit, out[k])
        if slopes.shape[0]:
            slope(T, D, M, i, x[k], fit, out[k], slopes[k])
