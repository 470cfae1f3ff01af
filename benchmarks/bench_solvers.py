"""Wall time and accuracy of the discrete run, the fast IDE solver and Algorithm 4 (method="paper").

For every configuration of the paper's Figures 1-14 (f = (theta - 4)^2, theta0 = 1) this times

* the discrete algorithm (``idebook.discrete``),
* the fast continuous solve at its default tolerance (``method="fast"``),
* Algorithm 4 as the paper describes it (``method="paper"``), on a shorter horizon where the full
  one would take minutes (the table says which),

and measures each one's max |theta - theta_ref| over its grid against a converged reference, the
fast method at ``tol=1e-11``. For the discrete run that distance is the model gap (O(alpha)), not a
solver error. Times are medians of ``--repeats`` calls after a warm-up call (a single call for the
paper method); the first calls, which compile the numba loops or load them from numba's on-disk
cache, are timed separately. Set NUMBA_CACHE_DIR to an empty directory to see true compile times.

and it measures issue 11's targets (``--targets``): gradient evaluations per step nfev/K on all
16 configurations against the targets (and, for comparison, scipy's integrators on the ODEs of
Adam and RMSProp); the continuous / discrete wall time over 150k steps at alpha = 0.01; the fast
solve of AdaGrad at alpha = 0.01 over 200k steps against the author's Algorithm 4 (1461 s
measured on 2 cores); RMSProp on Rosenbrock; the playground panel's slowest setting (its two
runs, best of 2; 10 to 200 000 steps), also with the process held to one core (simulate runs the
discrete loop on a second one), and a whole redraw of that setting, figure included.

``--resting`` measures Adam resting at theta* (f = (theta - 4)^2, theta0 = 1, t_end = 40) over
alpha and (beta1, beta2), each solve capped at RESTING_MAX_NFEV gradients: there m and theta
oscillate about theta* at a frequency sqrt(c1 f'' / (sqrt(vhat) + eps)) that grows as v decays,
damped at c1 / 2, a regime whose cost the paper's configurations (t_end <= 10) do not show.

    .venv/bin/python benchmarks/bench_solvers.py            # all 16 configurations
    .venv/bin/python benchmarks/bench_solvers.py --quick    # three short ones
    .venv/bin/python benchmarks/bench_solvers.py --targets  # issue 11's targets only
    .venv/bin/python benchmarks/bench_solvers.py --resting  # Adam resting at theta*
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from unittest import mock

import numpy as np

_START = time.perf_counter()
import idebook  # noqa: E402  (timed: it compiles or loads the discrete and fast loops)
from idebook import continuous, discrete, objectives, ode_models, settings, widgets  # noqa: E402
from idebook.results import ConvergenceWarning, DivergenceError  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _START

F = idebook.objectives.quadratic()
REFERENCE_TOL = 1e-11
REFERENCE_MAX_NFEV = 10**10  # the reference may take minutes: lift the default work limit (1e7)
PAPER_MAX_SWEEPS = 10_000  # the paper's cap is 1e10; none of these runs comes near it
# horizons (k-iterations) for the paper method where the full one would take minutes
PAPER_STEPS = {("adagrad", 0.01): 20_000}
QUICK_PAPER_STEPS = 200
NFEV_TARGETS = {0.1: 20.0, 0.01: 2.0}  # issue 11: nfev/K at the default tol, per alpha
RESTING_ALPHAS = (0.01, 0.05, 0.1, 0.3)
RESTING_BETAS = ((0.5, 0.9), (0.9, 0.999), (0.0, 0.9), (0.9, 0.9), (0.5, 0.999))
RESTING_T_END = 40.0
RESTING_MAX_NFEV = 200_000  # per solve: the worst settings would otherwise take up to 10^7


def configurations(quick: bool) -> list[tuple[str, float, dict]]:
    if quick:
        return [("adagrad", 0.1, {}), ("rmsprop", 0.1, {"beta": 0.9}),
                ("adam", 0.1, {"beta1": 0.9, "beta2": 0.999})]
    out = []
    for alpha in settings.ALPHAS:
        out.append(("adagrad", alpha, {}))
        out += [("rmsprop", alpha, {"beta": b}) for b in settings.RMSPROP_BETAS]
        out += [("adam", alpha, {"beta1": b1, "beta2": b2}) for b1, b2 in settings.ADAM_BETAS]
    return out


def timed(call: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def median_time(call: Callable[[], object], repeats: int) -> tuple[object, float]:
    times = []
    for _ in range(repeats):
        result, seconds = timed(call)
        times.append(seconds)
    return result, statistics.median(times)


def max_error(run, reference) -> float:
    return float(np.max(np.abs(run.theta - reference.at(run.t).theta)))


def first_calls() -> dict[str, float]:
    """Time of the first call of each method (numba compile or cache load), on tiny problems."""
    return {
        "discrete": timed(lambda: discrete.adam(F, 1.0, alpha=0.1, steps=5))[1],
        "fast": timed(lambda: continuous.rmsprop(F, 1.0, alpha=0.1, t_end=0.5))[1],
        "paper": timed(lambda: continuous.rmsprop(F, 1.0, alpha=0.1, t_end=0.5,
                                                  method="paper"))[1],
    }


def benchmark(name: str, alpha: float, params: dict, repeats: int, quick: bool) -> dict:
    steps = settings.HORIZONS[name][alpha]
    t_end = alpha * steps
    run_discrete = getattr(discrete, name)
    solve = getattr(continuous, name)
    row = {"name": name, "alpha": alpha, "params": params, "steps": steps}

    def fast(t: float) -> Callable[[], object]:
        return lambda: solve(F, 1.0, alpha=alpha, t_end=t, **params)

    run_discrete(F, 1.0, alpha=alpha, steps=min(steps, 10), **params)
    d, row["t_discrete"] = median_time(
        lambda: run_discrete(F, 1.0, alpha=alpha, steps=steps, **params), repeats)
    solve(F, 1.0, alpha=alpha, t_end=min(t_end, 10 * alpha), **params)
    c, row["t_fast"] = median_time(fast(t_end), repeats)
    reference = solve(F, 1.0, alpha=alpha, t_end=t_end, tol=REFERENCE_TOL,
                      max_nfev=REFERENCE_MAX_NFEV, **params)
    row.update(fast_ok=c.success, sweeps=c.iterations, nfev=c.nfev,
               nodes=c.sol.steps,
               ref_ok=reference.success, err_discrete=max_error(d, reference),
               err_fast=max_error(c, reference))

    paper_steps = min(steps, QUICK_PAPER_STEPS if quick else PAPER_STEPS.get((name, alpha), steps))
    row["paper_steps"] = paper_steps
    row["t_fast_paper_horizon"] = (row["t_fast"] if paper_steps == steps
                                   else median_time(fast(alpha * paper_steps), repeats)[1])
    start = time.perf_counter()
    try:
        p = solve(F, 1.0, alpha=alpha, t_end=alpha * paper_steps, method="paper",
                  max_sweeps=PAPER_MAX_SWEEPS, **params)
    except DivergenceError as error:
        p, row["paper_status"] = None, f"diverged at t = {error.t:.3g}"
    row["t_paper"] = time.perf_counter() - start
    if p is not None:
        row["paper_status"] = (f"ok ({p.iterations} it.)" if p.success
                               else f"failed ({p.iterations} it.)")
        row["err_paper"] = max_error(p, reference)
    return row


def fmt_ms(seconds: float) -> str:
    return f"{1e3 * seconds:.3g}"


def params_cell(params: dict) -> str:
    """A configuration's parameters as a table cell ("0.9, 0.999"; "–" for none)."""
    return ", ".join(f"{v:g}" for v in params.values()) or "–"


