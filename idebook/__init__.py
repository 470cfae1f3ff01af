"""idebook: AdaGrad, RMSProp and Adam, as discrete algorithms and as integro-differential equations.

The executable companion to C. Heredia, "Modeling AdaGrad, RMSProp, and Adam with
Integro-Differential Equations" (arXiv 2411.09734).
"""

from . import analysis, continuous, discrete, memory, objectives, ode_models, settings
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
    "objectives",
    "ode_models",
    "settings",
    "solve_ide",
]
