"""Execute every notebook of book/ in a fresh kernel; compare its outputs with the committed ones.

Run by ``make binder-check`` with the Python of a new virtual environment built from
requirements.txt alone, as Binder builds it (``IDEBOOK_EXECUTE_NOTEBOOKS=1``), and on "another
machine" (``IDEBOOK_OTHER_LIBM=1``: exp, log, pow, ... with other last bits, from
``tests/libm_jitter.c``; see the Makefile's OTHER_MACHINE):

* every cell of every notebook runs (including cells nbval would skip), and any error fails,
  except in cells tagged ``raises-exception``;
* the outputs that nbval checks (not in cells tagged ``nbval-ignore-output`` or
  ``nbval-skip``; text and HTML, not images; after the regexes of nbval_sanitize.cfg) must
  equal the committed outputs. nbval (``make unit``) executes each notebook once against the
  same committed outputs, so this second execution checks that the outputs are reproducible.

Skipped unless IDEBOOK_EXECUTE_NOTEBOOKS=1, so a plain ``pytest tests`` does not run it.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from notebook_outputs import UNCHECKED_TAGS, sanitize  # the cells nbval does not compare

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(p for p in BOOK.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TIMEOUT = 300  # seconds per cell; the longest cell of the book takes about 60 s
# nbclient sometimes waits out a whole cell timeout in a cell with ipywidgets (an `interact`
# cell stalled in 23 of 150 runs with both cores busy; ipykernel 6.31 and 7.4 alike), and the
# cell then completes normally (jupyter/nbclient#312). The kernel's reply has arrived, but
# pyzmq's asyncio poll misses the socket's wake-up; at the poll's timeout it polls once more
# without waiting (zmq/_future.py, _AsyncPoller.poll) and finds the reply. So the client here
# waits for a message in slices of SLICE seconds (_sliced_wait_client): a missed wake-up costs
# at most SLICE. A notebook whose execution does raise CellTimeoutError is executed once more
# in a fresh kernel; a notebook that times out twice, or raises, fails.
SLICE = 1.0
ATTEMPTS = 2

# What nbval leaves out of its comparison (nbval.plugin.IPyNbFile.skip_compare, no --nbdime).
SKIP_COMPARE = {"metadata", "traceback", "prompt_number", "output_type", "name",
                "execution_count", "application/vnd.jupyter.widget-view+json",
                "image/png", "image/jpeg"}

pytestmark = pytest.mark.skipif(
    os.environ.get("IDEBOOK_EXECUTE_NOTEBOOKS") != "1",
    reason="executes every notebook; run by `make binder-check` (IDEBOOK_EXECUTE_NOTEBOOKS=1)")


def _flatten(outputs: list) -> dict[str, list]:
    """nbval's view of a cell's outputs: key (stream name or MIME type) -> sanitised values."""
    from nbval.plugin import coalesce_streams

    def clean(value):
        if isinstance(value, list):  # multi-line strings as stored in .ipynb
            value = "".join(value)
        return sanitize(value) if isinstance(value, str) else value

    flat: dict[str, list] = defaultdict(list)
    for out in coalesce_streams([_node(o) for o in outputs]):
        if out.output_type == "stream":
            flat[f"stream:{out.name}"].append(clean(out.text))
            continue
        for key, value in out.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(clean(data))
            else:
                flat[key].append(clean(value))
    return dict(flat)


def _node(output):
    import copy

    import nbformat

    return nbformat.from_dict(copy.deepcopy(dict(output)))


def _wait_in_slices(channel, rescued: list[float]) -> None:
    """Make ``channel.get_msg(timeout)`` poll in slices of at most SLICE seconds.

    A slice that ends with a message after waiting all of SLICE found it in pyzmq's last poll
    at the slice's end: a missed wake-up (or a message that arrived just then). Its wait is
    appended to ``rescued``.
    """
    from queue import Empty

    get_msg = channel.get_msg

    async def get_msg_in_slices(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            wait = min(SLICE, left)
            start = time.monotonic()
            try:
                msg = await get_msg(timeout=wait)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if wait == SLICE and time.monotonic() - start >= 0.99 * SLICE:
                rescued.append(time.monotonic() - start)
            return msg

    channel.get_msg = get_msg_in_slices


def _sliced_wait_client(nb, **kwargs):
    """An nbclient NotebookClient whose shell and IOPub channels wait in slices (SLICE)."""
    from nbclient import NotebookClient

    class SlicedWaitClient(NotebookClient):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self.rescued: list[float] = []

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            self.rescued = []
            _wait_in_slices(kc.shell_channel, self.rescued)
            _wait_in_slices(kc.iopub_channel, self.rescued)
            return kc

    return SlicedWaitClient(nb, **kwargs)


# Run in the kernel: its environment, the share of exp(x) that differ from the correctly
# rounded value (about 0.003 with glibc, about 2/3 with tests/libm_jitter.c preloaded), the same
# share for numpy's exp, and the target numpy dispatches its float64 exp to: on x86-64 with
# AVX-512 (X86_V4, AVX512_*) numpy has an exp of its own, elsewhere it calls the C library's.
PROBE = """
import math, sys
from decimal import Decimal, localcontext
import numpy as np
from numpy.lib.introspect import opt_func_info
import idebook
with localcontext() as ctx:
    ctx.prec = 40
    xs = [0.001 + 0.0137 * i for i in range(300)]
    exact = np.array([float(Decimal(x).exp()) for x in xs])
