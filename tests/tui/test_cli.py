"""The cnn-tui console script: train, predict, help, errors, and no Textual on headless paths."""

import re
import subprocess
import sys
import types

import numpy as np
import pytest

from engine import paths
from engine.train import DEFAULT_LR, TrainConfig
from tui.cli import main

ACCURACY_LINE = re.compile(r"accuracy \d{1,3}\.\d\d% on 2000 held-out digits")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "tiny.npz"
    assert main(["train", "--max-steps", "3", "--seed", "1", "--out", str(out)]) == 0
    return out


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_train_writes_a_checkpoint_and_ends_with_the_accuracy_line(capsys, tmp_path):
    out = tmp_path / "m.npz"
    code, stdout, _ = run_main(
        capsys,
        "train",
        "--max-steps",
        "4",
        "--optimizer",
        "adam",
        "--batch-size",
        "16",
        "--dropout",
        "0.1",
        "--out",
        str(out),
    )
    assert code == 0 and out.exists()
    lines = stdout.strip().splitlines()
    assert ACCURACY_LINE.fullmatch(lines[-1])
    assert lines[0].startswith("training lenet") and "adam lr=0.002 batch 16" in lines[0]
    assert "\r" not in stdout  # piped: plain lines, no progress bar
    assert any(line.startswith("epoch 1/8 step 4/4") for line in lines)


def test_progress_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, stdout, _ = run_main(capsys, "train", "--max-steps", "2")
    assert code == 0 and "\r" in stdout and "ETA" in stdout
    assert ACCURACY_LINE.fullmatch(stdout.strip().splitlines()[-1])


def test_predict_with_a_trained_checkpoint(capsys, tiny_checkpoint):
    sample = paths.SAMPLES_DIR / "digit_2.jpg"
    code, stdout, _ = run_main(capsys, "predict", str(sample), "--model", str(tiny_checkpoint))
    assert code == 0
    rows = [line for line in stdout.splitlines() if re.match(r"\s*\d \s*\d+\.\d\d%", line)]
    assert len(rows) == 10
    total = sum(float(re.search(r"(\d+\.\d\d)%", row).group(1)) for row in rows)
    assert total == pytest.approx(100, abs=0.06)
    assert stdout.splitlines()[-1].startswith("prediction: ")


def test_predict_with_the_shipped_model(capsys):
    for digit, name in [(7, "digit_7.png"), (0, "digit_0.png"), (4, "digit_4.gif")]:
        code, stdout, _ = run_main(capsys, "predict", str(paths.SAMPLES_DIR / name))
        assert code == 0 and stdout.splitlines()[-1].startswith(f"prediction: {digit} ")
        assert "on 2000 held-out digits" in stdout


def test_corrupt_or_missing_checkpoint_is_refused(capsys, tmp_path, tiny_checkpoint):
    image = str(paths.SAMPLES_DIR / "digit_7.png")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"definitely not a checkpoint")
    half = tmp_path / "half.npz"
    half.write_bytes(tiny_checkpoint.read_bytes()[:2000])
    for bad in (junk, half, tmp_path / "absent.npz"):
        code, stdout, err = run_main(capsys, "predict", image, "--model", str(bad))
        assert code == 2 and stdout == ""
        one_error_line(err, "cnn-tui predict: error:", bad.name)


def test_a_model_that_is_not_a_classifier_is_refused(capsys, tmp_path):
    from engine.checkpoint import save
    from engine.presets import article

    preset = article()
    save(tmp_path / "article.npz", preset.model, preset.input_shape)
    image = str(paths.SAMPLES_DIR / "checkerboard.png")
    code, _, err = run_main(capsys, "predict", image, "--model", str(tmp_path / "article.npz"))
    assert code == 2
    one_error_line(err, "article.npz", "(1, 5, 5) -> (1, 3, 3)", "not a classifier")


def test_bad_images_are_refused(capsys, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    for bad in (text, tmp_path / "missing.png"):
        code, _, err = run_main(capsys, "predict", str(bad))
        assert code == 2
        one_error_line(err, bad.name)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--lr", "-1"], "--lr"),
        (["train", "--lr", "nan"], "--lr"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--optimizer", "rmsprop"], "--optimizer"),
        (["train", "--dropout", "1"], "--dropout"),
        (["train", "--bogus"], "--bogus"),
        (["predict"], "image"),
        (["train", "--preset", "vgg"], "invalid choice: 'vgg' (choose from 'lenet', 'resnet')"),
        (["train", "--preset", "article"], "invalid choice: 'article'"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, argv, needle):
    code, stdout, err = run_main(capsys, *argv)
    assert code == 2 and stdout == ""
    one_error_line(err, needle)


def test_nothing_written_on_failure(capsys, tmp_path):
    missing_dir = tmp_path / "nope" / "m.npz"
    code, _, err = run_main(capsys, "train", "--out", str(missing_dir))
    assert code == 2 and not missing_dir.parent.exists()
    one_error_line(err, "does not exist")
    out = tmp_path / "diverged.npz"
    code, _, err = run_main(capsys, "train", "--lr", "10", "--max-steps", "30", "--out", str(out))
    assert code == 1 and "diverged" in err and "Nothing written" in err
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_real_defaults(capsys):
    code, stdout, _ = run_main(capsys, "train", "--help")
    assert code == 0
    text = " ".join(stdout.split())
    config = TrainConfig()
    assert f"(default: {config.epochs})" in text and f"(default: {config.batch_size})" in text
    assert f"(default: {config.optimizer})" in text and f"(default: {config.schedule})" in text
    lenet = DEFAULT_LR["lenet"]
    assert f"{lenet['momentum']:g} momentum, {lenet['sgd']:g} sgd" in text
    assert f"{lenet['adam']:g} adam" in text and config.momentum == 0.9


def test_no_arguments_launches_the_app(monkeypatch):
    launched = []

    class FakeApp:
        def run(self):
            launched.append(True)

    monkeypatch.setitem(sys.modules, "tui.app", types.SimpleNamespace(CnnTuiApp=FakeApp))
    assert main([]) == 0 and launched == [True]


def test_headless_commands_do_not_import_textual(tmp_path):
    out = tmp_path / "m.npz"
    script = (
        "import sys\n"
        "from tui.cli import main\n"
        "assert main(['--help']) == 0\n"
        f"assert main(['train', '--max-steps', '1', '--out', {str(out)!r}]) == 0\n"
        f"assert main(['predict', {str(paths.SAMPLES_DIR / 'digit_7.png')!r}]) == 0\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ACCURACY_LINE.search(done.stdout)
    assert np.load(out)["format"] == "cnn-tui-checkpoint"


def test_weight_decay_divergence_names_the_weight_decay(capsys, tmp_path):
    out = tmp_path / "m.npz"
    argv = ("train", "--weight-decay", "1e308", "--max-steps", "3", "--out", str(out))
    code, _, err = run_main(capsys, *argv)
    assert code == 1 and "weight decay is too large (weight_decay=1e+308" in err
    assert "learning rate" not in err and "Warning" not in err  # no overflow warning leaks
    assert not out.exists()


def test_the_optimizer_choices_are_the_engines():
    from engine.optim import OPTIMIZERS
    from tui.cli import build_parser

    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    (choices,) = [a.choices for a in train._actions if a.dest == "optimizer"]
    assert sorted(choices) == sorted(OPTIMIZERS)
