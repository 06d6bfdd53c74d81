"""What every figure function shares: saving, the default figure conventions."""

from __future__ import annotations

import os

from matplotlib.figure import Figure

__all__ = ["save"]


def save(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    """Save ``fig`` to ``path`` when given (the suffix picks the format), and return it."""
    if path is not None:
        fig.savefig(path, bbox_inches="tight", dpi=150)
    return fig
