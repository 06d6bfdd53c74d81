"""``python -m knnoise predict``: a network's accuracy under label noise from its clean softmax.

Reads the files, checks every input (each error names its argument and file) and that the outputs can
be written before computing, prints the curves as a compact table per noise model (a row per gamma, a
column per K), and on request writes the tidy curves (``--out``), draws them (``--plot``) and fits the
effective K to measured accuracies (``--measured``). The outputs are rendered into temporary files beside
their targets and renamed into place together only when all of them succeeded: all or none. Errors print
``error: ...`` and exit with status 2 (``python -m knnoise`` turns Ctrl-C into exit status 130).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from knnoise._checks import TIE_MODES, check_ks, check_noise_levels
from knnoise._outputs import check_writable, staged_files
from knnoise.predict.curves import Prediction, predict
from knnoise.predict.inputs import (
    NOISE_NAMES,
    corruptions,
    probability_rows,
    read_labels,
    read_measured,
    split_measured,
)
from knnoise.predict.readers import Table, read_table, select_columns, split_spec
from knnoise.theory import MAX_K

__all__ = ["CommandError", "add_parser", "parse_values", "run"]

DESCRIPTION = """\
Predict a network's accuracy under label noise from its softmax on clean test data (Drory et al., BMVC
2021): C_s = the softmax of a network trained on clean labels, q = (1-gamma) C_s + gamma C_s P (Eq. 3),
and the expected K-NN accuracy for each K (Theorem 1, Eq. 1)."""

EPILOG = """\
files: .npy, .npz (FILE.npz:KEY picks an array; without a key it must hold one), .csv/.tsv/.txt
  (rows of probabilities; labels one per line, or a column FILE.csv:COLUMN by header name or 0-based
  index; a header line is optional; the class columns of a table that holds more, e.g. a label column:
  FILE.csv:p0-p9, FILE.csv:p0,p1,p2 or --class-columns p), torch .pt/.pth (a tensor, or a dict with
  one: FILE.pt:KEY picks one; read with weights_only=True). Rows off from 1 only by their dtype's
  rounding (bfloat16/float16/float32), or by the digits a text file was written with, are renormalised
  in float64.
outputs: --out, --json and --plot are checked writable before any computing and written all or none.
  --out CSV: noise,gamma,K,accuracy,curve (curve: "asked" for --ks, "fitted" at each fitted K);
  --out FILE.json or --json FILE: the fit per noise model (K, interval, rms, residuals, edge) and curves.
lists: values (0 0.2 0.5, or 0,0.2,0.5) and ranges START:STOP:STEP with STOP included (0:1:0.05);
  for --ks also START:STOP (step 1), e.g. --ks 1 5 11:51:10.
--measured: a tidy noise,gamma,accuracy[,repeat] table (with a header; each noise model is fitted to
  its own rows), or gamma,accuracy rows for a single --noise (a header is optional); several rows per
  gamma are repeats. The fit searches K = 1..max(201, max --ks) unless --fit-ks says otherwise, and warns
  when the best K is on the edge of that range.

examples:
  python -m knnoise predict --softmax softmax.npy --labels labels.npy --noise uniform flip \\
      --gammas 0:1:0.05 --ks 1 5 25 51 --out curves.csv --plot curves.png
  python -m knnoise predict --softmax preds.csv:p0-p9 --labels preds.csv:label --noise uniform flip \\
      --measured measured.csv --out curves.csv --json fit.json"""

_RANGE = re.compile(r"^([^:]+):([^:]+)(?::([^:]+))?$")


class CommandError(Exception):
    """A bad argument or file: the CLI prints ``error: <message>`` and exits with status 2."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``predict`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "predict", help="predict a network's accuracy under label noise from its clean softmax",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument(
        "--softmax",
        required=True,
        metavar="FILE",
        help="(M, L) softmax of the clean network (FILE.csv:p0-p9 picks the class columns)",
    )
    p.add_argument("--class-columns", metavar="COLUMNS",
                   help="the class columns of --softmax: a prefix (p: p0, p1, ...), a range p0-p9 or names "
                        "a,b,c; for a table that also holds labels")  # fmt: skip
    p.add_argument("--labels", required=True, metavar="FILE", help="the M true labels, in 0..L-1")
    p.add_argument("--noise", required=True, nargs="+", metavar="NOISE",
                   help="uniform, symmetric, flip, or an (L, L) corruption-matrix FILE with rows "
                        "P[y, y_noisy]; several give a table (and a panel) each")  # fmt: skip
    p.add_argument("--gammas", nargs="+", default=["0:1:0.05"], metavar="G",
                   help="noise levels in [0, 1] (default: 0:1:0.05)")  # fmt: skip
    p.add_argument("--ks", nargs="+", default=["1", "5", "25", "51"], metavar="K",
                   help="neighbourhood sizes (default: 1 5 25 51)")  # fmt: skip
    p.add_argument("--ties", choices=TIE_MODES, default="strict",
                   help="a tie for first is wrong (strict, the paper), broken at random, or to the lowest "
                        "label (default: strict)")  # fmt: skip
    p.add_argument(
        "--out",
        metavar="CSV",
        help="write the tidy curves: noise,gamma,K,accuracy,curve (FILE.json: as --json)",
    )
    p.add_argument("--json", metavar="FILE", help="write the fits per noise model and the curves as JSON")
    p.add_argument("--plot", metavar="IMAGE", help="draw the curves (.png, .svg, .pdf, ...)")
    p.add_argument(
        "--measured",
        metavar="FILE",
        help="measured accuracies (noise,gamma,accuracy[,repeat]): fit the effective K",
    )
    p.add_argument("--fit-ks", nargs="+", metavar="K",
                   help="the K the fit searches (default: 1 to max(201, max --ks))")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar (shown on long runs)")
    p.set_defaults(run=run)
    return p


