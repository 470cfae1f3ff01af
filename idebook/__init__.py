"""idebook: AdaGrad, RMSProp and Adam, as discrete algorithms and as integro-differential equations.

The executable companion to C. Heredia, "Modeling AdaGrad, RMSProp, and Adam with
Integro-Differential Equations" (arXiv 2411.09734).

One model
    :func:`idebook.model.build` validates an optimiser's arguments once and returns a
    :class:`~idebook.model.Model` with every derived coefficient; :mod:`idebook.discrete`,
    :mod:`idebook.continuous` (both methods), :mod:`idebook.modified` and
    :mod:`idebook.stochastic` read it.

One result contract (modelled on scipy's ``OdeResult``)
    Every solver returns a frozen dataclass built by keyword only (``==`` is identity, ``hash``
    works, and it pickles) with ``success``, ``status`` (0 on success, negative on failure; the
    codes are :data:`idebook.results.STATUS`), ``message``, ``nfev`` and a picklable dense
    output ``sol(t)`` (``at(t)`` on runs is the same call).

One error policy, for :mod:`~idebook.discrete`, :mod:`~idebook.continuous` (both methods),
:mod:`~idebook.modified`, :mod:`~idebook.stochastic` and :func:`solve_ide`
    * Bad input raises ``ValueError`` naming the parameter and the allowed range
      (``alpha must be > 0, got -0.1``); a callable of the wrong type, such as a gradient that
      returns None, raises ``TypeError``.
    * A state that becomes NaN or inf raises :class:`DivergenceError` (a
      ``FloatingPointError``), whose ``k`` is the discrete step and ``t`` the time (the one that
      does not apply is None).
    * A solver that stops before meeting its tolerance returns its result with
      ``success=False``, ``status < 0`` and a message, and emits :class:`ConvergenceWarning`.
    * With ``eps = 0``, a zero gradient gives a zero step (0/0 is defined as 0) in every method.
"""

from . import analysis, continuous, discrete, memory, model, objectives, ode_models, settings
from .ide import IDEResult, solve_ide
from .results import ContinuousRun, ConvergenceWarning, DiscreteRun, DivergenceError, Trajectory

__all__ = [
    "ContinuousRun",
    "ConvergenceWarning",
    "DiscreteRun",
    "DivergenceError",
    "IDEResult",
    "Trajectory",
    "analysis",
    "continuous",
    "discrete",
    "memory",
    "model",
    "objectives",
    "ode_models",
    "settings",
    "solve_ide",
]
