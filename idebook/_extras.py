"""The ``book`` extra: the optional packages of the book's modules, and the error without them.

``pip install idebook`` installs the numerics (numpy, scipy, numba); :mod:`idebook.plotting`,
:mod:`idebook.widgets`, :func:`idebook.modified.symbolic_modified` and
:func:`idebook.network.digits` also need matplotlib, ipywidgets, sympy and scikit-learn,
declared in pyproject.toml as the extra ``book``.
"""

INSTALL = 'pip install "idebook[book]"'


def missing_extra(error: ModuleNotFoundError, needed_by: str) -> ModuleNotFoundError:
    """The error to raise when ``needed_by`` cannot import a package of the ``book`` extra.

    Parameters
    ----------
    error : the ``ModuleNotFoundError`` of the failed import (``error.name`` is the package).
    needed_by : the module or function that needs it, e.g. ``"idebook.widgets"``.

    Returns
    -------
    ModuleNotFoundError
        Naming the missing package and the extra, to be raised ``from error``.
    """
    return ModuleNotFoundError(
        f"{needed_by} needs {error.name}, which is not installed; it comes with idebook's "
        f"optional dependencies for the book: {INSTALL}",
        name=error.name,
    )
