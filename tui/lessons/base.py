"""The lesson framework: Lesson, Page and Question, and LessonView, the base of every live view.

How to add a lesson (lesson 1, tui/lessons/lesson01_convolution.py, is the worked example):

1. Text: `assets/lessons/NN-name.md`, about 150 words a page, pages separated by a line that
   is exactly `<!-- page -->`. Never type a number the engine computes: write a placeholder
   like `{out_0_0}` and let the page's view fill it (`placeholders()`). Only `{identifier}`
   patterns the view provides are replaced; tests fail on any left unfilled.
2. Views: subclass `LessonView` (a Textual widget that owns its engine state). It renders the
   live picture, handles its own keys (BINDINGS to `action_*`, shown in the footer), and
   - `placeholders() -> dict[str, str]`: the numbers for the Markdown text, from the engine;
   - `state() -> dict`: what questions read (the numbers on screen, from the engine);
   - calls `self.changed()` after its state changes, so the text and question re-render;
   - hides what the open question asks while `self.concealed` is true (e.g. shows `?`),
     and lists in SECRET the placeholders that would give the answer away in the text;
   - `show_page(mode)` is called with the Page's `mode` when its page is shown.
   Keep engine imports inside methods (`import tui.app` must stay free of numba), and do
   slow work (Numba compiles, MNIST loading) in `@work(thread=True)` workers with progress.
3. `LESSON = Lesson(number, "NN-name.md", pages=(Page(View, question=...), ...),
   explorer="article")`: one Page per Markdown page; pages with the same view class share one
   instance (its state survives paging). `explorer` is the preset the explorer opens on (key e).
4. Questions: `Question(prompt, answer, worked)` where `answer(state)` computes the answer with
   the engine from `state()`, and `worked(state)` returns the worked terms shown after a wrong
   answer. kind "number" (compared within `tolerance`) or "choice" (`options`; the learner types
   the option's number). Every lesson has at least one.
5. Register the lesson in `tui/lessons/__init__.py` (ENTRIES: number, title, module); add Pilot
   tests at 80x24 and 120x40 asserting its key numbers against the engine and a snapshot
   (tests/tui/test_lessons.py shows both).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, wraps

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.colormode import use_color

PAGE_MARK = "<!-- page -->"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Question:
    """Asked before the answer is shown; the answer is computed from the view's state."""

    prompt: str | Callable[[dict], str]
    answer: Callable[[dict], float | str]
    worked: Callable[[dict], str]
    kind: str = "number"  # "number" | "choice"
    options: tuple[str, ...] = ()
    tolerance: float = 0.005

    def prompt_text(self, state: dict) -> str:
        """The question as asked now (the prompt may depend on the state on screen)."""
        text = self.prompt(state) if callable(self.prompt) else self.prompt
        if self.kind == "choice":
            text += "  " + "  ".join(f"{k}) {o}" for k, o in enumerate(self.options, 1))
        return text

    def check(self, reply: str, state: dict) -> bool | None:
        """True right, False wrong, None when the reply is not an answer (say so, ask again)."""
        reply = reply.strip().replace("−", "-")
        expected = self.answer(state)
        if self.kind == "choice":
            if reply.isdigit() and 1 <= int(reply) <= len(self.options):
                reply = self.options[int(reply) - 1]
            elif reply.lower() not in (o.lower() for o in self.options):
                return None
            return reply.lower() == str(expected).lower()
        try:
            value = float(reply)
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        return abs(value - float(expected)) <= self.tolerance


@dataclass(frozen=True)
class Page:
    """One page: its Markdown section (by position), the live view, an optional question."""

    view: type[LessonView]
    question: Question | None = None
    mode: str = ""  # passed to view.show_page: which part of the view this page is about


@dataclass(frozen=True)
class Lesson:
    """A lesson: its number (title from the registry), Markdown file, pages, explorer preset."""

    number: int
    markdown_file: str
    pages: tuple[Page, ...]
    explorer: str = "article"
    keys: tuple[tuple[str, str], ...] = field(default=())  # extra (key, what) for the help

    @property
    def title(self) -> str:
        """The title, as registered in tui.lessons.ENTRIES."""
        from tui.lessons import entry

        return entry(self.number).title

    def texts(self) -> list[str]:
        """The Markdown of each page (placeholders still in)."""
        return page_texts(self.markdown_file)

    @property
    def questions(self) -> list[tuple[int, Question]]:
        """(page index, question) for every page that asks one."""
        return [(k, p.question) for k, p in enumerate(self.pages) if p.question is not None]


def _cache_render(render: Callable) -> Callable:
    """Wrap a LessonView's render(): the same result until the next refresh or resize."""

    @wraps(render)
    def cached(self):
        # What a render depends on: the state (version), the width it draws to and the room
        # under it (room(): the terminal's height), not its own height, which the render
        # decides: keyed on that, a view that grew was drawn twice (measured, then painted).
        key = (self._render_version, self.size.width, self.app.size.height, self.concealed,
               self.mode, self.color)  # fmt: skip
        if self._render_cached[0] != key:
            self._render_cached = (key, render(self))
        return self._render_cached[1]

    return cached


