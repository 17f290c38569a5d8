"""Checkpoints: round trips, atomic saves, and every kind of bad file leaves the model alone."""

import os

import numpy as np
import pytest

import engine.checkpoint as ckpt
from engine.checkpoint import CheckpointError, load, load_into, save
from engine.presets import build_preset


def params_of(model):
    return [p.value.copy() for p in model.parameters()]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture
def lenet():
    g = np.random.default_rng(0)
    return build_preset("lenet", rng=g).model


@pytest.fixture
def saved(tmp_path, lenet):
    path = tmp_path / "lenet.npz"
    save(path, lenet, (1, 28, 28), meta={"epoch": 3, "note": "test"})
    return path


def test_round_trip(saved, lenet):
    model, shape, meta = load(saved)
    assert shape == (1, 28, 28) and meta == {"epoch": 3, "note": "test"}
    assert model.spec() == lenet.spec()
    assert same(params_of(model), params_of(lenet))
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert np.array_equal(model.forward(x), lenet.forward(x))
    assert [f.name for f in saved.parent.iterdir()] == ["lenet.npz"]  # no temp files left


def test_load_into_copies_parameters_in_place(saved, lenet):
    g = np.random.default_rng(99)
    other = build_preset("lenet", rng=g).model
    arrays = [p.value for p in other.parameters()]
    other.parameters()[0].grad[...] = 1
    shape, meta = load_into(other, saved)
    assert shape == (1, 28, 28) and meta["epoch"] == 3
    assert same(params_of(other), params_of(lenet))
    assert all(p.value is a for p, a in zip(other.parameters(), arrays, strict=True))
    assert not other.parameters()[0].grad.any()


def test_resnet_and_float64_round_trip(tmp_path):
    g = np.random.default_rng(2)
    model = build_preset("resnet", rng=g).model.to(np.float64)
    save(tmp_path / "r.ckpt", model, (1, 28, 28))
    again, _, meta = load(tmp_path / "r.ckpt")
    assert meta == {} and again.parameters()[0].value.dtype == np.float64
    assert same(params_of(again), params_of(model))


def test_loading_does_not_shift_the_engine_rng(saved):
    # The engine owns no random stream; NumPy's process-wide one must stay put too.
    np.random.seed(4)  # noqa: NPY002
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    load(saved)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_a_save_failing_midway_keeps_the_old_file_and_the_model(saved, lenet, monkeypatch):
    original, before = saved.read_bytes(), params_of(lenet)
    real_write = ckpt.write_npz

    def half_then_fail(f, arrays):
        real_write(f, arrays)
        f.truncate(100)  # a partial write...
        raise OSError(28, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(ckpt, "write_npz", half_then_fail)
    lenet.parameters()[0].value[...] = 5.0  # a newer model state that fails to save
    newer = params_of(lenet)
    with pytest.raises(CheckpointError, match=r"lenet\.npz.*No space left on device"):
        save(saved, lenet, (1, 28, 28))
    monkeypatch.undo()
    assert saved.read_bytes() == original
    assert [f.name for f in saved.parent.iterdir()] == ["lenet.npz"]  # temp file removed
    assert same(params_of(lenet), newer)  # saving never touches the model
    assert same(params_of(load(saved)[0]), before)  # the file still holds the old state


def test_save_rejects_bad_arguments_without_writing(tmp_path, lenet):
    path = tmp_path / "x.npz"
    with pytest.raises(CheckpointError, match=r"x\.npz.*input shape \(3, 28, 28\)"):
        save(path, lenet, (3, 28, 28))
    with pytest.raises(CheckpointError, match="JSON"):
        save(path, lenet, (1, 28, 28), meta={"f": object()})
    lenet.parameters()[2].value[0, 0, 0, 0] = np.nan
    with pytest.raises(CheckpointError, match=r"3\.weight.*NaN"):
        save(path, lenet, (1, 28, 28))
    with pytest.raises(CheckpointError, match="could not save"):
        save(tmp_path / "missing-dir" / "x.npz", build_preset("article").model, (1, 5, 5))
    assert list(tmp_path.iterdir()) == []


def bad_files(tmp_path, saved):
    """(path, expected message) for each kind of bad file."""
    data = saved.read_bytes()
    cases = {}
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    cases["truncated.npz"] = "truncated or corrupt"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside a parameter's bytes: the zip CRC catches it
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    cases["flipped.npz"] = "truncated or corrupt"
    (tmp_path / "notes.txt").write_text("hello")
    cases["notes.txt"] = r"not a checkpoint \(not an \.npz archive\)"
    (tmp_path / "empty.npz").write_bytes(b"")
    cases["empty.npz"] = "empty file"
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    cases["other.npz"] = "not a cnn-tui checkpoint"
    cases["absent.npz"] = "file not found"
    (tmp_path / "folder.npz").mkdir()
    cases["folder.npz"] = "is a directory"
    g = np.random.default_rng(1)
    save(tmp_path / "resnet.npz", build_preset("resnet", rng=g).model, (1, 28, 28))
    cases["resnet.npz"] = (
        r"does not match this model: model\.layers\[2\]\.type: 'Residual' in the file, "
        r"'MaxPool2d' in the model"
    )
    return [(tmp_path / name, match) for name, match in cases.items()]


def test_bad_files_name_file_and_problem_and_change_nothing(tmp_path, saved):
    g = np.random.default_rng(5)
    model = build_preset("lenet", rng=g).model
    before = params_of(model)
    for path, match in bad_files(tmp_path, saved):
        with pytest.raises(CheckpointError, match=match) as info:
            load_into(model, path)
        assert str(path) in str(info.value)
        assert same(params_of(model), before)
        if path.name != "resnet.npz":  # resnet.npz is a fine checkpoint of another model
            with pytest.raises(CheckpointError, match=match):
                load(path)
    assert saved.exists() and len(saved.read_bytes()) > 1000


def test_a_tampered_parameter_shape_is_named(tmp_path, saved):
    with np.load(saved) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["p0"] = np.zeros((8, 1, 5, 5), np.float32)
    np.savez(tmp_path / "tampered.npz", **arrays)
    g = np.random.default_rng(5)
    model = build_preset("lenet", rng=g).model
    before = params_of(model)
    with pytest.raises(CheckpointError, match=r"tampered\.npz.*0\.weight.*\(8, 1, 5, 5\)"):
        load_into(model, tmp_path / "tampered.npz")
    with pytest.raises(CheckpointError, match=r"0\.weight.*\(8, 1, 3, 3\)"):
        load(tmp_path / "tampered.npz")
    assert same(params_of(model), before)
    del arrays["p5"]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(CheckpointError, match="5 parameters, the model has 6"):
        load(tmp_path / "short.npz")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)
    assert os.path.basename(ckpt.__file__) == "checkpoint.py"


