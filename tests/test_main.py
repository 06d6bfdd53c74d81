"""``python -m knnoise``: the commands are listed, usage errors exit 2 with an ``error:`` line."""

import subprocess
import sys

import pytest

from knnoise.__main__ import main


def test_help_lists_predict(tmp_path):
    command = [sys.executable, "-m", "knnoise", "--help"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "predict" in done.stdout


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "error: the following arguments are required: COMMAND" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "--softmax", "a.npy"])
    assert info.value.code == 2
    assert "error: the following arguments are required: --labels, --noise" in capsys.readouterr().err