other = np.mean(np.array([math.exp(x) for x in xs]) != exact)
numpy_other = np.mean(np.exp(np.array(xs)) != exact)
target = opt_func_info(func_name="^exp$", signature="float64")["exp"]["dd"]["current"]
print(sys.prefix, idebook.__file__, other, numpy_other, target)
"""


def _check_kernel_env(client) -> None:
    """The kernel must be the Python of the environment under test (IDEBOOK_EXPECT_PREFIX),
    and, with IDEBOOK_OTHER_LIBM=1, its exp must be another C library's (libm_jitter.c)."""
    expected = os.environ.get("IDEBOOK_EXPECT_PREFIX")
    if not expected:
        return
    import nbformat

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    _sliced_wait_client(probe, kernel_name=client.kernel_name, timeout=120).execute()
    prefix, module, other, numpy_other, target = probe.cells[0].outputs[0]["text"].split()
    assert Path(prefix).resolve() == Path(expected).resolve(), (
        f"the kernel runs in {prefix}, not in the environment under test {expected}")
    assert Path(module).resolve().is_relative_to(ROOT), f"idebook imported from {module}"
    if os.environ.get("IDEBOOK_OTHER_LIBM") == "1":
        assert float(other) > 0.3, (
            f"the kernel's exp is not another C library's: only {float(other):.3f} of its "
            f"values differ from the correctly rounded ones (is libm_jitter.so preloaded?)")
        if "512" not in target and target != "X86_V4":
            assert float(numpy_other) > 0.3, (
                f"numpy's exp ({target}) does not call the C library's: only "
                f"{float(numpy_other):.3f} of its values differ from the correctly rounded ones")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_and_reproduces_its_outputs(path: Path) -> None:
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    committed = nbformat.read(path, as_version=4)
    for attempt in range(1, ATTEMPTS + 1):
        fresh = nbformat.read(path, as_version=4)
        client = _sliced_wait_client(fresh, kernel_name="python3", timeout=TIMEOUT,
                                     resources={"metadata": {"path": str(BOOK)}})
        if path == NOTEBOOKS[0] and attempt == 1:
            _check_kernel_env(client)
        start = time.perf_counter()
        try:
            client.execute()
            break
        except CellExecutionError as err:
            pytest.fail(f"{path.name}: a cell raised an error in a fresh kernel "
                        f"({sys.prefix}):\n{err}")
        except CellTimeoutError as err:
            print(f"{path.name}: attempt {attempt} timed out after {TIMEOUT} s in a cell: {err}")
            if attempt == ATTEMPTS:
                pytest.fail(f"{path.name}: a cell timed out ({TIMEOUT} s) in {ATTEMPTS} fresh "
                            f"kernels")
    elapsed = time.perf_counter() - start
    print(f"{path.name}: executed in {elapsed:.1f} s (attempt {attempt}); waits that found "
          f"a message only at a slice's end (a missed wake-up, or a message that came just "
          f"then): {len(client.rescued)}")

    problems = []
    for i, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True)):
        if old.cell_type != "code":
            continue
        tags = set(old.get("metadata", {}).get("tags", []))
        errors = [o for o in new.outputs if o.output_type == "error"]
        if errors and "raises-exception" not in tags:
            problems.append(f"cell {i}: {errors[0].ename}: {errors[0].evalue}")
            continue
        if tags & UNCHECKED_TAGS or old.get("execution_count") is None:
            continue
        want, got = _flatten(old.outputs), _flatten(new.outputs)
        if want != got:
            problems.append(_diff(i, old.source, want, got))
    assert not problems, f"{path.name}: outputs differ from the committed notebook\n" + \
        "\n".join(problems)


def _diff(i: int, source: str, want: dict, got: dict) -> str:
    import difflib

    lines = [f"--- cell {i}: {source.splitlines()[0] if source else ''}"]
    for key in sorted(set(want) | set(got)):
        a, b = want.get(key, []), got.get(key, [])
        if a == b:
            continue
        lines.append(f"  [{key}]")
        diff = difflib.unified_diff("\n".join(map(str, a)).splitlines(),
                                    "\n".join(map(str, b)).splitlines(),
                                    "committed", "executed", lineterm="", n=1)
        lines += ["    " + d for d in list(diff)[:40]]
    return "\n".join(lines)
