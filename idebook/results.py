"""What every solver returns, and the errors and warnings it raises.

The result contract follows scipy's ``OdeResult`` (what ``scipy.integrate.solve_ivp`` returns):

* results are frozen dataclasses built by keyword only; identity comparison (``==`` compares
  identity, ``hash`` works), and every result pickles;
* ``success`` (bool), ``status`` (int, meanings in :data:`STATUS`) and ``message`` (str) say how
  the solve ended, ``nfev`` counts gradient (or right-hand side) evaluations;
* ``sol(t)`` is the dense output, a picklable object; on runs ``at(t)`` is the same call.

The error policy is the package's (see ``idebook``'s docstring): bad input raises ``ValueError`` (or
``TypeError`` for a callable of the wrong type) naming the parameter and the allowed range; a
state that becomes NaN or inf raises :class:`DivergenceError`; a solver that stops before
meeting its tolerance returns ``success=False``, ``status < 0`` and a message, and emits
:class:`ConvergenceWarning`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The meanings of ``status``; negative values are failures (``success`` is then False).
STATUS = {
    0: "the solve reached its tolerance (or ran every step, for the discrete algorithms)",
    -1: "the fixed-point iteration stopped at its cap (max_sweeps, max_iterations) before "
        "reaching its tolerance",
    -2: "the fixed-point iteration stalled or diverged (Algorithm 4's smoothing factor "
        "exhausted, solve_ide's residual growing)",
    -3: "the estimated discretisation error exceeds the tolerance at the finest step or mesh "
        "allowed",
    -4: "the time stepper failed (an ODE integrator's step size underflow, a Newton solve)",
    -5: "the work limit (max_nfev gradient evaluations) would have been exceeded before the "
        "tolerance was reached; the result is the last solve that finished (NaN if none)",
}


class DivergenceError(FloatingPointError):
    """The state of a run became NaN or inf.

    Parameters
    ----------
    message : str
        What diverged, where, and the last finite state.
    k : int, optional
        The discrete step at which it happened (discrete algorithms), else None.
    t : float, optional
        The time at which it happened (continuous solvers), else None.
    """

    def __init__(self, message: str, *, k: int | None = None, t: float | None = None) -> None:
        super().__init__(message)
        self.k = k
        self.t = t

    @property
    def where(self) -> float | None:
        """``k`` if set, else ``t`` (kept for code written before the two were separate)."""
        return self.k if self.k is not None else self.t


class ConvergenceWarning(RuntimeWarning):
    """An iterative solver stopped before reaching its tolerance (``success=False``)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Trajectory:
    """Samples of an optimiser's state at times ``t`` (t = alpha k, Assumption 1).

    Attributes
    ----------
    t : numpy.ndarray
        The times, shape (K,).
    theta : numpy.ndarray
        The iterates, or the continuous solution at ``t``, shape (K, n).
    G, v, m : numpy.ndarray or None
        The memory states: G (AdaGrad), v (RMSProp, Adam) and m (Adam), of shape (K, 1) for
        the paper's norm memory ||g||^2 and (K, n) per coordinate; None for a state the
        algorithm does not have.
    """

    t: np.ndarray
    theta: np.ndarray
    G: np.ndarray | None = None
    v: np.ndarray | None = None
    m: np.ndarray | None = None

    @property
    def memory(self) -> dict[str, np.ndarray]:
        """The memory states this algorithm has, by name."""
        return {k: a for k, a in (("G", self.G), ("v", self.v), ("m", self.m)) if a is not None}


@dataclass(frozen=True, kw_only=True, eq=False)
class _Run(Trajectory):
    """The fields every run reports besides its samples."""

    algorithm: str
    alpha: float
    params: dict
    success: bool
    status: int
    message: str
    nfev: int
    sol: object

    def at(self, t: float | np.ndarray) -> Trajectory:
        """The state at times ``t`` (the dense output ``sol``; same call).

        Raises
        ------
        ValueError
            A time that is not finite or lies outside the run's span.
        """
        return self.sol(t)


