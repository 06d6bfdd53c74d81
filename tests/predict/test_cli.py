"""``python -m knnoise predict``: lists and ranges, the printed table, --out/--plot/--measured, errors."""

import re
import signal
import subprocess
import sys
import time

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
    assert "wrote out/curves.csv (40 rows: noise, gamma, K, accuracy, curve)" in out
    assert "wrote curves.png" in out
    curves = pd.read_csv(files / "out" / "curves.csv")
    assert list(curves.columns) == ["noise", "gamma", "K", "accuracy", "curve"] and len(curves) == 40
    assert set(curves.curve) == {"asked"}  # no --measured: no fitted curve
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


# ----------------------------------------------------------------------------------------------------
# Issue 18: outputs checked before computing and written all or none, Ctrl-C, real outputs, messages
# ----------------------------------------------------------------------------------------------------
def _base(files) -> list[str]:
    return ["--softmax", str(files / "softmax.npy"), "--labels", str(files / "labels.npy"), "--noise", "flip",
            "--gammas", "0,0.5", "--ks", "1", "3", "--no-progress"]  # fmt: skip


_WRITABLE = "must be a file path in a writable folder, got"


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (["--out", "adir"], rf"--out {_WRITABLE} 'adir' \(a folder; name a file in it\)$"),
        (["--plot", "adir"], rf"--plot {_WRITABLE} 'adir' \(a folder; name a file in it\)$"),
        (["--out", "afile/c.csv"], rf"--out {_WRITABLE} 'afile/c.csv' \(.*afile is a file, not a folder\)$"),
        (["--plot", "afile/x/c.png"], rf"--plot {_WRITABLE} 'afile/x/c.png' \(.*afile is a file, not a"),
        (["--out", "/dev/null"], rf"--out {_WRITABLE} '/dev/null' \(not a regular file\)$"),
        (["--out", "labels.npy"], r"--out must not overwrite an input, got 'labels.npy' \(the --labels file"),
        (["--out", "c.png", "--plot", "c.png"], r"--plot must be another file than --out, got 'c.png' for"),
    ],
)  # fmt: skip
def test_unusable_outputs_fail_before_any_work(files, capsys, monkeypatch, outputs, message):
    from knnoise.predict import cli

    monkeypatch.chdir(files)
    monkeypatch.setattr(cli, "predict", lambda *a, **k: pytest.fail("computed despite an unusable output"))
    (files / "adir").mkdir()
    (files / "afile").write_text("x")
    status, out, err = _run(capsys, *_base(files), *outputs)
    assert status == 2 and out == "" and err.count("\n") == 1, err
    assert re.fullmatch(r"error: " + message.removesuffix("$") + r".*\n", err), err


def test_a_read_only_folder_is_found_before_any_work(files, capsys, monkeypatch):
    """Whoever runs it (root writes anywhere): a probe file is tried in the folder, here refused."""
    import tempfile

    from knnoise.predict import cli

    monkeypatch.setattr(cli, "predict", lambda *a, **k: pytest.fail("computed despite an unusable output"))
    monkeypatch.setattr(tempfile, "mkstemp", lambda **k: (_ for _ in ()).throw(PermissionError(13, "no")))
    status, out, err = _run(capsys, *_base(files), "--plot", str(files / "ro" / "c.png"))
    assert status == 2 and out == ""
    assert re.fullmatch(r"error: --plot must be a file path in a writable folder, got '.*ro/c.png' "
                        r"\(.* is not writable: no\)\n", err), err  # fmt: skip


def test_outputs_are_written_all_or_none(files, capsys, monkeypatch):
    """--out works, --plot fails (a full disk): neither lands, an old --out is kept, exit 2 naming --plot."""
    from matplotlib.figure import Figure

    (files / "curves.csv").write_text("old\n")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    args = [*_base(files), "--out", str(files / "curves.csv"), "--plot", str(files / "new" / "c.png")]
    status, out, err = _run(capsys, *args)
    assert status == 2 and "flip noise: expected accuracy" in out
    assert re.fullmatch(r"error: --plot '.*c.png' could not be written \(No space left on device\); "
                        r"nothing was written\n", err), err  # fmt: skip
    assert (files / "curves.csv").read_text() == "old\n"
    assert not (files / "new").exists() and not list(files.glob(".*.tmp"))


