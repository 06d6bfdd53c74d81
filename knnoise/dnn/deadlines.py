"""A wall-time deadline for the training runs of a block: :func:`deadline` and :class:`OutOfTime`.

A run in short leases (a GPU for minutes, :mod:`knnoise.pipeline.grid`) must not start what it cannot finish.
Inside ``with deadline(seconds):`` every training run of this thread (lone or a stacked group; a task on
another thread or a Dask worker opens its own block) measures its first epoch and, after every epoch, projects
when it would end: if that is past the deadline it stops at once with :class:`OutOfTime`, which carries the
measured time, so the caller can size what it starts next. Nothing is cached or returned for the stopped
networks; no number of a run that finishes changes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from knnoise._checks import check_number

__all__ = ["OutOfTime", "deadline"]

_DEADLINE: ContextVar[float | None] = ContextVar("_DEADLINE", default=None)  # a time.monotonic() value


class OutOfTime(RuntimeError):
    """A training run stopped because it would end after the :func:`deadline`.

    Attributes
    ----------
    networks : int
        Networks in the stopped run (a lone network: 1).
    epochs_done, epochs : int
        Epochs trained before it stopped, and the epochs it was to train.
    seconds : float
        Wall time of the ``epochs_done`` epochs.
    """

    def __init__(self, networks: int, epochs_done: int, epochs: int, seconds: float) -> None:
        self.networks, self.epochs_done, self.epochs, self.seconds = networks, epochs_done, epochs, seconds
        super().__init__(
            f"training of {networks} network(s) stopped after epoch {epochs_done} of {epochs}: at "
            f"{seconds / epochs_done:.1f} s an epoch it would end after the deadline"
        )

    def __reduce__(self) -> tuple:  # pickles whole (a run on a Dask worker, a copy)
        return OutOfTime, (self.networks, self.epochs_done, self.epochs, self.seconds)

    @property
    def seconds_per_network(self) -> float:
        """The whole run's projected wall time per network, as the deadline projects it: all ``epochs``
        and one more (the outputs), at the mean epoch time measured."""
        return self.seconds / self.epochs_done * (self.epochs + 1) / self.networks


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Training runs in this block, in this thread, stop with :class:`OutOfTime` as soon as they would end
    more than ``seconds`` from now (None: no new deadline). Inside another block the earlier of the two
    deadlines holds.

    Raises
    ------
    TypeError, ValueError
        ``seconds`` is not a finite number >= 0 or None.
    """
    seconds = check_number("seconds", seconds, low=0.0, allow_none=True)
    outer = _DEADLINE.get()
    at = outer if seconds is None else _clock() + seconds
    at = at if outer is None else min(at, outer)
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _clock() -> float:
    """The deadline's clock (:func:`time.monotonic`); a run's start is read from it too."""
    return time.monotonic()


def _check_time(networks: int, epochs_done: int, epochs: int, started: float) -> None:
    """Raise :class:`OutOfTime` when the remaining epochs (and one more for the outputs) at the mean epoch
    time so far would end after the block's deadline."""
    at = _DEADLINE.get()
    if at is None or epochs_done >= epochs:
        return
    now = _clock()
    per_epoch = (now - started) / epochs_done
    if now + per_epoch * (epochs - epochs_done + 1) > at:
        raise OutOfTime(networks, epochs_done, epochs, now - started)
