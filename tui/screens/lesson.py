"""LessonScreen: a lesson's Markdown text beside its live view, a question line, page keys.

The question and its answer are in lesson_questions.py, following a presenter in lesson_follow.py.
"""

from __future__ import annotations

import gc

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui.lessons.base import LessonView, fill
from tui.messages import CompileProgress
from tui.screens.lesson_follow import LessonFollow
from tui.screens.lesson_questions import LessonQuestions, QuestionLine
from tui.widgets.keyline import KeyLine
from tui.widgets.labkit import Notices, command_rows
from tui.widgets.markdown_page import MarkdownPage

NARROW = 100  # below this width the text column is narrower (and t folds it away)
TEXT_DELAY_S = 0.12  # the text's numbers follow the view after this pause in the keys

BINDINGS = [
    Binding(
        "pagedown",
        "page(1)",
        "read on: scroll the text, then the next page",
        key_display="PgDn",
        priority=True,
    ),
    Binding(
        "pageup",
        "page(-1)",
        "back: scroll the text, then the previous page",
        key_display="PgUp",
        priority=True,
    ),
    Binding("space", "page(1)", "read on", show=False),
    Binding("n,right_square_bracket", "next_lesson(1)", "next lesson", key_display="n"),
    Binding("p,left_square_bracket", "next_lesson(-1)", "previous lesson", key_display="p"),
    Binding("a", "answer", "answer the question"),
    # Typing the answer's first character opens the answer field with it. These are priority
    # bindings so that the field has the focus before the next key is read: a burst ("12" enter,
    # a paste) then reaches it whole. A view's own binding of the key (lesson 1's kernel editor's
    # 0 and -) still wins: the action skips itself then. Once the field has focus, it takes them.
    *[
        Binding(key, f"answer('{char}')", "answer", show=False, priority=True)
        for key, char in [(str(d), str(d)) for d in range(10)]
        + [("minus", "-"), ("full_stop", ".")]
    ],
    Binding("e", "explore", "open the explorer"),
    Binding("t", "fold_text", "fold the text away / back"),
    Binding("question_mark", "help", "help", key_display="?"),
    Binding("escape", "escape", "home (or stop answering)", key_display="esc"),
    Binding("q", "quit", "quit"),
]
# The key line: (key shown, what), in the order they are dropped last-first when space is short.
KEY_LINE = [("PgDn/PgUp", "page"), ("n/p", "lesson"), ("0-9", "answer"), ("?", "help"),
            ("q", "quit"), ("e", "explorer"), ("t", "fold text"), ("esc", "home")]  # fmt: skip
_WARMED = {"done": False}  # the background compile runs once per process


