"""knnoise.predict.readers: every file format, FILE:KEY specs, and a clear error for every bad file."""

from pathlib import Path

import numpy as np
import pytest
import torch

from knnoise.predict.readers import read_table, split_spec


def test_split_spec(tmp_path):
    assert split_spec("a.npz:probs") == (Path("a.npz"), "probs")
    assert split_spec("a.csv:label") == (Path("a.csv"), "label")
    assert split_spec("a.npy") == (Path("a.npy"), None)
    assert split_spec(r"C:\data\p.npy") == (Path(r"C:\data\p.npy"), None)  # a drive letter, not a key
    odd = tmp_path / "x.npz:y"
    odd.write_text("")
    assert split_spec(odd) == (odd, None)  # an existing file whose name has a colon


def test_npy_keeps_its_dtype(files, softmax):
    table = read_table(files / "softmax.npy", "softmax")
    assert table.values.dtype == np.float32 and table.rounding is None
    np.testing.assert_array_equal(table.values, softmax)


def test_npz_one_array_or_a_named_key(tmp_path, softmax, labels):
    np.savez(tmp_path / "one.npz", probs=softmax)
    np.testing.assert_array_equal(read_table(tmp_path / "one.npz", "softmax").values, softmax)
    np.savez(tmp_path / "two.npz", probs=softmax, y=labels)
    table = read_table(f"{tmp_path / 'two.npz'}:y", "labels")
    np.testing.assert_array_equal(table.values, labels)
    assert table.source.endswith("two.npz:y")
    one = r"softmax must be a file holding one array, or name one as FILE:KEY, "
    with pytest.raises(ValueError, match=one + r"got '.*two.npz' \(it holds 2 arrays \['probs', 'y'\]\)"):
        read_table(tmp_path / "two.npz", "softmax")
    with pytest.raises(
        ValueError, match=r"softmax must name one of the arrays \['probs', 'y'\] of .*, got 'p'"
    ):
        read_table(f"{tmp_path / 'two.npz'}:p", "softmax")


def test_torch_tensor_dict_and_bfloat16(tmp_path, files, softmax, labels):
    table = read_table(files / "softmax.pt", "softmax")
    assert table.values.dtype == np.float32
    np.testing.assert_array_equal(table.values, softmax)
    t = torch.from_numpy(softmax)
    torch.save({"softmax": t, "epoch": 3}, tmp_path / "one.pt")  # one tensor among other entries
    np.testing.assert_array_equal(read_table(tmp_path / "one.pt", "softmax").values, softmax)
    torch.save({"softmax": t, "labels": torch.from_numpy(labels)}, tmp_path / "two.pth")
    np.testing.assert_array_equal(read_table(f"{tmp_path / 'two.pth'}:labels", "labels").values, labels)
    with pytest.raises(ValueError, match=r"holding one tensor, or name one as FILE:KEY.*2 tensors"):
        read_table(tmp_path / "two.pth", "softmax")
    torch.save(t.to(torch.bfloat16), tmp_path / "bf16.pt")
    bf16 = read_table(tmp_path / "bf16.pt", "softmax")  # widened exactly; its dtype's name is kept
    assert bf16.values.dtype == np.float32 and bf16.stored == "bfloat16" and bf16.dtype == "bfloat16"
    np.testing.assert_array_equal(bf16.values, t.to(torch.bfloat16).float().numpy())
    assert table.stored is None and table.dtype == "float32"
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"softmax must be a .pt file holding a tensor or a dict with one, "
                       r"got .*list.pt' \(it holds a list\)"):  # fmt: skip
        read_table(tmp_path / "list.pt", "softmax")


def test_torch_refuses_arbitrary_objects(tmp_path):
    """weights_only=True: a pickled object is not executed, it is an unreadable file."""
    torch.save({"when": np.datetime64("2020-01-01")}, tmp_path / "object.pt")
    with pytest.raises(ValueError, match=r"softmax must be a readable torch .pt file, got .*object.pt'"):
        read_table(tmp_path / "object.pt", "softmax")


def test_text_tables(tmp_path):
    (tmp_path / "h.csv").write_text("# exported\np0,p1,label\n0.25,0.75,1\n0.5,0.5,0\n")
    table = read_table(tmp_path / "h.csv", "x")
    assert table.columns == ["p0", "p1", "label"]
    np.testing.assert_array_equal(table.values, [[0.25, 0.75, 1], [0.5, 0.5, 0]])
    np.testing.assert_array_equal(read_table(f"{tmp_path / 'h.csv'}:label", "y").values, [1, 0])
    np.testing.assert_array_equal(read_table(f"{tmp_path / 'h.csv'}:1", "y").values, [0.75, 0.5])
    with pytest.raises(ValueError, match=r"y must name a column of .*h.csv' \(a name of its header "
                       r"\['p0', 'p1', 'label'\] or an index in 0..2\), got 'lab'"):  # fmt: skip
        read_table(f"{tmp_path / 'h.csv'}:lab", "y")
    (tmp_path / "w.txt").write_text("0.1 0.9\n0.2 0.8\n")
    np.testing.assert_array_equal(read_table(tmp_path / "w.txt", "x").values, [[0.1, 0.9], [0.2, 0.8]])
    (tmp_path / "t.tsv").write_text("1\t2\n3\t4\n")
    assert read_table(tmp_path / "t.tsv", "x").values.shape == (2, 2)
    (tmp_path / "one.csv").write_text("3\n1\n2\n")
    assert read_table(tmp_path / "one.csv", "y").values.shape == (3, 1)


