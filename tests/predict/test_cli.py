"""``python -m knnoise predict``: lists and ranges, the printed table, --out/--plot/--measured, errors."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from knnoise import noise
from knnoise.__main__ import main
from knnoise.predict.cli import CommandError, parse_values
from knnoise.theory import expected_accuracy


def test_parse_values_lists_and_ranges():
    assert parse_values("--gammas", ["0", "0.2,0.5", "0.6:1:0.1"]) == [0.0, 0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert parse_values("--gammas", ["0:1:0.05"])[-1] == 1.0 and len(parse_values("--g", ["0:1:0.05"])) == 21
    assert parse_values("--ks", ["1", "5", "11:51:10"], int) == [1, 5, 11, 21, 31, 41, 51]
    assert parse_values("--ks", ["3:6"], int) == [3, 4, 5, 6]
    assert parse_values("--ks", ["1:10:4"], int) == [1, 5, 9]


@pytest.mark.parametrize(
    ("texts", "kind", "message"),
    [
        (["x"], float, r"^--v must be numbers or START:STOP\[:STEP\] ranges, got 'x'$"),
        (["1.5"], int, r"^--v must be integers or START:STOP\[:STEP\] ranges, got '1.5'$"),
        (["0:1"], float, r"^--v ranges must be START:STOP:STEP \(STOP included\), got '0:1'$"),
        (["0:1:2:3"], int, r"^--v ranges must be START:STOP or START:STOP:STEP \(STOP included\)"),
        (["1:0:0.1"], float, r"^--v ranges must have START <= STOP and STEP > 0, got '1:0:0.1'$"),
        (["0:1:0"], float, r"STEP > 0"),
        ([","], float, r"^--v must list at least one value"),
    ],
)
def test_parse_values_errors(texts, kind, message):
    with pytest.raises(CommandError, match=message):
        parse_values("--v", texts, kind)


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "knnoise", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_end_to_end_on_a_torch_float32_softmax(files):
    """The float32 softmax saved with torch.save, labels as a .csv: exit 0, table, --out, --plot."""
    done = _cli(
        "predict", "--softmax", "softmax.pt", "--labels", "labels.csv", "--noise", "uniform", "flip",
        "--gammas", "0:1:0.25", "--ks", "1", "3:7:2", "--out", "out/curves.csv", "--plot", "curves.png",
        cwd=files,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "softmax softmax.pt: 60 test examples x 4 classes (float32; row sums within" in out
    assert "uniform noise: expected accuracy (Eq. 1-3, ties strict); rows gamma, columns K" in out
    assert "gamma    K=1    K=3    K=5    K=7" in out
    assert "\n 0.25 " in out and "\n 1.00 0.2500 " in out  # uniform noise at gamma = 1 leaves 1/L
    assert "wrote out/curves.csv (40 rows: noise, gamma, K, accuracy)" in out and "wrote curves.png" in out
    curves = pd.read_csv(files / "out" / "curves.csv")
    assert list(curves.columns) == ["noise", "gamma", "K", "accuracy"] and len(curves) == 40
    softmax = torch.load(files / "softmax.pt").numpy()
    labels = np.loadtxt(files / "labels.csv", dtype=int)
    expected = expected_accuracy(softmax, labels, [0, 0.25, 0.5, 0.75, 1], noise.flip(4), [1, 3, 5, 7])
    flip = curves[curves.noise == "flip"].pivot(index="gamma", columns="K", values="accuracy").to_numpy()
    np.testing.assert_allclose(flip, expected, rtol=0, atol=1e-15)
    assert (files / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(files.glob(".*.tmp")) and not list((files / "out").glob(".*.tmp"))  # atomic writes


def test_a_bad_file_exits_2_naming_it(files):
    done = _cli("predict", "--softmax", "nope.npy", "--labels", "labels.csv", "--noise", "flip", cwd=files)
    assert done.returncode == 2
    assert done.stderr == "error: --softmax must be an existing file, got 'nope.npy' (no such file)\n"
    assert "Traceback" not in done.stderr and done.stdout == ""


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["predict", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_csv_softmax_npy_labels_and_the_fitted_k(files, capsys, softmax, labels):
    gammas = np.round(np.linspace(0, 0.9, 10), 2)
    exact = expected_accuracy(softmax, labels, gammas, noise.flip(4), [9])[:, 0]
    pd.DataFrame({"gamma": gammas, "accuracy": exact}).to_csv(files / "measured.csv", index=False)
    status, out, err = _run(
        capsys, "--softmax", str(files / "softmax.csv"), "--labels", str(files / "labels.npy"),
        "--noise", "flip", "--gammas", "0,0.5", "--ks", "1", "25", "--measured", str(files / "measured.csv"),
        "--no-progress",
    )  # fmt: skip
    assert status == 0, err
    assert "(text; row sums within" in out and "gamma    K=1   K=25" in out
    assert (
        "effective K, flip noise: 9 (90% interval 9-9), rms error 0.0000 over 10 measured noise levels" in out
    )


def test_a_matrix_file_and_ties(files, capsys):
    np.save(files / "P.npy", noise.general(4, seed=1).astype(np.float32))
    status, out, err = _run(
        capsys, "--softmax", str(files / "softmax.npy"), "--labels", str(files / "labels.npy"),
        "--noise", str(files / "P.npy"), "--ks", "2", "--ties", "random", "--gammas", "0.5",
    )  # fmt: skip
    assert status == 0, err
    assert "P.npy noise: expected accuracy (Eq. 1-3, ties random)" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"--softmax": "low.npy"},
            r"--softmax low.npy must have rows summing to 1 \(within 1e-09 for float64\)",
        ),
        (
            {"--softmax": "neg.npy"},
            r"--softmax neg.npy must be non-negative \(logits\? apply softmax first\)",
        ),
        ({"--softmax": "bad.pt"}, r"--softmax must be a readable torch .pt file, got 'bad.pt'"),
        ({"--labels": "high.npy"}, r"--labels high.npy must be labels in 0..3 \(L = 4\), got 7"),
        (
            {"--labels": "short.npy"},
            r"--labels short.npy must be 60 labels, one per row of the softmax, got 59",
        ),
        ({"--labels": "gone.csv"}, r"--labels must be an existing file, got 'gone.csv' \(no such file\)"),
        (
            {"--noise": "unifrom"},
            r"--noise must be one of \('uniform', 'symmetric', 'flip'\) or a corruption-",
        ),
        (
            {"--noise": "P3.npy"},
            r"--noise P3.npy must be a \(4, 4\) matrix to match L = 4, got shape \(3, 3\)",
        ),
        ({"--gammas": "0:2:0.5"}, r"--gammas\[3\] must be a number in \[0, 1\], got 1.5"),
        ({"--ks": "0"}, r"--ks\[0\] must be an integer in 1..2000"),
        ({"--plot": "c.xyz"}, r"--plot must end in one of \..*png.*, got 'c.xyz'"),
        ({"--measured": "pct.csv"}, r"--measured pct.csv: accuracy \(row 0\) must be in \[0, 1\]"),
    ],
)
def test_errors_exit_2_before_any_work(files, capsys, monkeypatch, change, message):
    from knnoise.predict import cli

    monkeypatch.chdir(files)
    monkeypatch.setattr(cli, "predict", lambda *a, **k: pytest.fail("computed despite a bad input"))
    softmax = np.load("softmax.npy")
    np.save("low.npy", softmax.astype(np.float64) * 0.9)
    np.save("neg.npy", np.log(softmax))
    (files / "bad.pt").write_bytes(b"not a tensor")
    labels = np.load("labels.npy")
    np.save("high.npy", np.where(labels == 0, 7, labels))
    np.save("short.npy", labels[:-1])
    np.save("P3.npy", noise.uniform(3))
    (files / "pct.csv").write_text("gamma,accuracy\n0,97.5\n")
    args = {"--softmax": "softmax.npy", "--labels": "labels.npy", "--noise": "flip"} | change
    status, out, err = _run(capsys, *(x for kv in args.items() for x in kv))
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