def markdown(rows: list[dict]) -> str:
    header = ("algorithm", "params", "α", "K", "discrete ms", "fast ms", "fast/discrete",
              "fast ok", "sweeps", "nfev/K", "steps", "err discrete", "err fast", "paper K",
              "paper s", "paper ms per k", "paper", "err paper", "paper/fast")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        params = params_cell(r["params"])
        err_paper = f"{r['err_paper']:.2g}" if "err_paper" in r else "–"
        paper_k = f"{r['paper_steps']}" + ("" if r["paper_steps"] == r["steps"] else " (short)")
        cells = (r["name"], params, f"{r['alpha']:g}", str(r["steps"]), fmt_ms(r["t_discrete"]),
                 fmt_ms(r["t_fast"]), f"{r['t_fast'] / r['t_discrete']:.3g}",
                 "yes" if r["fast_ok"] else "NO", str(r["sweeps"]),
                 f"{r['nfev'] / r['steps']:.3g}", str(r["nodes"]),
                 f"{r['err_discrete']:.2g}", f"{r['err_fast']:.2g}", paper_k,
                 f"{r['t_paper']:.3g}", f"{1e3 * r['t_paper'] / r['paper_steps']:.3g}",
                 r["paper_status"], err_paper, f"{r['t_paper'] / r['t_fast_paper_horizon']:.3g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


AUTHOR_ALGORITHM_4_SECONDS = 1461.0  # AdaGrad, alpha = 0.01, 200k steps, the author's code


def best_time(call: Callable[[], object], repeats: int = 3) -> tuple[object, float]:
    result, best = None, np.inf
    for _ in range(repeats):
        result, seconds = timed(call)
        best = min(best, seconds)
    return result, best


def work_breakdown() -> None:
    """nfev/K on the 16 configurations, and what the cheapest possible solve on the final mesh
    would cost: the last sweep of the finest solve alone (both sweeps of Adam's), without the
    Picard sweeps before it and without the second solve that the error estimate needs."""
    sweeps: list[tuple[int, bool]] = []  # (gradients, followed) of every sweep
    march = continuous._System.march

    def recording(system, *args, **kwargs):
        before = system.nfev
        segment = march(system, *args, **kwargs)
        sweeps.append((system.nfev - before, kwargs.get("follow") is not None))
        return segment

    with mock.patch.object(continuous._System, "march", recording):
        print("Gradients per step nfev/K, default tol, theta0 = 1 (one sweep: the finest solve's "
              "last adaptive sweep, the least any solve on its mesh costs):")
        print("| algorithm | params | alpha | K | nfev/K | target | sweeps | one sweep / K | "
              "steps / K |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, alpha, params in configurations(quick=False):
            K = settings.HORIZONS[name][alpha]
            sweeps.clear()
            c = getattr(continuous, name)(F, 1.0, alpha=alpha, t_end=alpha * K, **params)
            one = (sum(n for n, _ in sweeps[-2:]) if name == "adam"
                   else [n for n, followed in sweeps if not followed][-1])
            target = NFEV_TARGETS[alpha]
            met = "met" if c.nfev / K <= target else "missed"
            print(f"| {name} | {params_cell(params)} | {alpha:g} | {K} | {c.nfev / K:.3g} | "
                  f"<= {target:g}: {met} | {c.iterations} | {one / K:.3g} | "
                  f"{c.sol.steps / K:.3g} |")


def library_integrators() -> None:
    """The cost of scipy's integrators on the ODEs of Adam and RMSProp, for comparison with
    nfev/K above.

    Adam's Prop. 3, which has no shift, is an ODE; Barakat and Bianchi's ODE
    (``ode_models.adam_ode``) is the same system with bias factors 1 - exp(-(1 - beta) t/alpha)
    for 1 - beta^(t/alpha), a difference confined to the first windows. RMSProp's ODE of
    Belotto da Silva and Gazeau (``ode_models.rmsprop_ode``) is Prop. 2 without its shift
    t + alpha: another model, so its counts are a yardstick for the shifted one, not a bound.
    For each integrator: nfev/K of one pass (the first of the two each of those functions
    makes, whose theta it reports) at the loosest rtol = atol = 10^-e (e = 5..13) whose theta
    on the grid t = alpha k is within the default tol of a DOP853 pass at 1e-13: an oracle's
    choice, with no error estimate, so a lower bound on the cost of any solve of that ODE
    that estimates its own error. For LSODA also two passes, at that tolerance and 16 times
    it, which an estimate from their difference (the fast solver's) would need. Radau's counts
    leave out its finite-difference Jacobians, which scipy evaluates without counting them; a
    pass that diverges, or stops at ode_models.MAX_NFEV right-hand sides, counts as one that
    missed (a dash: every tolerance missed)."""
    passes: list[int] = []  # right-hand sides of each pass of scipy's integrator
    march = ode_models._march

    def recording(*args, **kwargs):
        solution = march(*args, **kwargs)
        passes.append(solution.nfev)
        return solution

    def one_pass(solve: Callable, tolerance: float) -> tuple[object | None, int]:
        passes.clear()
        try:
            run = solve(rtol=tolerance, atol=tolerance)
        except DivergenceError:
            return None, 0
        return run, passes[0]

    methods = ("RK45", "DOP853", "Radau", "LSODA")
    odes = {"adam": ode_models.adam_ode, "rmsprop": ode_models.rmsprop_ode}
    print(f"scipy's integrators on the ODEs of Adam (Barakat-Bianchi) and RMSProp (da Silva-"
          f"Gazeau): nfev/K of one pass within tol = {continuous.TOL:g} of the reference on the "
          f"grid (and its rtol = atol):")
    print("| ODE | params | alpha | K | " + " | ".join(methods) + " | LSODA, two passes |")
    print("|---|---|---|---|" + "---|" * (len(methods) + 1))
    with warnings.catch_warnings():
        # expected here: a pass that fails, and a tolerance that scipy raises to its floor
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "At least one element of `rtol` is too small")
        with mock.patch.object(ode_models, "_march", recording):
            for name, alpha, params in configurations(quick=False):
                if name not in odes:
                    continue
                K = settings.HORIZONS[name][alpha]
                solve = partial(odes[name], F, 1.0, alpha=alpha, t_end=alpha * K, **params)
                exact = solve(method="DOP853", rtol=1e-13, atol=1e-15)
                if not exact.success:
                    raise RuntimeError(f"{name} {params} alpha = {alpha}: the reference failed")
                reference = exact.theta
                cells, two = [], "–"
                for method in methods:
                    cells.append("–")
                    for e in range(5, 14):
                        run, nfev = one_pass(partial(solve, method=method), 10.0**-e)
                        if (run is not None and run.success
                                and np.max(np.abs(run.theta - reference)) <= continuous.TOL):
                            cells[-1] = f"{nfev / K:.3g} (1e-{e})"
                            if method == "LSODA":
                                _, coarse = one_pass(partial(solve, method=method), 16 * 10.0**-e)
                                two = f"{(nfev + coarse) / K:.3g}"
                            break
                print(f"| {name} | {params_cell(params)} | {alpha:g} | {K} | "
                      + " | ".join(cells) + f" | {two} |")


PLAYGROUND = [(alg, obj, alpha, steps) for alg in widgets.ALGORITHMS for obj in widgets.OBJECTIVES
              for alpha in (1e-3, 0.01, 0.1, 0.5) for steps in (10, 300, 2000, 20_000, 200_000)]


def slowest_playground_setting() -> tuple[float, tuple]:
    """The playground settings' largest time of widgets.simulate (best of 2), and its setting."""
    worst = (0.0, ())
    for alg, obj, alpha, steps in PLAYGROUND:
        try:
            _, seconds = best_time(partial(widgets.simulate, alg, objective=obj, alpha=alpha,
                                           steps=steps), repeats=2)
        except Exception as error:  # noqa: BLE001 (a divergence is reported, not fatal)
            print(f"  playground {alg} {obj} alpha={alpha} steps={steps}: {error!r}")
            continue
        worst = max(worst, (seconds, (alg, obj, alpha, steps)))
    return worst


def targets() -> None:
    """Issue 11's targets: nfev/K (work_breakdown, library_integrators), wall times, Rosenbrock,
    the playground."""
    work_breakdown()
    library_integrators()
    print("Continuous / discrete wall time, 150k steps at alpha = 0.01 (best of 3, one process):")
    for name, params in (("adagrad", {}), ("rmsprop", {"beta": 0.9}),
                         ("adam", {"beta1": 0.9, "beta2": 0.999})):
        getattr(continuous, name)(F, 1.0, alpha=0.01, t_end=0.1, **params)
        getattr(discrete, name)(F, 1.0, alpha=0.01, steps=10, **params)
        _, t_d = best_time(partial(getattr(discrete, name), F, 1.0, alpha=0.01,
                                   steps=150_000, **params))
        c, t_c = best_time(partial(getattr(continuous, name), F, 1.0, alpha=0.01, t_end=1500.0,
                                   **params))
        print(f"  {name:8s} discrete {1e3 * t_d:8.3g} ms  continuous {1e3 * t_c:8.3g} ms  "
              f"ratio {t_c / t_d:6.3g}  nfev/K {c.nfev / 150_000:.3g}  success {c.success}")
    c, t_c = best_time(lambda: continuous.adagrad(F, 1.0, alpha=0.01, t_end=2000.0))
    print(f"AdaGrad, alpha = 0.01, 200k steps: fast {t_c:.3g} s (success {c.success}, nfev "
          f"{c.nfev}); the author's Algorithm 4 {AUTHOR_ALGORITHM_4_SECONDS:g} s: "
          f"{AUTHOR_ALGORITHM_4_SECONDS / t_c:.3g} times faster")
    rosen, start = objectives.rosenbrock(), np.array([-1.2, 1.0])
    print("RMSProp (beta = 0.9) on Rosenbrock from (-1.2, 1), tol = 1e-6:")
    for alpha, steps in ((0.01, 3000), (0.05, 300)):
        for per_coordinate in (False, True):
            c, seconds = timed(partial(continuous.rmsprop, rosen, start, alpha=alpha, beta=0.9,
                                       t_end=alpha * steps, tol=1e-6,
                                       per_coordinate=per_coordinate))
            print(f"  alpha {alpha:g}, {steps} steps, per_coordinate={per_coordinate}: "
                  f"success {c.success}, nfev/K {c.nfev / steps:.3g}, {seconds:.3g} s, "
                  f"theta(t_end) = {np.round(c.theta[-1], 4)}")
    seconds, worst = slowest_playground_setting()
    print(f"Playground: slowest of {len(PLAYGROUND)} settings (discrete + continuous, best of 2): "
          f"{1e3 * seconds:.3g} ms at {worst}")
    alg, obj, alpha, steps = worst
    panel = widgets.panel(alg, objective=obj, alpha=alpha, steps=steps, choose=True)
    _, seconds = best_time(panel.redraw)
    print(f"  its whole redraw, the figure (PNG) included: {1e3 * seconds:.3g} ms")
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if len(cores) > 1:  # simulate runs the discrete loop on a second core: take it away
        os.sched_setaffinity(0, {min(cores)})
        try:
            seconds, worst = slowest_playground_setting()
        finally:
            os.sched_setaffinity(0, cores)
        print(f"  on one core: slowest {1e3 * seconds:.3g} ms at {worst}")


def resting() -> None:
    """Adam on the quadratic to t_end = 40 from theta0 = 1, at the default tol, for every alpha
    in RESTING_ALPHAS and (beta1, beta2) in RESTING_BETAS: gradients, success and wall time, each
    solve stopped at RESTING_MAX_NFEV gradients (status -5)."""
    print(f"Adam resting at theta* (quadratic, theta0 = 1, t_end = {RESTING_T_END:g}, default "
          f"tol, max_nfev = {RESTING_MAX_NFEV}):")
    print("| alpha | beta1, beta2 | nfev | success | status | seconds |")
    print("|---|---|---|---|---|---|")
    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a run stopped at the cap warns
        for alpha in RESTING_ALPHAS:
            for beta1, beta2 in RESTING_BETAS:
                c, seconds = timed(partial(continuous.adam, F, 1.0, alpha=alpha, beta1=beta1,
                                           beta2=beta2, t_end=RESTING_T_END,
                                           max_nfev=RESTING_MAX_NFEV))
                if not c.success:
                    failed.append((alpha, beta1, beta2))
                print(f"| {alpha:g} | {beta1:g}, {beta2:g} | {c.nfev} | {c.success} | "
                      f"{c.status} | {seconds:.3g} |")
    print(f"{len(failed)} of {len(RESTING_ALPHAS) * len(RESTING_BETAS)} not solved within "
          f"max_nfev: {failed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"three configurations at alpha = 0.1, paper method on "
                             f"{QUICK_PAPER_STEPS} k-iterations")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per fast measurement (median; default 3)")
    parser.add_argument("--targets", action="store_true", help="issue 11's targets only")
    parser.add_argument("--resting", action="store_true", help="Adam resting at theta* only")
    args = parser.parse_args()
    if args.targets:
        targets()
        return
    if args.resting:
        resting()
        return
    first = first_calls()
    rows = []
    for name, alpha, params in configurations(args.quick):
        rows.append(benchmark(name, alpha, params, max(args.repeats, 1), args.quick))
        print(f"done: {name} alpha={alpha:g} {params}", flush=True)
    print()
    print(markdown(rows))
    print()
    print(f"Excluded above: import idebook {IMPORT_SECONDS:.3g} s (compiles or loads the "
          f"discrete and fast loops); first calls "
          + ", ".join(f"{k} {v:.3g} s" for k, v in first.items())
          + " (the paper one imports idebook._paper and compiles or loads its loops)")
    print(f"err = max_k |theta_k - theta_ref(alpha k)|, theta_ref = fast method at "
          f"tol = {REFERENCE_TOL:g}; K = k-iterations; steps = the fast solve's adaptive steps; "
          f"paper/fast = time ratio on the paper run's horizon.")
    if not all(r["ref_ok"] for r in rows):
        print("WARNING: the reference did not converge for: "
              + ", ".join(f"{r['name']} {r['alpha']:g} {r['params']}" for r in rows
                          if not r["ref_ok"]))


if __name__ == "__main__":
    main()
