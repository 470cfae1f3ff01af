"""Is success=True earned? Issue 11's fuzz: random continuous solves judged against tol/1000.

Each example is drawn by hypothesis from ``tests/truthful.py``'s parameter space and judged by
its ``judge``: a false success is success=True with an error above 10 tol anywhere on the
output times or at 64 random times of the dense output; a false divergence is a
DivergenceError where the reference stays finite. Prints one line per verdict that is not
honest and a summary table (counts, the largest error of a success, gradient evaluations).

    .venv/bin/python benchmarks/fuzz_solvers.py                 # 1000 examples
    .venv/bin/python benchmarks/fuzz_solvers.py --examples 200 --seed 3
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import time
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from truthful import FACTOR, TOL, cases, judge  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print every verdict")
    args = parser.parse_args()
    verdicts = []
    start = time.perf_counter()

    @seed(args.seed)
    @settings(max_examples=args.examples, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(cases())
    def run(case):
        began = time.perf_counter()
        if args.verbose:
            print(f"      {case}", flush=True)
        verdict = judge(case)
        verdicts.append(verdict)
        if args.verbose or verdict.kind not in ("honest", "unjudged"):
            print(f"{len(verdicts):5d} {verdict.kind:16s} error {verdict.error:9.2e} nfev "
                  f"{verdict.nfev:9d} {time.perf_counter() - began:6.2f} s  {case}",
                  flush=True)

    run()
    counts = collections.Counter(v.kind for v in verdicts)
    errors = {ok: [v.error for v in verdicts if v.kind == "honest" and v.success == ok
                   and np.isfinite(v.error)] or [math.nan] for ok in (True, False)}
    print(f"\n{len(verdicts)} examples in {time.perf_counter() - start:.0f} s (tol = {TOL:g}, "
          f"success promises an error within {FACTOR:g} tol)")
    for kind in ("honest", "false success", "false divergence", "unjudged"):
        print(f"  {kind:17s} {counts.get(kind, 0)}")
    print(f"  largest error of a success: {max(errors[True]):.3g}; of a solve that reports "
          f"failure: {max(errors[False]):.3g}")
    print(f"  gradient evaluations: median {np.median([v.nfev for v in verdicts]):.0f}, "
          f"max {max(v.nfev for v in verdicts)}")


if __name__ == "__main__":
    main()