def test_text_rounding_follows_the_digits_written(tmp_path):
    p = np.array([[0.123456789, 0.876543211], [1e-7, 1 - 1e-7]])
    np.savetxt(tmp_path / "f.csv", p, delimiter=",", fmt="%.4f")
    np.testing.assert_allclose(read_table(tmp_path / "f.csv", "x").rounding, 5e-5)
    np.savetxt(tmp_path / "e.csv", p, delimiter=",", fmt="%.6e")
    expected = 0.5 * 10.0 ** (np.floor(np.log10(p)) - 6)
    np.testing.assert_allclose(read_table(tmp_path / "e.csv", "x").rounding, expected)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.npy", None, r"softmax must be an existing file, got '.*missing.npy' \(no such file\)"),
        (
            "p.bin",
            b"",
            r"softmax must be a .npy, .npz \(FILE.npz:KEY\), .csv/.tsv/.txt or torch .pt/.pth "
            r"file, got '.*p.bin'",
        ),  # fmt: skip
        (
            "cut.npy",
            b"\x93NUMPY\x01\x00v\x00{'descr'",
            r"softmax must be a readable .npy file, got '.*cut.npy'",
        ),
        ("bad.npz", b"not a zip", r"softmax must be a readable .npz file, got '.*bad.npz'"),
        ("bad.pt", b"garbage", r"softmax must be a readable torch .pt file, got '.*bad.pt'"),
        ("empty.csv", b"# nothing\n\n", r"softmax must be a file with at least one row, got '.*empty.csv'"),
        ("head.csv", b"a,b\n", r"softmax must be a file with at least one row, got .* \(only a header\)"),
        ("text.csv", b"0.5,0.5\n0.5,x\n", r"softmax must be a readable table of numbers \(text\) file, got "),
        ("ragged.csv", b"0.5,0.5\n1\n", r"softmax must be a readable table of numbers \(text\) file, got "),
        ("latin.csv", "0.5,0.5\n\xe9\n".encode("latin-1"), r"softmax must be a readable text file, got "),
    ],
)
def test_bad_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_table(path, "softmax")


def test_a_directory_and_a_key_on_a_single_array(tmp_path, softmax):
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(ValueError, match=r"softmax must be a file, got .*d.npy' \(a directory\)"):
        read_table(tmp_path / "d.npy", "softmax")
    np.save(tmp_path / "p.npy", softmax)
    with pytest.raises(ValueError, match=r"softmax: .*p.npy' holds a single array; drop the key 'x'"):
        read_table(f"{tmp_path / 'p.npy'}:x", "softmax")
    torch.save(torch.from_numpy(softmax), tmp_path / "p.pt")
    with pytest.raises(ValueError, match=r"holds a single tensor, not a dict; drop the key 'x'"):
        read_table(f"{tmp_path / 'p.pt'}:x", "softmax")


def test_a_file_that_is_not_numpy_says_so(tmp_path):
    """Not numpy's advice to pass allow_pickle: what the file is (a PNG renamed .npy)."""
    (tmp_path / "img.npy").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    message = (
        r"^softmax must be a readable .npy file, got '.*img.npy' \(not a numpy file: it does not start "
        r"with numpy's .npy header or an .npz zip; it looks like a PNG image\)$"
    )
    with pytest.raises(ValueError, match=message) as info:
        read_table(tmp_path / "img.npy", "softmax")
    assert "allow_pickle" not in str(info.value)
    (tmp_path / "t.npy").write_text("0.5,0.5\n")
    with pytest.raises(ValueError, match=r"not a numpy file: .*; it looks like text \(a .csv/.txt table\?\)"):
        read_table(tmp_path / "t.npy", "softmax")
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"\(not a numpy file: it is empty\)$"):
        read_table(tmp_path / "e.npz", "softmax")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"\(it holds Python objects \(an object array\), which are not"):
        read_table(tmp_path / "obj.npy", "softmax")


def test_a_pickled_module_is_named_without_colour_codes(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    message = (
        r"^softmax must be a readable torch .pt file, got '.*model.pt' \(it holds a pickled "
        r"torch.nn.modules.linear.Linear object, which loading with weights_only=True refuses: save "
        r"tensors, e.g. torch.save\(softmax.cpu\(\), path\) or a dict of tensors\)$"
    )
    with pytest.raises(ValueError, match=message) as info:
        read_table(tmp_path / "model.pt", "softmax")
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
