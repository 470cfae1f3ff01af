"""Regenerate book/data/network.npz, the runs behind the chapter book/network.ipynb.

For Adam and RMSProp with per-coordinate memory on the digits MLP (idebook.network), and for
each learning rate alpha of ALPHAS, over the horizon t in [0, T]:

* the discrete run (idebook.discrete), K = T / alpha steps;
* the paper's continuous model as an ODE (idebook.modified.ode_model, order 0: Proposition 3
  exactly for Adam; Proposition 2 with its shift t + alpha closed by Assumption 2 for RMSProp);
* the plain-ODE model of the literature (idebook.ode_models: Barakat & Bianchi for Adam,
  da Silva & Gazeau for RMSProp);
* the preconditioned sharpness along the discrete run (idebook.sharpness);
* each model solved again 100 times more accurately (REFERENCE), and the stored run's largest
  relative distance from it on the discrete times, in theta and in the loss: how many digits
  of the stored curves the solver settles.

Run from the repository root (464 s on the book's 2-core machine, with other jobs running):

    PYTHONPATH=$PWD python scripts/network_runs.py

It prints the sha256 of the file it writes and stores it in book/data/network.sha256, which
tests/test_network.py checks.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from idebook import discrete, modified, network, ode_models
from idebook.sharpness import sharpness

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "data" / "network.npz"
T = 2.0
ALPHAS = (0.00625, 0.0125, 0.025, 0.05, 0.1, 0.2)
SAMPLES, SEED, HIDDEN = 300, 0, 16
BETA1, BETA2, BETA = 0.9, 0.999, 0.9  # Adam's defaults; RMSProp's beta
SHARP_POINTS = 11  # sharpness samples along each discrete run
ODE = {"method": "RK45", "rtol": 1e-7, "atol": 1e-9}
REFERENCE = {"method": "RK45", "rtol": 1e-9, "atol": 1e-11}  # checks the ODE runs: 100x tighter


def setting() -> tuple:
    """The objective, theta_0 and each algorithm's keyword arguments."""
    X, y = network.digits(SAMPLES, SEED)
    f = network.mlp(X, y, HIDDEN)
    kwargs = {"adam": {"beta1": BETA1, "beta2": BETA2}, "rmsprop": {"beta": BETA}}
    return f, network.initial_theta(f, SEED), kwargs


def preconditioner(algorithm: str, run, k: int) -> np.ndarray:
    """sqrt(vhat_k) + eps of the discrete run at step k >= 1 (eps = 1e-8, the default)."""
    v = run.v[k] / (1.0 - BETA2 ** k) if algorithm == "adam" else run.v[k]
    return np.sqrt(v) + 1e-8


def one(f, theta0, algorithm: str, alpha: float, kwargs: dict) -> dict:
    """Every array of one (algorithm, alpha)."""
    K = int(round(T / alpha))
    d = getattr(discrete, algorithm)(f, theta0, alpha=alpha, steps=K, per_coordinate=True,
                                     **kwargs)
    out = {"loss_discrete": network.losses(f, d.theta)}
    plain = getattr(ode_models, f"{algorithm}_ode")
    for name, solve in (("ide", lambda **tol: modified.ode_model(
            algorithm, f, theta0, alpha=alpha, t_end=T, per_coordinate=True, **kwargs, **tol)),
                        ("ode", lambda **tol: plain(f, theta0, alpha=alpha, t_end=T,
                                                    per_coordinate=True, **kwargs, **tol))):
        start = time.perf_counter()
        run = solve(**ODE)
        seconds = time.perf_counter() - start
        at = run.at(d.t)
        g = network.gap(f, d, at)
        reference = solve(**REFERENCE)
        if not reference.success:
            raise RuntimeError(f"{algorithm}, alpha = {alpha}, {name}: the reference solve "
                               f"failed: {reference.message}")
        reference = reference.at(d.t)
        loss, exact = network.losses(f, at.theta), network.losses(f, reference.theta)
        theta_error = network.gap(f, reference, at).theta
        loss_error = np.max(np.abs(loss - exact) / exact)
        out[f"loss_{name}"] = loss
        out[f"gap_{name}"] = np.array([g.theta, g.loss, g.decrease])
        out[f"nfev_{name}"] = np.array([run.nfev, int(run.success)])
        out[f"error_{name}"] = np.array([theta_error, loss_error])
        print(f"  {algorithm} alpha={alpha:g} {name}: nfev {run.nfev} ({run.nfev / K:.3g} per "
              f"step), {seconds:.2f} s, theta gap {g.theta:.3g}, loss gap {g.loss:.3g}; "
              f"relative distance from the reference: theta {theta_error:.2g}, loss "
              f"{loss_error:.2g}", flush=True)
    ks = np.unique(np.linspace(1, K, SHARP_POINTS).round().astype(int))
    values, ok = [], True
    for k in ks:
        s = sharpness(f, d.theta[k], preconditioner(algorithm, d, k), seed=int(k))
        values.append(s.value)
        ok = ok and s.success
    out["sharp_k"], out["sharp"] = ks, np.array(values)
    out["sharp_ok"] = np.array([int(ok)])
    return out


def main() -> None:
    f, theta0, kwargs = setting()
    data = {"alphas": np.array(ALPHAS), "T": np.array([T]), "n": np.array([f.dim])}
    start = time.perf_counter()
    for algorithm in ("adam", "rmsprop"):
        for i, alpha in enumerate(ALPHAS):
            for key, value in one(f, theta0, algorithm, alpha, kwargs[algorithm]).items():
                data[f"{algorithm}/{i}/{key}"] = value
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **data)
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    OUT.with_suffix(".sha256").write_text(f"{digest}  {OUT.name}\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes) in "
          f"{time.perf_counter() - start:.0f} s; sha256 {digest}")


if __name__ == "__main__":
    main()
