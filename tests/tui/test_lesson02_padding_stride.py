"""Lesson 2: output sizes from the formula and from the engine agree."""

from __future__ import annotations

from _lessons import answer, learn_app, open_page, size_ids, until
from _pilot import plain


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


@size_ids
async def test_lesson2_view_fits_its_width_for_any_setting_text_folded_or_not(tmp_path, size):
    # At 80x24 with p = 3 the padded input and the output side by side, and the notes, ran
    # past the right edge (cut, the terminal showed "outp" and "(PyTor").
    from rich.cells import cell_len

    app = learn_app(tmp_path, 2)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)
        for folded in (False, True):
            if folded:
                await pilot.press("t")
                await pilot.pause()
            for k, s, p in [(3, 1, 3), (1, 4, 3), (1, 1, 3), (2, 2, 3), (7, 1, 0), (7, 4, 3),
                            (3, 2, 1), (5, 1, 0)]:  # fmt: skip
                view.settings = {"k": k, "s": s, "p": p}
                view.compute()
                want = {"k": k, "s": s, "p": p}  # a refusal has no settings: made at once
                await until(lambda want=want: view.result.get("settings", want) == want)
                await pilot.pause()
                lines = view.render().plain.split("\n")
                widest = max(cell_len(line) for line in lines)
                assert widest <= view.content_size.width, (size, folded, k, s, p, widest)
                shown = " ".join(" ".join(lines).split())
                if (5 + 2 * p - k) >= 0:  # the output's size, as the formula gives it
                    assert f"= {(5 + 2 * p - k) // s + 1}" in shown or "= ?" in shown
                else:
                    assert "fits nowhere" in shown and "Make k smaller or p larger." in shown
                if p == 3 and k < 6:
                    assert "some windows see only padding" in shown  # wrapped, whole words
                    assert "(PyTorch refuses this)" in shown
