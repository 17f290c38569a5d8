"""The bad-input catalogue of `cnn-tui`: every flag out of range and every bad file is one
line on stderr naming the flag or file and the problem, exit code 2, nothing written.

Bad files come from tests/engine/bad_*.py (shared with the engine catalogue).
"""

import errno
import json
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine.checkpoint
import engine.files
from engine import paths
from engine.images import NO_INK_NOTE
from engine.presets import MNIST_PRESETS
from tests.engine import bad_checkpoints, bad_files, bad_images
from tui import cli
from tui.cli import main

SAMPLE = str(paths.SAMPLES_DIR / "digit_7.png")

# (argv, what the one line must contain): the flag's name and the rule it broke.
BAD_FLAGS = [
    (["train", "--seed", "-5"], "argument --seed: -5 must be from 0 to 4,294,967,295"),
    (["train", "--seed", str(2**32)], "--seed: 4294967296 must be from 0"),
    (["train", "--seed", "1.5"], "--seed: '1.5' is not a whole number"),
    (["train", "--seed", "x"], "--seed: 'x' is not a whole number"),
    (["train", "--epochs", "0"], "--epochs: 0 must be from 1 to 1,000"),
    (["train", "--epochs", "-3"], "--epochs: -3 must be from 1"),
    (["train", "--epochs", "1001"], "--epochs: 1001 must be from 1 to 1,000"),
    (["train", "--epochs", "2.0"], "--epochs: '2.0' is not a whole number"),
    (["train", "--epochs", ""], "--epochs: '' is not a whole number"),
    (["train", "--batch-size", "0"], "--batch-size: 0 must be from 1 to 8,000"),
    (["train", "--batch-size", "8001"], "--batch-size: 8001 must be from 1 to 8,000"),
    (["train", "--batch-size", "10" * 30], "--batch-size: " + "10" * 30 + " must be from 1"),
    (["train", "--max-steps", "0"], "--max-steps: 0 must be from 1"),
    (["train", "--max-steps", str(10**9 + 1)], "--max-steps: 1000000001 must be from 1"),
    (["train", "--lr", "0"], "--lr: 0 must be > 0 and <= 100"),
    (["train", "--lr", "-1"], "--lr: -1 must be > 0"),
    (["train", "--lr", "nan"], "--lr: nan must be > 0"),
    (["train", "--lr", "inf"], "--lr: inf must be > 0"),
    (["train", "--lr", "101"], "--lr: 101 must be > 0 and <= 100"),
    (["train", "--lr", "1e400"], "--lr: 1e400 must be"),
    (["train", "--lr", "fast"], "--lr: 'fast' is not a number"),
    (["train", "--momentum", "1"], "--momentum: 1 must be >= 0 and < 1"),
    (["train", "--momentum", "-0.1"], "--momentum: -0.1 must be >= 0"),
    (["train", "--momentum", "nan"], "--momentum: nan must be"),
    (["train", "--weight-decay", "-1"], "--weight-decay: -1 must be >= 0"),
    (["train", "--weight-decay", "inf"], "--weight-decay: inf must be >= 0"),
    (["train", "--weight-decay", "nan"], "--weight-decay: nan must be >= 0"),
    (["train", "--dropout", "1"], "--dropout: 1 must be >= 0 and < 1"),
    (["train", "--dropout", "-0.5"], "--dropout: -0.5 must be >= 0"),
    (["train", "--optimizer", "rmsprop"], "--optimizer: invalid choice: 'rmsprop'"),
    (["train", "--schedule", "step"], "--schedule: invalid choice: 'step'"),
    (["train", "--preset", "foo"], "--preset: invalid choice: 'foo' (choose from 'lenet', 're"),
    (["train", "--preset", "article"], "--preset: invalid choice: 'article' (choose from 'lenet'"),
    (["train", "--preset", "[red]x"], "--preset: invalid choice: '[red]x'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--out"], "argument --out/-o: expected one argument"),
    (["train", "extra"], "unrecognized arguments: extra"),
    (["predict"], "the following arguments are required: image"),
    (["predict", SAMPLE, "--invert", "--no-invert"], "--no-invert: not allowed with argument"),
    (["predict", SAMPLE, "--model"], "argument --model: expected one argument"),
    (["fly"], "argument COMMAND: invalid choice: 'fly'"),
    (["serve", "--port", "0"], "argument --port: 0 must be from 1"),
    (["serve", "--port", "70000"], "argument --port: 70000 is not a port (1-65535)"),
    (["serve", "--port", "http"], "argument --port: 'http' is not a whole number"),
    (["serve", "--max-sessions", "0"], "argument --max-sessions: 0 must be from 1"),
    (["serve", "--max-sessions", "-1"], "argument --max-sessions: -1 must be from 1"),
]  # fmt: skip


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


