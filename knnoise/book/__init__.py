"""The book layer: parameter schemas, profiles, papermill execution, the build and the runner's CLI.

``python -m knnoise.book --profile NAME [--only NOTEBOOK ...] [-p KEY VALUE ...] [--no-build] [--list]
[--force]`` executes the ``_toc.yml`` notebooks (``notebooks/<name>.py`` -> ``book/executed/<name>.ipynb``)
for a parameter profile (``notebooks/params/<name>.yml``), after validating every merged value against its
notebook's schema, then builds the book strictly. A notebook whose code, merged parameters and ``knnoise``
package are unchanged since its last successful run is restored from the execution cache instead
(:mod:`~knnoise.book.cache`, jupyter-cache); ``--force`` executes every one. Inside a notebook,
``p = setup("<name>", globals())`` validates the same schema, fills derived defaults and prints the
parameters; ``glue_figure`` and ``glue_values`` hand figures and numbers to the prose; ``record(...)`` adds
a row to the intro's claims table.

Modules: :mod:`~knnoise.book.schema` (constraints, the validator), :mod:`~knnoise.book.chapters` (each
notebook's schema), :mod:`~knnoise.book.page` (``setup``, ``parameters``), :mod:`~knnoise.book.claims`
(``record``),
:mod:`~knnoise.book.profiles` (toc, profiles, merging), :mod:`~knnoise.book.execute` (papermill),
:mod:`~knnoise.book.kernel` (the kernel's environment and manager),
:mod:`~knnoise.book.partials` (the locked partial notebook of a running execution),
:mod:`~knnoise.book.publish` (a run's figure data and notebook renamed in), :mod:`~knnoise.book.runs`
(how each chapter ran), :mod:`~knnoise.book.cache` and :mod:`~knnoise.book.cache_key` (the execution
cache and its key), :mod:`~knnoise.book.build` (jupyter-book),
:mod:`~knnoise.book.preflight` (the runner's checks before any kernel starts) and
:mod:`~knnoise.book.cli` (the runner).
"""

from knnoise.book.build import build_book
from knnoise.book.claims import record
from knnoise.book.cli import RunResult, main, run
from knnoise.book.errors import BookError, BuildFailed, NotebookFailed, ParameterError
from knnoise.book.execute import execute_notebook
from knnoise.book.page import Params, glue_figure, glue_values, parameters, setup
from knnoise.book.profiles import (
    Merged,
    Parameter,
    Profile,
    available_profiles,
    find_root,
    load_profile,
    merge_parameters,
    notebook_parameters,
    parse_cli_value,
    read_source,
    toc_notebooks,
)

__all__ = [
    "BookError",
    "BuildFailed",
    "Merged",
    "NotebookFailed",
    "Parameter",
    "ParameterError",
    "Params",
    "Profile",
    "RunResult",
    "available_profiles",
    "build_book",
    "execute_notebook",
    "find_root",
    "glue_figure",
    "glue_values",
    "load_profile",
    "main",
    "merge_parameters",
    "notebook_parameters",
    "parameters",
    "parse_cli_value",
    "read_source",
    "record",
    "run",
    "setup",
    "toc_notebooks",
]
