"""One check, shared by the result tests: a run survives pickling, dense output included."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np


def assert_round_trips(run, times: np.ndarray):
    """Pickle ``run`` and load it back: every field and ``sol(times)`` must be unchanged, and
    ``at`` must be the same call as ``sol``. Returns the loaded copy."""
    back = pickle.loads(pickle.dumps(run))
    assert type(back) is type(run)
    for f in dataclasses.fields(run):
        a, b = getattr(run, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif f.name != "sol":
            assert a == b or (a != a and b != b), f.name  # NaN error estimates
    for state in ("theta", "G", "v", "m"):
        x, y = getattr(run.sol(times), state), getattr(back.sol(times), state)
        assert (x is None and y is None) or np.array_equal(x, y), state
    np.testing.assert_array_equal(run.at(times).theta, run.sol(times).theta)
    return back