@dataclass(frozen=True, kw_only=True, eq=False)
class DiscreteRun(_Run):
    """Iterates theta_k, k = 0..steps, of Algorithm 1, 2 or 3 of the paper.

    Attributes
    ----------
    t, theta, G, v, m
        As in :class:`Trajectory`, at t = alpha k.
    algorithm : str
        ``"gd"``, ``"adagrad"``, ``"rmsprop"`` or ``"adam"``.
    alpha : float
        Learning rate.
    params : dict
        The other parameters (beta or beta1, beta2, weight_decay, l2; eps, per_coordinate).
    success, status, message
        Always True, 0 and "The run completed." (a failing run raises
        :class:`DivergenceError`).
    nfev : int
        Gradient evaluations, = steps.
    sol : StepSamples
        ``sol(t)`` returns the iterates at times t = alpha k (there is nothing in between).
    """

    @property
    def k(self) -> np.ndarray:
        """The iteration counter k = t / alpha."""
        return np.arange(self.t.size)


@dataclass(frozen=True, kw_only=True, eq=False)
class ContinuousRun(_Run):
    """A solution of Proposition 1, 2 or 3 (or an ODE form) at t = alpha k, with diagnostics.

    Attributes
    ----------
    t, theta, G, v, m
        As in :class:`Trajectory`, at the times of :func:`idebook.model.output_times`.
    algorithm, alpha, params
        As in :class:`DiscreteRun`.
    method : str
        ``"fast"``, ``"paper"`` (Algorithm 4), or ``"ode-order0"``/``"ode-order1"``
        (:func:`idebook.modified.ode_model`).
    success, status, message
        How the solve ended; ``status`` as in :data:`STATUS`.
    iterations : int
        How many times the solver applied its fixed-point map: Picard sweeps, summed over the
        grids tried (fast); applications of Algorithm 4's map T (paper); 0 for the ODE forms,
        which need no fixed point.
    residual : float
        The final value of the fixed-point iteration's own stopping criterion, the one its
        tolerance applies to: the sup-norm over the grid of the change in theta between the
        last two sweeps (fast; 0 for Adam, which needs one sweep); Algorithm 4's sum over the
        grid of squared differences (paper, tolerance 1e-4); 0 for the ODE forms.
    error_estimate : float
        The estimated discretisation error of theta (max over the grid): the Richardson
        estimate from two step sizes (fast); NaN where the method gives none (paper, ODE).
    substeps : int
        Time steps per alpha (fast: N; paper: 1; ODE forms: 0, adaptive steps).
    nfev : int
        Gradient evaluations (fast, paper) or right-hand side evaluations (ODE forms).
    sol : collections.abc.Callable
        Dense output: ``sol(t)`` is a :class:`Trajectory` at any times in [0, t_end].
    """

    method: str
    iterations: int
    residual: float
    error_estimate: float
    substeps: int


def check_times(t: float | np.ndarray, start: float, end: float) -> np.ndarray:
    """Times at which a dense output is evaluated, as a 1-D float array.

    Parameters
    ----------
    t : float or numpy.ndarray
        The times asked for.
    start, end : float
        The span of the solution (``end`` with a relative slack of 1e-12).

    Returns
    -------
    numpy.ndarray
        ``t`` as a 1-D float array.

    Raises
    ------
    ValueError
        A time that is not finite or lies outside [start, end].
    """
    times = np.atleast_1d(np.asarray(t, dtype=float))
    if not np.all(np.isfinite(times)):
        raise ValueError(f"t must be finite, got {t!r}")
    if np.any(times < start) or np.any(times > end * (1 + 1e-12)):
        raise ValueError(f"t must lie in [{start}, t_end] = [{start}, {end}]")
    return times


@dataclass(frozen=True, kw_only=True, eq=False)
class StepSamples:
    """The dense output of a discrete run: its states at the step times t = alpha k only.

    Attributes
    ----------
    samples : Trajectory
        The run's states.
    alpha : float
        The step.
    """

    samples: Trajectory
    alpha: float

    def __call__(self, t: float | np.ndarray) -> Trajectory:
        """The states at times ``t``, each within 1e-9 alpha of a step time alpha k."""
        times = check_times(t, 0.0, float(self.samples.t[-1]))
        k = np.rint(times / self.alpha).astype(np.int64)
        if np.any(np.abs(times - self.alpha * k) > 1e-9 * self.alpha):
            raise ValueError("t must be step times alpha k: a discrete run has no values between")
        s = self.samples
        return Trajectory(t=times, theta=s.theta[k],
                          **{name: a[k] for name, a in s.memory.items()})