def _same_text(a, b) -> bool:
    """Whether two renders are the same picture (a repaint converts every span again)."""
    return (isinstance(a, Text) and isinstance(b, Text) and a.plain == b.plain
            and a.spans == b.spans and a.style == b.style)  # fmt: skip


@lru_cache(maxsize=32)
def page_texts(markdown_file: str) -> list[str]:
    """The pages of assets/lessons/<markdown_file>, split at PAGE_MARK lines."""
    from pathlib import Path

    import assets

    path = Path(assets.__file__).resolve().parent / "lessons" / markdown_file
    pages, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() == PAGE_MARK:
            pages.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    pages.append("\n".join(current).strip())
    return pages


def fill(text: str, values: dict[str, str]) -> str:
    """Replace `{name}` with values[name]; unknown names stay as they are (tests catch them)."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def unfilled(text: str) -> list[str]:
    """The placeholder names still in a text."""
    return PLACEHOLDER.findall(text)


class LessonView(Widget, can_focus=True):
    """Base of a lesson's live view: owns its engine state, reports changes to the screen."""

    concealed: reactive[bool] = reactive(False)  # a question is open: hide its answer
    SECRET: frozenset[str] = frozenset()  # placeholders shown as "?" while concealed

    class Changed(Message):
        """The view's state changed: re-fill the text and the question."""

        def __init__(self, view: LessonView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> LessonView:
            """The view that changed."""
            return self.view

    def placeholders(self) -> dict[str, str]:
        """Numbers for the page's Markdown, computed by the engine."""
        return {}

    def state(self) -> dict:
        """What questions read: the numbers on screen, from the engine."""
        return {}

    @property
    def ready(self) -> bool:
        """False while the numbers are still being computed (questions wait for them)."""
        return True

    EXPLORER: str | None = None  # the explorer's preset for this view, if not the lesson's

    def explorer_prepare(self) -> Callable | None:
        """What the explorer (key e) does to its new session to show this view's model and
        state: a function of the session, run in the explorer's loading thread; None opens the
        lesson's preset as it is."""
        return None

    def show_page(self, mode: str) -> None:
        """Called when a page using this view is shown, with the page's mode."""
        self.mode = mode
        self.refresh(layout=True)

    def changed(self) -> None:
        """Repaint and tell the screen (which re-fills the text).

        A layout of the whole screen (every widget measured again, the view rendered twice)
        was most of a key's time; it is asked for only when the view's height changes.
        """
        before = self._render_cached[1]
        self._render_version += 1  # the state changed: the next render() computes afresh
        layout = self._height_changed()
        key, shown = self._render_cached
        fresh = key is not None and key[0] == self._render_version  # rendered for this state
        if layout or not fresh or not _same_text(before, shown):  # else: the same picture
            Widget.refresh(self, layout=layout)  # Widget's: keeps the render just computed
        self.post_message(self.Changed(self))

    def _height_changed(self) -> bool:
        """Whether the view's new render has another number of lines than the last laid out."""
        if not self._caches_render or not self.is_mounted or self.styles.text_wrap != "nowrap":
            return True  # children, or wrapped lines: let Textual measure
        if not self.size.width:
            return True  # not laid out yet: a render now would be drawn for no width
        shown = self.render()  # cached: the paint that follows reuses it
        lines = shown.plain.count("\n") if isinstance(shown, Text) else None
        if lines is None or lines != self._laid_out_lines:
            self._laid_out_lines = lines
            return True
        return False

    # ---- render cache: render() runs once per refresh, not once for layout and once to paint --
    _render_version = 0
    _render_cached: tuple = (None, None)  # (key, what render() returned)
    _caches_render = False
    _laid_out_lines: int | None = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "render" in cls.__dict__:
            cls.render = _cache_render(cls.__dict__["render"])
            cls._caches_render = True

    def refresh(self, *regions, repaint: bool = True, layout: bool = False,
                recompose: bool = False):  # fmt: skip
        """Textual's refresh; a repaint also forgets the cached render (not one for a new
        size: the render's key has the width, and its height is the render's own)."""
        if (repaint or layout) and not self._sizing:
            self._render_version += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    _sizing = False

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:
        self._sizing = True  # Textual refreshes a widget whose size it sets
        try:
            return super()._size_updated(size, virtual_size, container_size, layout)
        finally:
            self._sizing = False

    def watch_concealed(self, _old: bool, _new: bool) -> None:
        self.refresh(layout=True)

    def room(self) -> tuple[int, int]:
        """(columns, rows) the view can draw in without scrolling: its width, and the terminal's
        height less the lesson screen's head, question and key lines (known from the start,
        unlike the pane's height, so the first render already fits)."""
        return max(20, self.size.width - 2), max(8, self.app.size.height - 5)

    @property
    def color(self) -> bool:
        """Whether to draw colour scales (NO_COLOR and 16-colour terminals: no)."""
        return use_color(self.app)

    mode = ""
