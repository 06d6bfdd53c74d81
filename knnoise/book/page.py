"""What a chapter page calls: ``p = setup("fig3_knn", globals())``, then ``glue_figure``/``glue_values``.

:func:`setup` (the hidden setup cell) validates the notebook's parameters against its schema
(:mod:`knnoise.book.chapters`), fills the derived defaults, prints the parameter table and returns the values
as a read-only :class:`~knnoise.pipeline.params.Params` (``p.ks``; ``p.data`` and ``p.schedule`` typed, built
once); :func:`parameters` makes the same object outside a notebook, from its defaults. The runner checks the
same schema before starting a kernel; this cell gives the same checks (and messages) to those who run a
notebook with papermill directly, whose ``-p`` values arrive as strings (read as YAML). :func:`glue_figure`
and :func:`glue_values` hand figures and numbers to the prose (myst-nb glue), so that no number in the text is
typed in; ``glue_figure`` also writes the tidy table the figure plots (read from the figure, or
``data=frame``), offered beside it (``{download}`Data (CSV) <results/<chapter>/<name>.csv>```): the runner
points ``$KNNOISE_FIGURE_DATA`` at ``book/executed/results/<chapter>``. Outside the runner (the variable
unset) no file is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from knnoise.book.chapters import schema as _schema
from knnoise.book.schema import ParameterError, derive, validate
from knnoise.pipeline.params import Params

__all__ = ["FIGURE_DATA_ENV", "Params", "glue_figure", "glue_values", "parameters", "setup"]

FIGURE_DATA_ENV = "KNNOISE_FIGURE_DATA"
_GLUE_NAME = re.compile(r"[A-Za-z0-9_-]+")  # also a file name: no folder, no dot


def _shown(value: Any) -> str:
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def _print_table(values: Mapping[str, Any], names: list[str]) -> None:
    width = max(map(len, names), default=0) + 2
    print("Parameters:")
    for name in names:
        print(f"  {name:<{width}}{_shown(values[name])}")


def setup(notebook: str, namespace: Mapping[str, Any], *, show: bool = True) -> Params:
    """Validate a notebook's parameters, fill derived defaults and print them.

    Parameters
    ----------
    notebook : str
        The notebook's name in ``_toc.yml`` (``"fig3_knn"``).
    namespace : mapping
        Where its parameters are defined: the notebook's ``globals()`` after the parameters cell (and
        papermill's injected one). Only the names of the notebook's schema are read.
    show : bool
        Print the parameter table (name, value), in the order of the parameters cell.

    Returns
    -------
    Params
        Every parameter, converted (``ks`` a sorted list of int, noise levels float arrays, None replaced
        by its derived default), plus the schema's derived entries: ``data``
        (:class:`~knnoise.pipeline.data_spec.DataSpec`) and ``schedule`` (:class:`knnoise.dnn.TrainOptions`)
        where the chapter declares those groups.

    Raises
    ------
    ParameterError
        ``"<notebook>: <name> must be <allowed>, got <value>"``; also when the notebook has no schema or
        does not define one of the schema's names.
    """
    schema = _schema(notebook)
    missing = [name for name in schema.params if name not in namespace]
    if missing:
        raise ParameterError(
            f"{notebook}: {', '.join(missing)} not defined; its schema (knnoise/book/chapters.py) declares "
            f"{', '.join(schema.params)}: does the parameters cell define them?"
        )
    order = {name: i for i, name in enumerate(namespace)}  # the parameters cell's order
    names = sorted(schema.params, key=order.__getitem__)
    values = validate(schema, {name: namespace[name] for name in names})
    if show:
        _print_table(values, names)
    return Params(notebook, {**values, **derive(schema, values)})


def parameters(notebook: str, *, root: str | os.PathLike[str] | None = None, **values: Any) -> Params:
    """A chapter's parameters as its setup cell makes them, outside a notebook: the defaults of its
    parameters cell (``notebooks/<notebook>.py`` under the book's ``root``) with ``values`` over them.

    For calling a chapter's functions from Python, and for tests:
    ``fig4_dnn.run(parameters("fig4_dnn", dataset="digits", epochs=1))``. ``p.schedule`` pins torch's
    thread count of the moment (set ``torch.set_num_threads`` first if you want another).

    Raises
    ------
    ParameterError
        As :func:`setup` does, and for a name the notebook's schema does not declare.
    BookError
        No book (``_toc.yml``) at ``root`` or above the working folder.
    """
    from knnoise.book.profiles import find_root, notebook_parameters

    declared = _schema(notebook).params
    unknown = [name for name in values if name not in declared]
    if unknown:
        raise ParameterError(
            f"{notebook}: unknown parameter {unknown[0]!r}; the schema declares {', '.join(declared)}"
        )
    source = find_root(root) / "notebooks" / f"{notebook}.py"
    if not source.is_file():
        raise ParameterError(f"{notebook}: no notebook {source}")
    defaults = {name: parameter.default for name, parameter in notebook_parameters(source).items()}
    return setup(notebook, {**defaults, **values}, show=False)


def glue_figure(name: str, fig: Any, data: Any = None) -> None:
    """Glue a matplotlib figure as ``name`` for a ``{glue:figure}`` directive; it is not shown in place.

    The figure is closed, so the inline backend does not display it again at the end of the cell.

    Parameters
    ----------
    name : str
        The glue name; also the data file's name, ``<name>.csv``.
    fig : matplotlib.figure.Figure
    data : pandas.DataFrame, optional
        What the figure plots, tidy (one row per plotted value, a column per variable); by default read
        from the figure's own artists (:func:`knnoise.book.figdata.figure_data`). Written atomically to
        ``$KNNOISE_FIGURE_DATA/<name>.csv`` when the runner sets that folder.

    Returns nothing, so that a call ending a notebook cell shows nothing in the page.

    Raises
    ------
    ValueError
        ``name`` is not a plain file name (letters, digits, ``_`` and ``-``: no folder, not empty).
    TypeError
        ``fig`` is not a matplotlib Figure, or ``data`` not a DataFrame.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.figure import Figure
    from myst_nb import glue

    if not isinstance(name, str) or not _GLUE_NAME.fullmatch(name):
        raise ValueError(
            f"glue_figure: name must be letters, digits, '_' or '-' (it names the data file <name>.csv), "
            f"got {name!r}"
        )
    if not isinstance(fig, Figure):
        raise TypeError(f"glue_figure: fig must be a matplotlib Figure, got {type(fig).__name__}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"glue_figure: data must be a pandas DataFrame or None, got {type(data).__name__}")
    glue(name, fig, display=False)
    plt.close(fig)
    folder = os.environ.get(FIGURE_DATA_ENV)
    if folder:
        from knnoise._io import write_text
        from knnoise.book.figdata import figure_data

        table = figure_data(fig) if data is None else data
        write_text(Path(folder) / f"{name}.csv", table.to_csv(index=False))


def glue_values(**values: Any) -> None:
    """Glue each value (numpy scalars as Python numbers) for ``{glue:text}`name:.3f``` without showing it."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value.item() if isinstance(value, np.generic) else value, display=False)