def _number(name: str, text: str, kind: type) -> float | int:
    try:
        return kind(text)
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise CommandError(f"{name} must be {what} or START:STOP[:STEP] ranges, got {text!r}") from None


def _range(name: str, text: str, kind: type) -> list[float | int]:
    match = _RANGE.match(text)
    if match is None or (match.group(3) is None and kind is float):
        form = "START:STOP:STEP" if kind is float else "START:STOP or START:STOP:STEP"
        raise CommandError(f"{name} ranges must be {form} (STOP included), got {text!r}")
    start, stop = (_number(name, t, kind) for t in match.group(1, 2))
    step = _number(name, match.group(3), kind) if match.group(3) is not None else 1
    if step <= 0 or stop < start:
        raise CommandError(f"{name} ranges must have START <= STOP and STEP > 0, got {text!r}")
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    values = start + step * np.arange(count)
    return [int(v) for v in values] if kind is int else [round(float(v), 12) for v in values]


def parse_values(name: str, texts: list[str], kind: type = float) -> list[float | int]:
    """``["0", "0.2,0.5", "0.6:1:0.1"]`` -> every value, in order (ranges include STOP)."""
    values: list[float | int] = []
    for text in texts:
        for token in filter(None, (t.strip() for t in text.split(","))):
            values += _range(name, token, kind) if ":" in token else [_number(name, token, kind)]
    if not values:
        raise CommandError(f"{name} must list at least one value, got {texts!r}")
    return values


@dataclass(frozen=True)
class _Inputs:
    softmax: np.ndarray
    labels: np.ndarray
    noise: dict[str, np.ndarray]
    gammas: np.ndarray
    ks: np.ndarray
    fit_ks: np.ndarray | None
    measured: pd.DataFrame | None
    summary: str


def _summary(source: str, table: Table, clean: np.ndarray) -> str:
    """One line on the softmax read: its size, its dtype and how far its row sums were from 1."""
    deviation = float(np.max(np.abs(np.asarray(table.values, dtype=np.float64).sum(axis=1) - 1.0)))
    kind = "text" if table.rounding is not None else table.dtype
    note = f"; row sums within {deviation:.1e} of 1, renormalised in float64" if deviation > 0 else ""
    return f"softmax {source}: {clean.shape[0]} test examples x {clean.shape[1]} classes ({kind}{note})"


def _outputs(args: argparse.Namespace) -> dict[str, str]:
    """The outputs asked for: flag -> path."""
    flags = (("--out", args.out), ("--json", args.json), ("--plot", args.plot))
    return {flag: path for flag, path in flags if path is not None}


def _input_files(args: argparse.Namespace) -> dict[str, str]:
    """The files read: flag -> path (a FILE:KEY spec's file)."""
    specs = [("--softmax", args.softmax), ("--labels", args.labels), ("--measured", args.measured)]
    specs += [("--noise", n) for n in args.noise if n not in NOISE_NAMES]
    return {os.path.realpath(split_spec(spec)[0]): flag for flag, spec in specs if spec is not None}


def _check_outputs(args: argparse.Namespace) -> None:
    """``--out`` and ``--plot`` can be written (their folder exists or can be made, and is writable; the
    path is no folder), are two files, and overwrite no input; ``--plot`` has an image suffix."""
    outputs = _outputs(args)
    inputs = _input_files(args)
    for flag, path in outputs.items():
        check_writable(path, flag)
        read_as = inputs.get(os.path.realpath(path))
        if read_as is not None:
            raise CommandError(f"{flag} must not overwrite an input, got {path!r} (the {read_as} file)")
    seen: dict[str, str] = {}
    for flag, path in outputs.items():
        other = seen.setdefault(os.path.realpath(path), flag)
        if other != flag:
            raise CommandError(f"{flag} must be another file than {other}, got {path!r} for both")
    if args.plot is not None:
        _plot_format(args.plot)


