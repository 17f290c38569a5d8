"""The way in: `learn --list`, `learn N` out of range, the home screen's lessons."""

from __future__ import annotations

import subprocess
import sys

from tui.app import CnnTuiApp
from tui.progress import Progress


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