@pytest.mark.parametrize(("argv", "needle"), BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_a_flag_out_of_range_is_one_line_naming_it(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, argv)
    assert code == 2 and out == ""
    line = one_line(err)
    assert needle in line and line.startswith("cnn-tui")
    assert listing(tmp_path) == []  # nothing written


def in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("code", fn()), daemon=True)
    t.start()
    t.join(timeout=60)
    return not t.is_alive(), box.get("code")


IMAGE_CASES = [*bad_files.NOT_REGULAR, *bad_images.IMAGE_ERRORS]


@pytest.mark.parametrize(
    ("maker", "match"), [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES]
)
def test_a_bad_image_is_one_line_naming_it(capsys, tmp_path, maker, match):
    path = maker(tmp_path)
    before = listing(tmp_path)
    done, code = in_thread(lambda: main(["predict", str(path)]))
    assert done, f"cnn-tui predict {path} hung"
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"cnn-tui predict: error: {path}: ") and re.search(match, line), line
    assert listing(tmp_path) == before


MODEL_CASES = [
    *[(i, lambda d, a, m=m: m(d), rx) for i, m, rx in bad_files.NOT_REGULAR],
    *bad_checkpoints.CHECKPOINTS,
]


@pytest.fixture(scope="module")
def good_arrays(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "lenet.npz"
    engine.checkpoint.save(path, *engine.checkpoint.load(paths.PRETRAINED_LENET)[:2])
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize(
    ("maker", "match"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES]
)
def test_a_bad_model_file_is_one_line_naming_it(capsys, tmp_path, good_arrays, maker, match):
    path = maker(tmp_path, good_arrays)
    before = listing(tmp_path)
    done, code = in_thread(lambda: main(["predict", SAMPLE, "--model", str(path)]))
    assert done, f"cnn-tui predict --model {path} hung"
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"cnn-tui predict: error: cannot load model: {path}: "), line
    assert re.search(match, line), (match, line)
    assert listing(tmp_path) == before


def read_only(monkeypatch, directory: Path):
    """Creating files in directory fails with EACCES, as in a read-only directory (tests may
    run as root, whom chmod does not stop)."""
    real_open, real_mkstemp = os.open, engine.checkpoint.tempfile.mkstemp

    def guarded_open(path, flags, *args, **kwargs):
        if Path(path).parent == directory and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == directory:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(engine.files.os, "open", guarded_open)
    monkeypatch.setattr(engine.checkpoint.tempfile, "mkstemp", guarded_mkstemp)


OUT_CASES = [
    # (id, maker of the --out path, what the line names)
    ("directory", bad_files.directory, r"--out .*folder: is a directory"),
    ("fifo", bad_files.fifo, r"--out .*pipe: is a named pipe \(FIFO\)"),
    ("dev-null", lambda d: Path("/dev/null"), r"--out /dev/null: is a character device"),
    ("socket", bad_files.unix_socket, r"--out .*sock: is a socket"),
    ("missing-dir", lambda d: d / "nope" / "m.npz", r"directory .*nope does not exist"),
    ("under-a-file", lambda d: bad_images.digit_png(d) / "m.npz", r"one\.png is not a directory"),
]


@pytest.mark.parametrize(
    ("maker", "match"), [c[1:] for c in OUT_CASES], ids=[c[0] for c in OUT_CASES]
)
def test_a_bad_out_is_refused_before_training(capsys, tmp_path, maker, match):
    out_path = maker(tmp_path)
    before = listing(tmp_path)
    code, out, err = run(capsys, ["train", "--max-steps", "1", "--out", out_path])
    assert code == 2 and out == ""  # no "training ..." line: refused before it started
    assert re.search(match, one_line(err)), err
    assert listing(tmp_path) == before


def test_a_read_only_out_directory_is_refused_before_training(capsys, tmp_path, monkeypatch):
    """Issue 8 item 8: training ran for minutes, then the save failed and the model was lost."""
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(monkeypatch, locked)
    code, out, err = run(capsys, ["train", "--max-steps", "1", "--out", locked / "x.npz"])
    assert code == 2 and out == ""
    assert f"--out {locked / 'x.npz'}: cannot write in {locked} (Permission denied)" in one_line(
        err
    )
    assert listing(locked) == []