def _prepare(args: argparse.Namespace) -> _Inputs:
    """Check the outputs, read and check every input (no solver work yet)."""
    _check_outputs(args)
    table = read_table(args.softmax, "--softmax")
    if args.class_columns is not None:
        table = select_columns(table, args.class_columns, "--class-columns")
    softmax = probability_rows(f"--softmax {table.source}", table)
    n_rows, n_labels = softmax.shape
    labels = read_labels(args.labels, n_rows=n_rows, n_labels=n_labels, name="--labels")
    noise = corruptions(args.noise, n_labels, name="--noise")
    gammas = check_noise_levels("--gammas", parse_values("--gammas", args.gammas))
    ks = check_ks("--ks", parse_values("--ks", args.ks, int), maximum=MAX_K)[0]
    fit_ks = None
    if args.fit_ks is not None:
        fit_ks = check_ks("--fit-ks", parse_values("--fit-ks", args.fit_ks, int), maximum=MAX_K)[0]
    measured = None
    if args.measured is not None:
        measured = read_measured(args.measured, "--measured")
        split_measured(measured, list(noise), f"--measured {args.measured}")  # a noise not asked for
    return _Inputs(
        softmax, labels, noise, gammas, ks, fit_ks, measured, _summary(table.source, table, softmax)
    )


def _plot_format(path: str) -> str:
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise CommandError(f"--plot must end in one of .{', .'.join(sorted(formats))}, got {path!r}")
    return suffix


def _text_table(table: pd.DataFrame) -> str:
    """A row per gamma, a column per K, four decimals."""
    shown = table.rename(columns=lambda k: f"K={k}")
    texts = [np.format_float_positional(g, precision=12, trim="-") for g in table.index]
    decimals = max(len(t.partition(".")[2]) for t in texts)
    shown.insert(0, "gamma", [f"{g:.{decimals}f}" for g in table.index])
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _os_reason(err: OSError) -> str:
    """An OSError in words: its reason and, when it has one, the file."""
    reason = err.strerror or str(err) or type(err).__name__
    return f"{reason}: {err.filename}" if err.filename else reason


def _render(flag: str, path: str, temporary: Path, result: Prediction, title: str) -> str:
    """Write one output into its temporary file; returns the line reporting it."""
    try:
        if flag == "--json" or (flag == "--out" and path.lower().endswith(".json")):
            fits = ", ".join(f"{n}: K = {f.k}" for n, f in result.fits.items()) or "no measurements"
            temporary.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
            return f"wrote {path} (fits: {fits}; {len(result.all_curves)} curve points)"
        if flag == "--out":
            curves = result.all_curves
            temporary.write_text(curves.to_csv(index=False), encoding="utf-8")
            return f"wrote {path} ({len(curves)} rows: {', '.join(curves.columns)})"
        figure = result.figure(title=title)
        figure.savefig(temporary, format=_plot_format(path), bbox_inches="tight", dpi=150)
        return f"wrote {path}"
    except OSError as err:  # its filename is the temporary file's: say the reason alone
        reason = err.strerror or str(err) or type(err).__name__
        raise CommandError(f"{flag} {path!r} could not be written ({reason}); nothing was written") from None
    except (ValueError, TypeError, RuntimeError) as err:  # matplotlib refusing to draw or save
        raise CommandError(f"{flag} {path!r} could not be written ({err}); nothing was written") from None


def _write(args: argparse.Namespace, result: Prediction, title: str) -> list[str]:
    """Every output, all or none: rendered into temporary files, then renamed into place together."""
    outputs = _outputs(args)
    if not outputs:
        return []
    try:
        with staged_files(list(outputs.values())) as temporaries:
            return [
                _render(flag, path, tmp, result, title)
                for (flag, path), tmp in zip(outputs.items(), temporaries, strict=True)
            ]
    except OSError as err:  # making a folder or a temporary file (nothing written), or the final renames
        names = " and ".join(f"{flag} {path!r}" for flag, path in outputs.items())
        raise CommandError(f"{names} could not be written ({_os_reason(err)})") from None


def run(args: argparse.Namespace) -> int:
    """The ``predict`` command: read, check, compute, print, write. Returns the exit status."""
    try:
        inputs = _prepare(args)
    except (ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    except OSError as err:  # reading an input (a failing disk, a file removed meanwhile)
        raise CommandError(f"an input could not be read ({_os_reason(err)})") from None
    print(inputs.summary)
    result = predict(
        inputs.softmax, inputs.labels, inputs.noise, inputs.gammas, inputs.ks, args.ties,
        measured=inputs.measured, fit_ks=inputs.fit_ks, progress=False if args.no_progress else None,
    )  # fmt: skip
    for noise in result.noises:
        print(f"\n{noise} noise: expected accuracy (Eq. 1-3, ties {args.ties}); rows gamma, columns K")
        print(_text_table(result.table(noise)))
    if result.fits:
        print(f"\nthe K whose curve fits {args.measured} best (least squares, per noise model):")
        for noise in result.fits:
            print(result.fit_text(noise))
        for line in result.edge_warnings():
            print(f"warning: {line}", file=sys.stderr)
    for line in _write(args, result, title=f"predicted from {Path(args.softmax).name}"):
        print(line)
    sys.stdout.flush()
    return 0