def test_saved_file_is_readable_like_any_other_file(saved):
    # The atomic save goes through a private (0600) temp file; the result must follow the umask.
    mask = os.umask(0o022)
    os.umask(mask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~mask


def test_the_same_model_saved_twice_gives_the_same_bytes(tmp_path, lenet, monkeypatch):
    """Issue 8 item 16: np.savez stamped each member with the clock; a second later, other bytes."""
    import time

    save(tmp_path / "a.npz", lenet, (1, 28, 28), meta={"seed": 0})
    later = time.time() + 3 * 86400  # three days on: the zip's dates would all differ
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(
        time, "localtime", lambda *a: time.struct_time((2031, 5, 6, 7, 8, 9, 0, 126, 0))
    )
    save(tmp_path / "b.npz", lenet, (1, 28, 28), meta={"seed": 0})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def dead_pid() -> int:
    """The pid of a process that has already exited (as after a kill -9)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_save_removes_temp_files_a_killed_save_left(tmp_path, lenet):
    """Issue 8 item 17: a kill -9 during save left `.x.npz.RANDOM.tmp` behind forever."""
    target = tmp_path / "lenet.npz"
    stale = tmp_path / f".lenet.npz.{dead_pid()}.k1ll3d.tmp"  # its writer is gone
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".lenet.npz.{os.getpid()}.wr1t1ng.tmp"  # a writer that still runs
    live.write_bytes(b"being written")
    old_style = tmp_path / ".lenet.npz.abc123_x.tmp"  # the old pid-less name, an hour old
    old_style.write_bytes(b"left by an older version")
    os.utime(old_style, (0, 1_000_000))
    fresh_old_style = tmp_path / ".lenet.npz.zz9_fresh.tmp"  # pid-less but just written: kept
    fresh_old_style.write_bytes(b"maybe an older version saving right now")
    other = tmp_path / f".other.npz.{dead_pid()}.x.tmp"  # another file's temp: not ours to judge
    other.write_bytes(b"x")
    save(target, lenet, (1, 28, 28))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["lenet.npz", live.name, fresh_old_style.name, other.name])
