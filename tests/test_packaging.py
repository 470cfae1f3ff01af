"""idebook as a package outside the book: dependencies, the "book" extra, Python versions.

``pip install idebook`` gives the numerics (numpy, scipy, numba); ``pip install "idebook[book]"``
adds what idebook.plotting, idebook.widgets, idebook.modified.symbolic_modified and
idebook.network.digits import (matplotlib, ipywidgets, sympy, scikit-learn). requirements.txt
pins both sets for the book. The slow test installs the package into a new virtual environment
with the core dependencies only.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import idebook

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = [Requirement(line) for line in PROJECT["dependencies"]]
BOOK = [Requirement(line) for line in PROJECT["optional-dependencies"]["book"]]
INSTALL_BOOK = 'pip install "idebook[book]"'
# What needs the extra, the statement that uses it, and the package (its first import).
OPTIONAL = [
    ("idebook.plotting", "import idebook.plotting", "matplotlib"),
    ("idebook.widgets", "import idebook.widgets", "ipywidgets"),
    ("idebook.modified.symbolic_modified",
     "import idebook.modified; idebook.modified.symbolic_modified('gd')", "sympy"),
    ("idebook.network.digits", "import idebook.network; idebook.network.digits()", "sklearn"),
]


def pinned() -> dict[str, Version]:
    """Name -> version of every ``name==version`` line of requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#")[0].strip())
        if match:
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def runtime_version() -> Version:
    """The Python version of runtime.txt (``python-3.11``: Binder's format)."""
    text = (ROOT / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+(?:\.\d+)?)", text)
    assert match, f"runtime.txt must read python-X.Y, got {text!r}"
    return Version(match[1])


def imported_packages() -> set[str]:
    """Top-level names of every absolute import in idebook/, lazy ones included, minus the
    standard library and idebook itself."""
    names = set()
    for path in (ROOT / "idebook").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "idebook"}


def test_requirements_txt_pins_the_dependencies_and_the_book_extra():
    pins = pinned()
    for requirement in CORE + BOOK:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"requirements.txt does not pin {name}"
        assert requirement.specifier.contains(pins[name]), (
            f"requirements.txt pins {name}=={pins[name]}, outside pyproject's {requirement}")


def test_requirements_txt_installs_the_package_last():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")][-1] == "-e ."


def test_every_imported_package_is_declared():
    """Each package idebook imports comes from a core dependency or the book extra, directly or
    as one of their own requirements (cycler, from matplotlib)."""
    declared = {canonicalize_name(r.name) for r in CORE + BOOK}
    covered = set(declared)
    for name in declared:
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                covered.add(canonicalize_name(requirement.name))
    distributions = metadata.packages_distributions()
    imported = imported_packages()
    assert {"numpy", "matplotlib", "ipywidgets", "sympy"} <= imported  # the scan sees them
    for module in sorted(imported):
        names = {canonicalize_name(d) for d in distributions.get(module, [module])}
        assert names & covered, f"idebook imports {module}, which pyproject.toml does not declare"


def test_import_idebook_loads_no_optional_package(tmp_path):
    code = ("import sys, idebook; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'ipywidgets', 'sympy', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path)  # not the repository root: import the idebook under test
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("needs", "statement", "package"), OPTIONAL)
def test_a_missing_extra_package_is_named_with_the_extra(needs, statement, package, tmp_path):
    """With the package blocked (None in sys.modules: importing it raises ModuleNotFoundError),
    the book's module or function raises an ImportError naming the package and the extra."""
    code = f"import sys; sys.modules[{package!r}] = None\n{statement}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: "), out.stderr
    assert f"{needs} needs {package}" in last and INSTALL_BOOK in last, last


def test_requires_python_admits_runtime_txt_and_the_pinned_packages():
    """Binder's Python (runtime.txt) satisfies pyproject's requires-python and the
    Requires-Python of the pinned numpy, scipy, numba and matplotlib."""
    python = runtime_version()
    assert SpecifierSet(PROJECT["requires-python"]).contains(python), (
        f"runtime.txt's Python {python} is outside requires-python {PROJECT['requires-python']}")
    pins = pinned()
    for name in ("numpy", "scipy", "numba", "matplotlib"):
        installed = Version(metadata.version(name))
        assert installed == pins[name], (
            f"{name} {installed} is installed, requirements.txt pins {pins[name]}: reinstall")
        requires = metadata.metadata(name).get("Requires-Python") or ""
        assert SpecifierSet(requires).contains(python), (
            f"{name}=={installed} requires Python {requires}, runtime.txt gives {python}")


CLEAN_VENV_SCRIPT = """
import importlib.util, json, sys
import idebook
run = idebook.discrete.adagrad(idebook.objectives.quadratic(4.0), 1.0, alpha=0.1, steps=5)
report = {"file": idebook.__file__, "theta": run.theta.ravel().tolist(),
          "extras": [m for m in ("matplotlib", "ipywidgets", "sympy", "sklearn")
                     if importlib.util.find_spec(m) is not None]}
for needs, statement in json.loads(sys.argv[1]):
    try:
        exec(statement)
        report[needs] = "ran"
    except ImportError as error:
        report[needs] = f"{type(error).__name__}: {error}"
print(json.dumps(report))
"""


@pytest.mark.slow
def test_clean_install_with_the_core_dependencies_only(tmp_path):
    """``pip install`` of a copy of the package (so no build/ lands in the repository) into a new
    venv; then idebook imports and runs, and the book's modules name the missing extra."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "idebook", source / "idebook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    # The venv gets no pip of its own (ensurepip takes ~20 s): the running pip installs into it
    # (pip --python, pip >= 22.3), without byte-compiling (half of the install time).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install",
                    "--disable-pip-version-check", "-q", "--no-compile", str(source)],
                   check=True, env=env, cwd=tmp_path)
    statements = json.dumps([(needs, statement) for needs, statement, _ in OPTIONAL])
    out = subprocess.run([python, "-c", CLEAN_VENV_SCRIPT, statements], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True)
    report = json.loads(out.stdout)

    assert report["file"].startswith(str(venv)), report["file"]  # the installed copy
    assert report["extras"] == []  # none of the book's packages came with the core install
    expected = idebook.discrete.adagrad(idebook.objectives.quadratic(4.0), 1.0, alpha=0.1,
                                        steps=5).theta.ravel()
    np.testing.assert_allclose(report["theta"], expected, rtol=1e-14, atol=0)
    for needs, _, package in OPTIONAL:
        message = report[needs]
        assert message.startswith("ModuleNotFoundError: "), message
        assert f"{needs} needs {package}" in message and INSTALL_BOOK in message, message