def test_ctrl_c_exits_130_leaving_no_partial_file(files, capsys, monkeypatch):
    from matplotlib.figure import Figure

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)  # while the outputs are being written
    outputs = ["--out", str(files / "c.csv"), "--plot", str(files / "c.png")]
    status, out, err = _run(capsys, *_base(files), *outputs)
    assert status == 130 and err == "error: interrupted\n"
    assert not (files / "c.csv").exists() and not list(files.glob(".*.tmp"))


def test_ctrl_c_in_a_real_run(files):
    """SIGINT while the solver runs: exit 130, one line, no traceback, no output file."""
    rng = np.random.default_rng(0)
    logits = 3 * rng.normal(size=(3000, 10))
    np.save(files / "big.npy", torch.softmax(torch.tensor(logits), 1).numpy())
    np.save(files / "big_labels.npy", logits.argmax(1))
    command = [sys.executable, "-u", "-m", "knnoise", "predict", "--softmax", "big.npy", "--labels",
               "big_labels.npy", "--noise", "uniform", "flip", "--gammas", "0:1:0.01", "--ks", "1:200",
               "--out", "out/c.csv", "--plot", "c.png", "--no-progress"]  # fmt: skip  # minutes of work
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    # SIGINT handled as from a terminal: a test run in the background (CI) ignores it, and so would its child
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    with subprocess.Popen(command, cwd=files, preexec_fn=default_sigint, **pipes) as run:
        assert run.stdout.readline().startswith("softmax big.npy: 3000 test examples")  # computing now
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=120)
    assert run.returncode == 130 and err == "error: interrupted\n", err
    assert not (files / "out").exists() and not (files / "c.png").exists()
    assert not list(files.glob(".*.tmp"))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_mixed_precision_softmax_file(files, capsys, softmax, dtype):
    """Saved from a mixed-precision network: read, held to its own dtype's rounding, computed."""
    torch.save(torch.from_numpy(softmax).to(dtype), files / "mixed.pt")
    args = _base(files)
    args[1] = str(files / "mixed.pt")
    status, out, err = _run(capsys, *args)
    name = str(dtype).removeprefix("torch.")
    assert status == 0 and err == "", err
    assert re.search(rf"softmax .*mixed.pt: 60 test examples x 4 classes \({name}; row sums within", out)


@pytest.mark.parametrize(
    ("flag", "content", "message"),
    [
        ("--softmax", "png",
         r"--softmax must be a readable .npy file, got '.*x.npy' \(not a numpy file: it does not start "
         r"with numpy's .npy header or an .npz zip; it looks like a PNG image\)\n"),
        ("--softmax", "module",
         r"--softmax must be a readable torch .pt file, got '.*x.pt' \(it holds a pickled "
         r"torch.nn.modules.linear.Linear object, which loading with weights_only=True refuses: save "),
        ("--labels", "2.5",
         r"--labels .*x.csv must be integer labels \(whole numbers such as 2 or 2.0\), got 2.5 \(row 7\)\n"),
    ],
)  # fmt: skip
def test_plain_messages_for_bad_files(files, capsys, labels, flag, content, message):
    if content == "png":
        path = files / "x.npy"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    elif content == "module":
        path = files / "x.pt"
        torch.save(torch.nn.Linear(2, 2), path)
    else:
        path = files / "x.csv"
        path.write_text("\n".join(["2.5" if i == 7 else f"{y}.0" for i, y in enumerate(labels)]))
    args = _base(files)
    args[args.index(flag) + 1] = str(path)
    status, out, err = _run(capsys, *args)
    assert status == 2 and out == "" and err.count("\n") == 1 and "\x1b" not in err
    assert re.match("error: " + message, err), err


def test_an_os_error_while_reading_names_the_file(files, capsys, monkeypatch):
    from knnoise.predict import cli

    def unreadable(spec, name):
        raise PermissionError(13, "Permission denied", str(spec))

    monkeypatch.setattr(cli, "read_table", unreadable)
    status, out, err = _run(capsys, *_base(files))
    assert status == 2 and out == ""
    assert re.fullmatch(r"error: an input could not be read \(Permission denied: .*softmax.npy\)\n", err), err