def test_a_save_that_fails_after_training_rescues_the_model(capsys, tmp_path, monkeypatch):
    target_dir, cwd = tmp_path / "target", tmp_path / "cwd"
    target_dir.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    real_save = engine.checkpoint.save

    def save_then_lock(path, *args, **kwargs):  # the directory turns read-only mid-run
        read_only(monkeypatch, target_dir)
        monkeypatch.setattr(engine.checkpoint, "save", real_save)
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(engine.checkpoint, "save", save_then_lock)
    code, out, err = run(capsys, ["train", "--max-steps", "2", "--out", target_dir / "x.npz"])
    assert code == 1 and "accuracy" in out.splitlines()[-1]
    rescued = list(cwd.glob("x.rescued-*.npz"))
    assert len(rescued) == 1 and listing(target_dir) == []
    line = one_line(err)
    assert f"{target_dir / 'x.npz'}: could not save (Permission denied)" in line
    assert f"saved the model to {rescued[0]} instead" in line
    model, shape, meta = engine.checkpoint.load(rescued[0])
    assert shape == (1, 28, 28) and meta["steps"] == 2


def test_same_seed_same_bytes(capsys, tmp_path):
    """Issue 8 item 16: the training time in the metadata (and zip dates) made files differ."""
    for name in ("a.npz", "b.npz"):
        code, _, _ = run(
            capsys, ["train", "--max-steps", "2", "--seed", "3", "--out", tmp_path / name]
        )
        assert code == 0
    first, second = (tmp_path / "a.npz").read_bytes(), (tmp_path / "b.npz").read_bytes()
    assert first == second
    meta = engine.checkpoint.load(tmp_path / "a.npz")[2]
    assert not any("second" in key or "time" in key for key in meta)


def test_predict_on_a_fifo_returns_at_once(capsys, tmp_path):
    """Issue 8 item 10: `cnn-tui predict PIPE` blocked forever in open()."""
    pipe = bad_files.fifo(tmp_path)
    done, code = in_thread(lambda: main(["predict", str(pipe)]))
    assert done and code == 2
    assert f"{pipe}: is a named pipe (FIFO), not an image file" in one_line(capsys.readouterr()[1])


def test_predict_on_inf_tiffs(capsys, tmp_path):
    """Issue 8 items 3 and 14: an inf stroke crashed predict; a blank image got no note."""
    stroke, blank = tmp_path / "stroke.tif", tmp_path / "blank.tif"
    Image.fromarray(bad_images.stroke(np.inf, 0.0).astype(np.float32), mode="F").save(stroke)
    Image.fromarray(np.full((28, 28), np.inf, np.float32), mode="F").save(blank)
    code, out, err = run(capsys, ["predict", stroke])
    assert code == 0 and err == "" and "note:" not in out
    assert out.splitlines()[-1].startswith("prediction: ")
    code, out, _ = run(capsys, ["predict", blank])
    assert code == 0
    assert f"note: {NO_INK_NOTE}" in out and out.splitlines()[-1].endswith("(no ink)")


@pytest.mark.parametrize(
    ("maker", "blank"),
    [c[1:] for c in bad_images.IMAGE_ODDITIES],
    ids=[c[0] for c in bad_images.IMAGE_ODDITIES],
)
def test_odd_images_predict_with_a_note_exactly_when_blank(capsys, tmp_path, maker, blank):
    code, out, err = run(capsys, ["predict", maker(tmp_path)])
    assert code == 0 and err == ""
    assert ("note: no ink found" in out) is blank
    assert out.splitlines()[-1].startswith("prediction: ")


def test_one_list_of_presets_everywhere(capsys):
    """Issue 8 item 23: the error listed 'article', which train then refused; --help said
    'lenet or resnet'."""
    from tui.widgets.hyperparams import PRESETS as LAB_PRESETS

    assert cli.TRAIN_PRESETS == MNIST_PRESETS == tuple(LAB_PRESETS)
    code, out, _ = run(capsys, ["train", "--help"])
    assert code == 0 and f"one of {', '.join(MNIST_PRESETS)} (default: lenet)" in " ".join(
        out.split()
    )
    for name in MNIST_PRESETS:
        from engine.presets import PRESETS

        assert PRESETS[name]().input_shape == (1, 28, 28)
    _, _, err = run(capsys, ["train", "--preset", "article"])
    listed = re.search(r"choose from (.*)\)", err).group(1)
    assert re.findall(r"'(\w+)'", listed) == list(MNIST_PRESETS)


@pytest.mark.parametrize(
    "summary", ["\x1b[2J\x1b]0;pwned\x07", "line\nbreak\r", "x" * 5000, {"a": 1}, ["\x1b[31m"]]
)
def test_text_from_a_model_file_cannot_drive_the_terminal(capsys, tmp_path, good_arrays, summary):
    meta = np.array(json.dumps({"summary": summary}))
    path = bad_checkpoints.edited(meta=meta)(tmp_path, good_arrays)
    code, out, err = run(capsys, ["predict", SAMPLE, "--model", path])
    assert code == 0 and err == ""
    model_line = out.splitlines()[1]
    assert model_line.startswith(f"model: {path}") and len(model_line) < 300
    assert all(c.isprintable() for c in out.replace("\n", ""))
