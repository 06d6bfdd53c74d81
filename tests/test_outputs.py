"""knnoise._outputs: output paths and folders checked writable before any work, outputs written all or
none (the folders a run makes, ensure_folder: tests/book/test_preflight.py)."""

import os
import tempfile

import pytest

from knnoise._outputs import check_writable, check_writable_folder, staged_files


def test_check_writable_names_the_flag_the_path_and_why(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    assert check_writable(tmp_path / "new" / "deeper" / "c.csv", "--out") == tmp_path / "new/deeper/c.csv"
    assert not (tmp_path / "new").exists()  # checked, not made
    assert check_writable(tmp_path / "f", "--out") == tmp_path / "f"  # an existing file: replaced
    cases = {
        tmp_path / "d": r"\(a folder; name a file in it\)",
        f"{tmp_path / 'x'}{os.sep}": r"\(a folder; name a file in it\)",
        tmp_path / "f" / "c.csv": r"\(.*/f is a file, not a folder\)",
        "/dev/null": r"\(not a regular file\)",
    }
    for path, why in cases.items():
        message = rf"^--out must be a file path in a writable folder, got '.*' {why}$"
        with pytest.raises(ValueError, match=message):
            check_writable(path, "--out")
    with pytest.raises(ValueError, match=r"^save_results must be a folder that can be written to, got .*f' "):
        check_writable_folder(tmp_path / "f", "save_results")
    assert check_writable_folder(tmp_path / "new", "save_results") == tmp_path / "new"

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # a read-only folder, even for root
    with pytest.raises(ValueError, match=r"got '.*c.csv' \(.* is not writable: Permission denied\)$"):
        check_writable(tmp_path / "d" / "c.csv", "--plot")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f"]  # the probes left nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(ValueError, match=r"ro is not writable: Permission denied"):
        check_writable(folder / "sub" / "c.csv", "--out")


def test_staged_files_land_all_together_or_not_at_all(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("old")
    targets = [old, tmp_path / "new" / "deeper" / "b.png"]
    with pytest.raises(OSError, match="disk full"), staged_files(targets) as temporaries:
        assert [t.parent for t in temporaries] == [t.parent for t in targets]
        temporaries[0].write_text("new")
        assert old.read_text() == "old"  # nothing lands before the block ends
        raise OSError(28, "disk full")
    assert old.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]
    with pytest.raises(KeyboardInterrupt), staged_files(targets) as temporaries:
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]  # the folders made are gone too
    with staged_files(targets) as temporaries:
        for tmp, text in zip(temporaries, ["new", "png"], strict=True):
            tmp.write_text(text)
    assert [t.read_text() for t in targets] == ["new", "png"]
    assert oct(targets[1].stat().st_mode & 0o777) != oct(0o600)
    assert not list(tmp_path.rglob("*.tmp"))