class LessonScreen(LessonQuestions, LessonFollow, Notices, Screen):
    """One lesson: pages of text, the live views they use, and their questions."""

    BINDINGS = BINDINGS

    def __init__(self, number: int, page: int = 0, warm_up: bool = True) -> None:
        super().__init__()
        from tui import lessons

        self.number, self.page, self.do_warm_up = number, page, warm_up
        self.entry = lessons.entry(number)
        self.lesson = lessons.load(number) if lessons.available(number) else None
        self.views: dict[type, LessonView] = {}
        self.qstate: dict[int, str] = {}  # page -> open | asking | right | wrong
        self.verdict: dict[int, str] = {}  # page -> the line shown after an answer
        self.compiling = ""
        self._text = None
        self._text_page = -1
        self._md_timer = None

    # ---- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="lesson-head")
        with Horizontal(id="lesson-body"):
            with VerticalScroll(id="lesson-text"):
                yield MarkdownPage(id="lesson-md")
            yield VerticalScroll(id="lesson-view")
        yield QuestionLine(id="lesson-question")
        # Not select_on_focus: the digit that opened the field must not be replaced by the next.
        yield Input(id="lesson-answer", compact=True, select_on_focus=False,
                    placeholder="your answer, then enter (escape: not now)")  # fmt: skip
        yield KeyLine(id="lesson-keys")

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")
        if self.lesson is None:
            self.query_one("#lesson-md", MarkdownPage).update(
                f"## {escape(self.entry.title)}\n\nThis lesson is still being written."
            )
            self._refresh_chrome()
            return
        progress = self.app.progress
        for qi, (page, _q) in enumerate(self.lesson.questions):
            self.qstate[page] = "right" if qi in progress.answered.get(self.number, ()) else "open"
            if self.qstate[page] == "right":
                self.verdict[page] = "✓ answered right before (a: ask again)"
        self.show_page(min(max(self.page, 0), len(self.lesson.pages) - 1))
        if self.do_warm_up and not _WARMED["done"]:
            self.call_after_refresh(self.warm_up)

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    def show_page(self, page: int) -> None:
        """Show page `page`: its view (made on first use), its text and its question."""
        if page != self.page:  # an open answer belongs to the page it was asked on
            self._stop_asking_silently()
        self.page = page
        spec = self.lesson.pages[page]
        view = self.views.get(spec.view)
        holder = self.query_one("#lesson-view")
        if view is None:
            view = self.views[spec.view] = spec.view()
            holder.mount(view)
        for other in self.views.values():
            other.display = other is view
        view.show_page(spec.mode)
        self._refresh_question()
        self._refresh_chrome()
        if not self.has_class("-asking"):
            view.focus()

    @property
    def view(self) -> LessonView | None:
        """The view of the page on screen."""
        if self.lesson is None:
            return None
        return self.views.get(self.lesson.pages[self.page].view)

    def _refresh_text(self) -> None:
        view = self.view
        values = view.placeholders() if view else {}
        if view is not None and view.concealed:
            values = {k: ("?" if k in view.SECRET else v) for k, v in values.items()}
        text = fill(self.lesson.texts()[self.page], values)
        if text != self._text:
            new_page = self._text_page != self.page
            self._text, self._text_page = text, self.page
            if self._md_timer is not None:
                self._md_timer.stop()
                self._md_timer = None
            if new_page:
                self.query_one("#lesson-md", MarkdownPage).update(text)
                self.query_one("#lesson-text", VerticalScroll).scroll_home(animate=False)
            else:
                # A text update remounts the changed blocks (a relayout): while keys
                # arrive, the view repaints at once and the text follows when they pause.
                self._md_timer = self.set_timer(TEXT_DELAY_S, self._push_text)

    def _push_text(self) -> None:
        self._md_timer = None
        self.query_one("#lesson-md", MarkdownPage).update(self._text)

    def _refresh_chrome(self) -> None:
        pages = len(self.lesson.pages) if self.lesson else 1
        total = len(self.lesson.questions) if self.lesson else 0
        done = self.app.progress.count(self.number)
        tick = "✓" if total and done >= total else "·"
        from tui.lessons import ENTRIES

        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"Lesson {self.number} of {len(ENTRIES)} · {self.entry.title}")
        head.append(f"   page {self.page + 1}/{pages}   {tick} {min(done, total)}/{total}")
        if self.compiling:
            head.append(f"   {self.compiling}", "italic")
        self.query_one("#lesson-head", Static).update(head)
        keys = []
        view = self.view
        if view is not None:
            keys += [(self.app.get_key_display(b), b.description)
                     for b in view.BINDINGS if b.show]  # fmt: skip
        self.query_one(KeyLine).show(keys + KEY_LINE)

    # ---- messages from views and the warm-up -----------------------------------------------
    def on_lesson_view_changed(self, message: LessonView.Changed) -> None:
        if message.control is not None and message.control is not self.view:
            return
        self._refresh_text()
        if self.qstate.get(self.page) != "asking":
            self._refresh_question()

    @work(thread=True, exclusive=True, group="lesson-warmup", exit_on_error=False)
    def warm_up(self) -> None:
        """Compile (or load) every engine kernel in the background, with progress in the head."""
        worker = get_current_worker()
        try:
            from engine.warmup import warmup

            def progress(done: int, total: int, name: str) -> None:
                if worker.is_cancelled:
                    raise RuntimeError("warm-up cancelled")
                self.post_message(CompileProgress(done, total, name))

            warmup(progress)
            _WARMED["done"] = True
        except Exception as exc:  # the lessons still work; the kernels compile on first use
            self.post_message(CompileProgress(-1, 0, f"{type(exc).__name__}: {exc}"))

    def on_compile_progress(self, message: CompileProgress) -> None:
        if message.done < 0:
            self.compiling = ""
        elif message.done >= message.total:
            self.compiling = ""
            gc.freeze()  # the kernels are loaded: keep them out of full collections (app.py)
        else:
            self.compiling = f"compiling kernels {message.done}/{message.total}"
        self._refresh_chrome()

    # ---- navigation -----------------------------------------------------------------------
    def action_page(self, delta: int) -> None:
        """Read on: scroll the text by a screen while there is more, then turn the page."""
        if self.lesson is None:
            return
        text = self.query_one("#lesson-text", VerticalScroll)
        more = text.scroll_y < text.max_scroll_y if delta > 0 else text.scroll_y > 0
        if more and text.display and not self.has_class("-folded"):
            (text.scroll_page_down if delta > 0 else text.scroll_page_up)(animate=False)
            return
        page = self.page + delta
        if not 0 <= page < len(self.lesson.pages):
            hint = "n: next lesson" if delta > 0 else "p: previous lesson"
            self.notify_once(f"{'last' if delta > 0 else 'first'} page ({hint})", "information")
            return
        self._stop_asking_silently()
        self.show_page(page)

    def action_next_lesson(self, delta: int) -> None:
        """The next or previous lesson."""
        from tui.lessons import ENTRIES

        number = self.number + delta
        if not 1 <= number <= len(ENTRIES):
            self.notify_once(f"there is no lesson {number}", "information")
            return
        self.action_lesson(number)

    def action_lesson(self, number: int) -> None:
        """Open lesson `number` in place of this one."""
        self.app.switch_screen(LessonScreen(number, warm_up=self.do_warm_up))

    def action_explore(self) -> None:
        """The explorer on this lesson's model and digits (escape comes back)."""
        from tui.screens.explorer import ExplorerScreen

        view = self.view
        preset = self.lesson.explorer if self.lesson else None
        preset = (view.EXPLORER if view is not None else None) or preset
        prepare = view.explorer_prepare() if view is not None else None
        self.app.push_screen(ExplorerScreen(preset=preset, warm_up=self.do_warm_up,
                                            prepare=prepare))  # fmt: skip

    def action_fold_text(self) -> None:
        """Hide the text so the view gets the whole width (press again to bring it back)."""
        self.toggle_class("-folded")

    def action_escape(self) -> None:
        """Stop answering, or go back to the home screen."""
        if self.has_class("-asking"):
            self._stop_asking()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_help(self) -> None:
        """Every key of this screen and of the lesson's views."""
        from tui.screens.help import show_help

        rows = [(key, doc) for key, _name, _action, doc in command_rows(self)]
        if self.lesson is not None:
            rows += list(self.lesson.keys)
        show_help(self.app, rows)

    def action_quit(self) -> None:
        """Quit the app."""
        self.app.exit()

    # ---- workshop: s and Z ask the view on screen (tui.export, tui.screens.zoom) -------------
    def exportables(self) -> list:
        """What the view on screen exports: its tensors, or the loss curves of its runs."""
        from tui.export import CurvesExport

        view = self.view
        if hasattr(view, "exportables"):
            return view.exportables()
        losses = getattr(view, "losses", None)  # the training lessons: {run name: [loss, ...]}
        if not isinstance(losses, dict) or not any(losses.values()):
            return []
        names = list(losses)
        rows = tuple((k + 1, *(losses[n][k] if k < len(losses[n]) else None for n in names))
                     for k in range(max(len(v) for v in losses.values())))  # fmt: skip
        name = f"lesson {self.number} losses"
        return [CurvesExport(name, ("step", *(f"{n} loss" for n in names)), rows)]

    def zoom_view(self):
        """The view's numbers and equation in large type (None: nothing to zoom on this page)."""
        view = self.view
        return view.zoom_view() if hasattr(view, "zoom_view") else None

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the view's cursor."""
        if hasattr(self.view, "zoom_move"):
            self.view.zoom_move(di, dj)

    def command_rows(self) -> list[tuple[str, str, str, str]]:
        """Palette rows: this screen's keys and every lesson by name."""
        from tui.lessons import ENTRIES

        rows = command_rows(self)
        rows += [("", f"Lesson {e.number}: {e.title}", f"lesson({e.number})", "open this lesson")
                 for e in ENTRIES]  # fmt: skip
        return rows
