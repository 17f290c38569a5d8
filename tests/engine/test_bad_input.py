"""The bad-input catalogue of the engine: every bad checkpoint, image and argument is refused
with a message naming the file and the problem, and nothing changes (model, rng, files).

The cases are data in tests/engine/bad_*.py; the CLI catalogue reuses them.
"""

import hashlib
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine.checkpoint as ckpt
import engine.npz
from engine.checkpoint import CheckpointError, load, load_into, save
from engine.files import NotARegularFile, check_output, open_regular
from engine.images import NO_INK_NOTE, ImageError, image_to_input, prepare_image
from engine.limits import LimitError, check_input_shape, check_spec
from engine.model import from_spec
from engine.presets import build_preset
from tests.engine import bad_checkpoints, bad_files, bad_images


def snapshot(directory: Path) -> dict:
    """Every entry of a directory: name -> (kind, sha256 of a regular file's bytes)."""
    out = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and not p.is_symlink():
            out[p.name] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[p.name] = ("other", None)
    return out


def params_of(model):
    return [p.value.copy() for p in model.parameters()]


@pytest.fixture(scope="module")
def good_arrays(tmp_path_factory):
    """The members of a good lenet checkpoint."""
    path = tmp_path_factory.mktemp("good") / "lenet.npz"
    save(
        path,
        build_preset("lenet", rng=np.random.default_rng(0)).model,
        (1, 28, 28),
        meta={"note": "good"},
    )
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def in_thread(fn, *args):
    """fn(*args) in a daemon thread: (finished?, result or exception). A FIFO must not hang."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # reported to the test
            box["value"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout=20)
    return not t.is_alive(), box.get("value")


CHECKPOINT_CASES = [
    *[(i, lambda d, a, m=m: m(d), rx) for i, m, rx in bad_files.NOT_REGULAR],
    *bad_checkpoints.CHECKPOINTS,
]


@pytest.mark.parametrize(
    ("maker", "match"), [c[1:] for c in CHECKPOINT_CASES], ids=[c[0] for c in CHECKPOINT_CASES]
)
def test_a_bad_checkpoint_is_named_and_changes_nothing(tmp_path, good_arrays, maker, match):
    path = maker(tmp_path, good_arrays)
    model = build_preset("lenet", rng=np.random.default_rng(5)).model
    before, files = params_of(model), snapshot(tmp_path)
    for attempt in (load, lambda p: load_into(model, p)):
        done, result = in_thread(attempt, path)
        assert done, f"loading {path} hung"
        assert isinstance(result, CheckpointError), result
        message = str(result)
        assert message.startswith(str(path)), message  # names the file first
        assert len(message) < 600, message  # one readable line, not a dump
        assert "\n" not in message
        if attempt is load:  # load_into may first see the spec differ from its model's
            assert re.search(match, message), (match, message)
    assert all(np.array_equal(a, b) for a, b in zip(params_of(model), before, strict=True))
    assert snapshot(tmp_path) == files


def test_the_good_arrays_load(tmp_path, good_arrays):
    """The catalogue's base checkpoint is fine: each case's error comes from its one change."""
    made = bad_checkpoints.edited()(tmp_path, good_arrays)
    model, shape, meta = load(made)
    assert (
        shape == (1, 28, 28) and meta == {"note": "good"} and model.num_parameters() == 9098
    )  # 8*9+8 + 16*8*9+16 + 784*10+10


@pytest.fixture
def member_reads(monkeypatch):
    """The names of the archive members read, in order."""
    read = []
    real_read = engine.npz.Archive.read

    def recording(self, name, *args):
        read.append(name)
        return real_read(self, name, *args)

    monkeypatch.setattr(engine.npz.Archive, "read", recording)
    return read


def test_the_zip_bomb_is_refused_before_anything_is_inflated(tmp_path, good_arrays, member_reads):
    path = bad_checkpoints.zip_bomb(tmp_path, good_arrays)
    with pytest.raises(CheckpointError, match="inflates to 83,886,208 bytes"):
        load(path)
    assert member_reads == []  # refused from the archive's directory alone


def test_the_archive_total_is_capped(tmp_path, good_arrays, monkeypatch):
    monkeypatch.setattr(engine.npz, "MAX_ARCHIVE_BYTES", 50_000)  # lenet's members: ~37 KB + text
    path = bad_checkpoints.edited(p6=np.zeros(5_000, np.float32))(tmp_path, good_arrays)
    with pytest.raises(
        CheckpointError, match=r"members inflate to [\d,]+ bytes; the limit is 50,000"
    ):
        load(path)


def test_each_member_is_read_once(tmp_path, good_arrays, member_reads):
    load(bad_checkpoints.edited()(tmp_path, good_arrays))
    assert sorted(member_reads) == sorted(good_arrays)


IMAGE_CASES = [*bad_files.NOT_REGULAR, *bad_images.IMAGE_ERRORS]


@pytest.mark.parametrize(
    ("maker", "match"), [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES]
)
def test_a_bad_image_is_named_and_changes_nothing(tmp_path, maker, match):
    path = maker(tmp_path)
    files = snapshot(tmp_path)
    done, result = in_thread(prepare_image, path)
    assert done, f"reading {path} hung"
    assert isinstance(result, ImageError), result
    assert str(result).startswith(str(path)) and re.search(match, str(result)), str(result)
    assert snapshot(tmp_path) == files


@pytest.mark.parametrize(
    ("maker", "blank"),
    [c[1:] for c in bad_images.IMAGE_ODDITIES],
    ids=[c[0] for c in bad_images.IMAGE_ODDITIES],
)
def test_odd_images_give_finite_input_and_say_when_there_is_no_ink(tmp_path, maker, blank):
    out = prepare_image(maker(tmp_path))
    assert out.pixels.shape == (28, 28) and np.all(np.isfinite(out.pixels))
    assert out.pixels.min() >= 0.0 and out.pixels.max() <= 1.0
    assert out.blank is blank
    assert out.note == (NO_INK_NOTE if blank else "")
    if not blank:
        assert out.pixels.max() > 0.5  # the stroke is there


def test_an_inf_tiff_no_longer_crashes(tmp_path):
    """Issue 8 item 3: +inf strokes on finite paper made (inf - lo) / inf = NaN, and then
    'zero-size array to reduction operation minimum' escaped prepare_image."""
    path = tmp_path / "inf.tif"
    Image.fromarray(bad_images.stroke(np.inf, 0.0).astype(np.float32), mode="F").save(path)
    out = prepare_image(path)
    assert not out.blank and np.all(np.isfinite(out.pixels)) and out.pixels.max() == 1.0


def test_a_mode_pillow_cannot_convert_is_named(tmp_path, monkeypatch):
    path = tmp_path / "odd.png"
    Image.new("RGB", (8, 8)).save(path)

    def refuse(self, mode=None, *args, **kwargs):
        raise ValueError(f"conversion from {self.mode} to {mode} not supported")

    monkeypatch.setattr(Image.Image, "convert", refuse)  # as Pillow does for e.g. LAB -> L
    with pytest.raises(ImageError, match=r"odd\.png: images in mode RGB cannot be converted"):
        prepare_image(path)


ENGINE_CALLS = [
    # (id, call, exception type, regex)
    ("input-shape-2d", lambda: image_to_input(Image.new("L", (5, 5)), (28, 28)), ValueError,
     r"needs a \(C, H, W\) model input shape, got \(28, 28\)"),
    ("spec-none", lambda: from_spec(None), ValueError, r"spec must be a dict with a 'type'"),
    ("spec-deep", lambda: check_spec(bad_checkpoints.nested_blocks(40)), LimitError,
     r"nested more than 16"),
    ("spec-huge-linear", lambda: check_spec(bad_checkpoints.linear(10**5, 10**5)), LimitError,
     r"10,000,100,000"),
    ("shape-huge", lambda: check_input_shape((1, 10**6, 10**6)), LimitError,
     r"1,000,000,000,000 values per sample; the limit is 1,048,576"),
    ("shape-empty", lambda: check_input_shape(()), LimitError, r"at least 1"),
    ("open-fifo", lambda d: open_regular(bad_files.fifo(d), "image file"), NotARegularFile,
     r"is a named pipe \(FIFO\), not an image file"),
    ("open-dir", lambda d: open_regular(d, "checkpoint file"), NotARegularFile,
     r"is a directory, not a checkpoint file"),
    ("output-dir", lambda d: check_output(d), NotARegularFile, r"is a directory; give a file"),
    ("output-fifo", lambda d: check_output(bad_files.fifo(d)), NotARegularFile, r"is a named pipe"),
    ("output-dev-null", lambda: check_output("/dev/null"), NotARegularFile,
     r"is a character device"),
    ("output-no-dir", lambda d: check_output(d / "no" / "m.npz"), NotARegularFile,
     r"directory .*no does not exist"),
    ("output-under-file", lambda d: check_output(bad_images.digit_png(d) / "m.npz"),
     NotARegularFile, r"directory .*one\.png is not a directory"),
    ("save-shape", lambda d: save(d / "m.npz", build_preset("lenet").model, (3, 28, 28)),
     CheckpointError, r"m\.npz: input shape \(3, 28, 28\) does not fit"),
    ("save-meta", lambda d: save(d / "m.npz", build_preset("lenet").model, (1, 28, 28),
                                 {"t": object()}), CheckpointError, r"not JSON-able"),
    ("save-nan-meta", lambda d: save(d / "m.npz", build_preset("lenet").model, (1, 28, 28),
                                     {"t": float("nan")}), CheckpointError, r"not JSON-able"),
    ("save-into-dir", lambda d: save(d, build_preset("lenet").model, (1, 28, 28)),
     CheckpointError, r"could not save"),
    ("save-no-dir", lambda d: save(d / "x" / "m.npz", build_preset("lenet").model, (1, 28, 28)),
     CheckpointError, r"m\.npz: could not save \(No such file or directory\); nothing was written"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in ENGINE_CALLS], ids=[c[0] for c in ENGINE_CALLS]
)
def test_bad_engine_calls_are_named(tmp_path, call, error, match):
    files = snapshot(tmp_path)
    with pytest.raises(error, match=match):
        call(tmp_path) if call.__code__.co_argcount else call()
    after = snapshot(tmp_path)
    made = {k for k in after if k not in files}  # a maker's own fixture file (fifo, png)
    assert {k: v for k, v in after.items() if k not in made} == files
    assert not any(name.endswith(".tmp") for name in after)


def test_save_still_fails_cleanly_when_the_writer_dies(tmp_path, monkeypatch):
    def crash(f, arrays):
        raise KeyboardInterrupt  # ctrl+c mid-save: no temp file may stay behind

    monkeypatch.setattr(ckpt, "write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path / "m.npz", build_preset("lenet").model, (1, 28, 28))
    assert list(tmp_path.iterdir()) == []
