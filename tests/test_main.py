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


@pytest.fixture()
def command(monkeypatch):
    """``predict``'s run replaced by ``command.effect`` (a function of the parsed arguments)."""
    from knnoise.predict import cli

    class Command:
        effect = staticmethod(lambda args: 0)

    monkeypatch.setattr(cli, "run", lambda args: Command.effect(args))
    return Command


ARGS = ["predict", "--softmax", "s.npy", "--labels", "l.npy", "--noise", "flip"]


def _raise(error: BaseException):
    def effect(args):
        raise error

    return effect


def test_ctrl_c_exits_130_with_one_error_line(command, capsys):
    command.effect = _raise(KeyboardInterrupt())
    assert main(ARGS) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_an_unexpected_os_error_names_the_file(command, capsys):
    command.effect = _raise(PermissionError(13, "Permission denied", "/data/s.npy"))
    assert main(ARGS) == 2
    expected = "error: a file could not be read or written '/data/s.npy' (Permission denied)\n"
    assert capsys.readouterr().err == expected


def test_a_closed_stdout_is_no_traceback(command, capsys):
    command.effect = _raise(BrokenPipeError(32, "Broken pipe"))
    assert main(ARGS) == 1
    assert capsys.readouterr().err == ""
