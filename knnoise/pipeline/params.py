"""A chapter's parameters as one read-only value: :class:`Params`.

The setup cell of a chapter (:func:`knnoise.book.setup`) validates the notebook's parameters against its
schema (:mod:`knnoise.book.chapters`) and returns them as a :class:`Params`; the chapter's functions in
:mod:`knnoise.experiments` take that object and read it by attribute (``p.ks``, ``p.seed``). The schema's
derived parts are built once, there, as typed values:

- ``p.data``: a :class:`~knnoise.pipeline.data_spec.DataSpec` (dataset, data_path, subsets, seed), whose
  ``load()`` gives the chapter's dataset;
- ``p.schedule``: a :class:`knnoise.dnn.TrainOptions` (model, epochs, lr, lr_halving_every; the torch
  thread count resolved in the kernel that ran the setup cell), passed down whole to the training loop.

Outside a notebook, :func:`knnoise.book.parameters` makes the same object from a notebook's defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Params"]


class Params(Mapping[str, Any]):
    """A notebook's validated parameters, by attribute (``p.ks``); read-only.

    Also a mapping (``p["ks"]``, ``dict(p)``), so that the values can be listed and shown.
    """

    __slots__ = ("_notebook", "_values")

    def __init__(self, notebook: str, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_notebook", notebook)
        object.__setattr__(self, "_values", dict(values))

    @property
    def notebook(self) -> str:
        """The chapter's notebook name (``"fig4_dnn"``)."""
        return self._notebook

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # the slots themselves (before they are set, e.g. while unpickling)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"{self._notebook} has no parameter {name!r}; it has {', '.join(self._values)}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._notebook}'s parameters are read-only: set them in its parameters cell")

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._values]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (and copied) as its notebook and values: a process pool or Dask worker can receive it."""
        return (Params, (self._notebook, self._values))

    def __repr__(self) -> str:
        return f"Params({self._notebook!r}, {self._values!r})"
