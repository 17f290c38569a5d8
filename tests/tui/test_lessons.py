"""The lessons: entry (home, learn N, --list), progress, and each lesson's numbers vs the engine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest
from _pilot import plain

from tui import lessons
from tui.app import CnnTuiApp
from tui.lessons.base import unfilled
from tui.progress import Progress, state_dir

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def learn_app(tmp_path, number: int = 1) -> CnnTuiApp:
    """Lesson `number` with its own progress file and no background compile."""
    progress = Progress(tmp_path / "progress.json")
    return CnnTuiApp(start="learn", lesson=number, warm_up=False, progress=progress)


async def until(check, timeout: float = 60.0) -> None:
    """Wait (letting the app run) until check() is true."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition never became true")


def question_line(screen) -> str:
    return plain(screen.query_one("#lesson-question"), 200)


# ---- entry ----------------------------------------------------------------------------------
def test_learn_list_prints_the_numbered_titles_without_textual():
    script = (
        "import sys\n"
        "from tui.cli import main\n"
        "assert main(['learn', '--list']) == 0\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 12
    assert lines[0].split() == ["1.", "Convolution"]
    assert lines[11].strip() == "12. Your own digit"


def test_learn_with_a_number_out_of_range_names_the_range(capsys):
    from tui.cli import main

    assert main(["learn", "13"]) == 2
    assert "there is no lesson 13: the lessons are 1 to 12" in capsys.readouterr().err


async def test_home_lists_every_lesson_and_enter_starts_the_first(tmp_path):
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        listing = app.screen.query_one("#home-list")
        ids = [listing.get_option_at_index(k).id for k in range(listing.option_count)]
        assert ids[:12] == [f"lesson-{n}" for n in range(1, 13)]
        assert ids[-4:] == ["place-explore", "place-training", "place-predict", "place-transfer"]
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "LessonScreen" and app.screen.number == 1
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"


# ---- progress -------------------------------------------------------------------------------
def test_progress_lives_in_xdg_state_home_and_is_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_dir() == tmp_path / "cnn-tui"
    progress = Progress()
    progress.mark(1, 0)
    saved = json.loads((tmp_path / "cnn-tui" / "progress.json").read_text())
    assert saved["answered"] == {"1": [0]}
    assert [p.name for p in (tmp_path / "cnn-tui").iterdir()] == ["progress.json"]  # no temp left
    assert Progress().done(1, 1) and not Progress().done(2, 1)


def test_progress_falls_back_to_home_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert state_dir() == tmp_path / ".local" / "state" / "cnn-tui"


def test_unwritable_progress_keeps_working_and_says_so_once(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    progress = Progress(blocker / "progress.json")
    progress.mark(1, 0)
    assert progress.count(1) == 1  # kept in memory
    message = progress.take_problem()
    assert message and "progress is not saved" in message
    progress.mark(2, 0)
    assert progress.take_problem() is None  # once


def test_corrupt_progress_file_starts_afresh(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    progress = Progress(path)
    assert progress.count(1) == 0 and "could not read progress" in progress.take_problem()


# ---- the framework --------------------------------------------------------------------------
WRITTEN = [e.number for e in lessons.ENTRIES if lessons.available(e.number)]


def test_the_first_six_lessons_are_written():
    assert WRITTEN[:1] == [1]


@pytest.mark.parametrize("number", WRITTEN)
def test_every_written_lesson_has_a_page_per_markdown_page_and_a_question(number):
    lesson = lessons.load(number)
    assert len(lesson.texts()) == len(lesson.pages)
    assert lesson.questions, "every lesson asks at least one question"
    assert lesson.title == lessons.entry(number).title


@pytest.mark.parametrize("number", WRITTEN)
async def test_every_placeholder_is_filled_on_every_page(tmp_path, number):
    app = learn_app(tmp_path, number)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        for page in range(len(screen.lesson.pages)):
            screen.show_page(page)
            await pilot.pause()
            assert not unfilled(screen._text), (page, unfilled(screen._text))


# ---- lesson 1 -------------------------------------------------------------------------------
@size_ids
async def test_lesson1_sums_to_six_at_all_nine_positions(tmp_path, size):
    from engine.presets import article

    preset = article(np.random.default_rng(0))
    engine_out = preset.model.forward(np.tile(np.arange(4, -1, -1), (1, 1, 5, 1)))  # rows 4..0
    hand = 3 * (4 * 1 + 3 * 0 + 2 * -1)  # three kernel rows of 4·1 + 3·0 + 2·(−1)
    assert hand == 6
    app = learn_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.show_page(1)  # no question on page 2: the sums are shown
        await pilot.pause()
        view = screen.view
        seen = set()
        path = [(None, (0, 0)), ("right", (0, 1)), ("right", (0, 2)), ("down", (1, 2)),
                ("left", (1, 1)), ("left", (1, 0)), ("down", (2, 0)), ("right", (2, 1)),
                ("right", (2, 2))]  # fmt: skip
        for key, (i, j) in path:  # a snake through all nine positions, one key each
            if key:
                await pilot.press(key)
                await pilot.pause()
            state = view.state()
            assert state["pos"] == (i, j)
            assert state["total"] == pytest.approx(engine_out[0, 0, i, j]) == hand
            assert state["rows"] == [2, 2, 2]
            shown = plain(view, size[0])
            assert f"(I*K)({i},{j}) = 2 + 2 + 2 = 6" in shown
            assert f"window is at ({i},{j})" in screen._text
            seen.add((i, j))
        assert len(seen) == 9


@size_ids
async def test_lesson1_question_conceals_then_checks_against_the_engine(tmp_path, size):
    app = learn_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        view = screen.view
        assert "?" in plain(view, size[0]) and "2 + 2 + 2 = 6" not in plain(view, size[0])
        await pilot.press("a", "1", "0", "enter")  # the article's 10
        await pilot.pause()
        line = question_line(screen)
        assert "✗ not 10: it is 6" in line and "2 + 2 + 2 = 6" in line
        assert app.progress.count(1) == 0
        await pilot.press("a", "x", "enter")
        await pilot.pause()
        assert "'x' is not a number" in question_line(screen)
        await pilot.press("backspace", "6", "enter")
        await pilot.pause()
        assert question_line(screen).startswith("✓ 6: right")
        assert app.progress.count(1) == 1
        assert json.loads((tmp_path / "progress.json").read_text())["answered"] == {"1": [0]}
        await pilot.press("escape")  # back to the home screen: lesson 1 is ticked
        await pilot.pause()
        listing = app.screen.query_one("#home-list")
        assert "✓" in listing.get_option_at_index(0).prompt.plain


async def test_lesson1_window_is_framed_without_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        lines = plain(app.screen.view, 80).splitlines()
        assert any("┌" in line and "┐" in line for line in lines)
        framed = [line for line in lines if line.count("│") == 2]
        assert len(framed) == 3  # the three rows of the window, boxed at columns 1..3
        assert all(line.split("│")[1].split() == ["3", "2", "1"] for line in framed)


async def test_lesson1_digit_page_convolves_with_the_engine(tmp_path):
    from engine.conv import Conv2d
    from engine.data import load_mnist
    from tui.lessons.lesson01_convolution import named_kernels

    app = learn_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.show_page(3)
        view = app.screen.view
        await until(lambda: view.out is not None)
        await pilot.press("greater_than_sign", "k")  # digit 1, horizontal edge
        await pilot.pause()
        x = load_mnist().images[1:2].astype(np.float64)  # (1, 1, 28, 28)
        k = named_kernels()[1].astype(np.float64)
        ref = np.zeros((28, 28))
        xp = np.pad(x[0, 0], 1)
        for u in range(3):
            for v in range(3):
                ref += k[u, v] * xp[u : u + 28, v : v + 28]  # cross-correlation, by hand
        assert view.state()["kernel"] == "horizontal edge"
        np.testing.assert_allclose(view.out[1], ref, atol=1e-5)
        assert isinstance(view.conv, Conv2d)
        # edit your kernel: the centre cell from 1 to 3 triples the copy of the digit
        await pilot.press("up", "down", "plus", "plus")
        await pilot.pause()
        np.testing.assert_allclose(view.out[4], 3 * x[0, 0], atol=1e-5)


async def open_page(app, pilot, page: int):
    """Show `page` of the lesson on screen and wait until its view has its numbers."""
    screen = app.screen
    screen.show_page(page)
    view = screen.view
    await until(lambda: view.ready)
    await pilot.pause()
    return screen, view


async def answer(pilot, screen, reply: str) -> str:
    """Type a reply to the page's question; the question line afterwards."""
    await pilot.press("a", *reply, "enter")
    await pilot.pause()
    return question_line(screen)


# ---- lesson 2 -------------------------------------------------------------------------------
@size_ids
async def test_lesson2_output_sizes_from_the_formula_and_the_engine_agree(tmp_path, size):
    from engine.conv import Conv2d
    from engine.presets import article_input

    x = article_input()  # (1, 1, 5, 5)
    app = learn_app(tmp_path, 2)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)  # k 3, s 1, p 1; p chosen
        await pilot.press("right")  # p = 2
        await pilot.press("up", "up", "right", "right")  # k = 5
        await pilot.pause()
        await until(lambda: view.result["settings"] == {"k": 5, "s": 1, "p": 2})
        for k, s, p in [(5, 1, 2), (3, 1, 0), (3, 2, 1), (2, 2, 0), (1, 3, 0), (4, 3, 3)]:
            view.settings = {"k": k, "s": s, "p": p}
            view.compute()
            await until(lambda k=k, s=s, p=p: view.result["settings"] == {"k": k, "s": s, "p": p})
            hand = (5 + 2 * p - k) // s + 1  # floor((H + 2p - k) / s) + 1, by hand
            engine_shape = Conv2d(1, 1, k, stride=s, padding=p).forward(x).shape[-2:]
            assert view.result["shape"] == (hand, hand) == engine_shape
            assert view.result["out"].shape == (hand, hand)
            assert view.result["formula"].split(";")[0].endswith(f"= {hand}")
        # stride 2 with k = 2 never reads the last column; the view says which
        view.settings = {"k": 2, "s": 2, "p": 0}
        view.compute()
        await until(lambda: view.result["settings"] == {"k": 2, "s": 2, "p": 0})
        assert view.never_read() == ([4], [4])
        # an impossible setting is explained, not just refused
        view.settings = {"k": 7, "s": 1, "p": 0}
        view.compute()
        await pilot.pause()
        assert view.result["shape"] is None
        shown = " ".join(plain(view, size[0]).split())
        assert "fits nowhere" in shown and "floor((5 + 0 - 7) / 1) + 1 = -1" in shown


async def test_lesson2_question_hides_the_size_until_answered(tmp_path):
    app = learn_app(tmp_path, 2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, view = await open_page(app, pilot, 0)
        worked = "floor((5 + 2 - 3) / 1) + 1 = 5"  # k 3, s 1, p 1 keeps the 5 columns
        assert worked not in screen._text and "wide and ?." in " ".join(screen._text.split())
        line = await answer(pilot, screen, "3")
        assert line.startswith("✗ not 3: it is 5") and worked in screen._text
        line = await answer(pilot, screen, "5")
        assert line.startswith("✓ 5: right")


# ---- lesson 3 -------------------------------------------------------------------------------
async def test_lesson3_sum_over_input_channels_matches_the_engine(tmp_path):
    app = learn_app(tmp_path, 3)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, view = await open_page(app, pilot, 0)
        assert view.result["params1"] == 8 * 1 * 3 * 3 + 8  # by hand: weights + biases
        screen, view = await open_page(app, pilot, 1)
        await pilot.press("c", "c", "right", "down")
        await until(lambda: view.result["channel"] == 2 and view.result["pos"] == (7, 7))
        r = view.result
        assert len(r["partial"]) == 8 and r["terms"] == 8 * 3 * 3
        assert sum(r["partial"]) + r["bias"] == pytest.approx(r["engine_value"], abs=1e-4)
        assert r["total"] == pytest.approx(r["engine_value"], abs=1e-4)
        line = await answer(pilot, screen, "72")
        assert line.startswith("✓ 72: right")


# ---- lesson 4 -------------------------------------------------------------------------------
@size_ids
async def test_lesson4_winner_and_routed_gradient(tmp_path, size):
    app = learn_app(tmp_path, 4)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)
        r = view.result
        patch, g = r["patch"].astype(np.float64), r["grad_out"]
        for i in range(2):
            for j in range(2):
                await pilot.press("up", "left", *(["down"] * i), *(["right"] * j))
                await pilot.pause()
                window = patch[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                first = int(np.flatnonzero(window.ravel() == window.max())[0])  # row-major
                wr, wc = 2 * i + first // 2, 2 * j + first % 2
                assert view.winner() == (wr, wc)
                routed = r["grad_in"]["max"][2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                expected = np.zeros((2, 2))
                expected.flat[first] = g[i, j]
                np.testing.assert_allclose(routed, expected, atol=1e-7)
                spread = r["grad_in"]["average"][2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                np.testing.assert_allclose(spread, np.full((2, 2), g[i, j] / 4), atol=1e-7)
        corner = view.state()["corner"]
        number = ("top-left", "top-right", "bottom-left", "bottom-right").index(corner) + 1
        line = await answer(pilot, screen, str(number))
        assert line.startswith(f"✓ {corner}: right")


def test_a_tie_goes_to_the_first_cell_in_row_major_order():
    from engine.pool import MaxPool2d

    pool = MaxPool2d(2)
    x = np.zeros((1, 1, 2, 2), dtype=np.float32)  # a window of ReLU zeros: a four-way tie
    pool.forward(x)
    g = pool.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    assert g[0, 0].tolist() == [[1, 0], [0, 0]]


# ---- lesson 5 -------------------------------------------------------------------------------
async def test_lesson5_derivatives_and_a_dead_relu(tmp_path):
    app = learn_app(tmp_path, 5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, view = await open_page(app, pilot, 0)
        s = view.state()
        assert s["sig_max"] == pytest.approx(0.25, abs=1e-7)  # σ(0)(1 − σ(0)) = 0.5 · 0.5
        assert s["tanh_max"] == pytest.approx(1.0, abs=1e-7)  # 1 − tanh(0)²
        assert (s["x"], s["d"]) == (1.0, 1.0)  # ReLU' at x = 1
        await pilot.press(*["left"] * 40)  # x = -1
        assert view.state()["d"] == 0.0
        await pilot.press("f")  # sigmoid at x = -1: σ'(x) = σ(x)(1 − σ(x))
        sig = 1 / (1 + np.exp(1.0))
        assert view.state()["d"] == pytest.approx(sig * (1 - sig), abs=1e-7)
        line = await answer(pilot, screen, "0.25")
        assert line.startswith("✓ 0.25: right")
        screen, view = await open_page(app, pilot, 1)
        assert view.state()["five"] == pytest.approx(0.25**5, rel=1e-6)
        screen, view = await open_page(app, pilot, 2)
        s = view.state()
        assert s["active_before"] > 0 and s["active_after"] == 0 and s["grad_sum"] == 0


# ---- lesson 6 -------------------------------------------------------------------------------
@size_ids
async def test_lesson6_cross_entropy_is_minus_log_p(tmp_path, size):
    app = learn_app(tmp_path, 6)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)
        for _ in range(3):
            r = view.result
            z = r["logits"]
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # softmax by hand, float64
            t = r["target"]
            assert r["loss"] == pytest.approx(-np.log(p[t]), rel=1e-4, abs=1e-6)
            onehot = np.eye(10)[t]
            np.testing.assert_allclose(r["grad"], p - onehot, atol=1e-5)
            await pilot.press("right")  # pretend the target were the next class
            await until(lambda t=t: view.result["target"] == (t + 1) % 10)
        await pilot.press("left", "left", "left")
        await until(lambda: view.result["target"] == view.result["label"])
        line = await answer(pilot, screen, fmt_number(view.result["loss"]))
        assert "right" in line


def fmt_number(value: float) -> str:
    return f"{value:.4f}"


async def test_lesson6_mse_and_its_gradient_on_the_article_example(tmp_path):
    app = learn_app(tmp_path, 6)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, view = await open_page(app, pilot, 2)
        r = view.result
        assert r["loss"] == pytest.approx(36.0)  # mean((6 - 0)²) over 9 elements
        np.testing.assert_allclose(r["grad"], np.full((3, 3), 2 * 6 / 9), rtol=1e-6)
        await pilot.press("right", "plus", "plus")  # target at (0,1) from 0 to 2
        await until(lambda: view.result["target"][0, 1] == 2)
        assert view.state()["g"] == pytest.approx(2 * (6 - 2) / 9, rel=1e-6)
        line = await answer(pilot, screen, "0.889")
        assert line.startswith("✓ 0.889: right")


# ---- every lesson: NO_COLOR and random keys -----------------------------------------------
@pytest.mark.parametrize("number", WRITTEN)
async def test_every_lesson_without_colour(tmp_path, monkeypatch, number):
    monkeypatch.setenv("NO_COLOR", "1")
    app = learn_app(tmp_path, number)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        for page in range(len(screen.lesson.pages)):
            screen.show_page(page)
            view = screen.view
            await until(lambda view=view: view.ready)
            await pilot.pause()
            assert app._exception is None
            assert not view.color


async def test_random_keys_through_the_lessons_never_crash(tmp_path):
    import random

    keys = ["pagedown", "pageup", "n", "p", "left", "right", "up", "down", "a", "enter",
            "escape", "k", "c", "m", "f", "w", "plus", "minus", "1", "0", "t", "space",
            "less_than_sign", "greater_than_sign", "question_mark", "backspace"]  # fmt: skip
    rnd = random.Random(9)
    app = learn_app(tmp_path, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in rnd.choices(keys, k=150):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and app._exception is None
