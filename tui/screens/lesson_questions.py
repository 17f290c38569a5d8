"""A lesson page's question: the question line, the answer field and checking the reply.

The learner answers before the answer is shown: typing the answer's first character (or `a`)
opens the field, enter checks the reply against the answer the engine computes from the state
on screen, escape puts the question back. Mixed into `LessonScreen`, which owns the page.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.actions import SkipAction
from textual.widgets import Input, Static

KEY_OF = {"-": "minus", ".": "full_stop"}  # the key that types an answer's character


class QuestionLine(Static):
    """The question line. An update to the text it shows already is skipped: each would cost a
    layout of the whole screen, and a view's every key re-asks the question."""

    _shown = None

    def update(self, content="", *, layout: bool = True) -> None:
        """Show `content` unless it is already shown."""
        if content != self._shown:
            self._shown = content
            super().update(content, layout=layout)


class LessonQuestions:
    """Mixin for `LessonScreen`: ask, answer and check the question of the page on screen.
    Per page, `qstate` is open | asking | right | wrong and `verdict` the line after an answer."""

    def _refresh_question(self) -> None:
        self._show_question()
        self._refresh_text()  # concealed placeholders follow the question's state

    def _show_question(self) -> None:
        spec = self.lesson.pages[self.page]
        line = self.query_one("#lesson-question", Static)
        view = self.view
        q = spec.question
        if q is None:
            line.update(Text("no question on this page: PgDn goes on", style="dim"))
            if view is not None:
                view.concealed = False
            return
        status = self.qstate.get(self.page, "open")
        view.concealed = status in ("open", "asking")
        if not view.ready:
            line.update(Text("? (the question comes when the numbers are ready …)", "dim"))
            return
        prompt = Text("? ", style="bold")
        prompt.append(q.prompt_text(view.state()))
        if status == "open":
            hint = "  (type your answer)"
            room = (line.size.width or self.app.size.width) - 2
            if prompt.cell_len + len(hint) <= room:  # a hint that wraps the line helps no one
                prompt.append(hint, style="dim")
        elif status in ("right", "wrong"):
            prompt = Text(self.verdict.get(self.page, ""))
        line.update(prompt)

    def action_answer(self, start: str = "") -> None:
        """Answer the page's question (asks again if it was answered); `start` is typed first."""
        key = KEY_OF.get(start, start)
        if start and self.focused is not None and self.focused.check_consume_key(key, start):
            # A field being typed in (this answer field, lesson 12's file name) takes it. Textual
            # leaves priority bindings of "minus" unfiltered there: it knows no character for it.
            raise SkipAction()
        if start and self._view_binds(key):
            raise SkipAction()  # the view's own key (it is bound there too): not an answer
        if self.lesson is None or self.lesson.pages[self.page].question is None:
            self.notify_once("this page asks no question", "information")
            return
        if not self.view.ready:
            self.notify_once("the numbers are still being computed: a moment", "information")
            return
        self.qstate[self.page] = "asking"
        self.add_class("-asking")
        self._refresh_question()
        field = self.query_one("#lesson-answer", Input)
        field.value = start
        field.cursor_position = len(start)
        # At once, not on the next message (focus()): the keys typed after this one go to it.
        self.set_focus(field)

    def _view_binds(self, key: str) -> bool:
        """Whether the focused widget or one of its parents below this screen binds `key`."""
        node = self.focused
        while node is not None and node is not self:
            if key in node._bindings.key_to_bindings:
                return True
            node = node.parent
        return False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "lesson-answer":
            self.check_answer(event)

    def check_answer(self, event: Input.Submitted) -> None:
        """Check the reply against the answer the engine computes from the state on screen."""
        q = self.lesson.pages[self.page].question
        if q is None or not self.has_class("-asking"):
            # Nothing is asked here: the hidden field kept the cursor (random keys found it).
            return self._stop_asking()
        state = self.view.state()
        verdict = q.check(event.value, state)
        reply = escape(event.value.strip())
        if verdict is None:
            kind = "a number" if q.kind == "number" else "one of the option numbers"
            self.query_one("#lesson-question", Static).update(
                Text(f"'{reply}' is not {kind}: ") + Text(q.prompt_text(state))
            )
            return
        from tui.render.numbers import format_number

        expected = q.answer(state)
        shown = format_number(expected) if q.kind == "number" else str(expected)
        if verdict:
            self.verdict[self.page] = f"✓ {shown}: right. {q.worked(state)}"
            qi = [page for page, _ in self.lesson.questions].index(self.page)
            self.app.progress.mark(self.number, qi)
            problem = self.app.progress.take_problem()
            if problem:
                self.notify(escape(problem), severity="warning", timeout=8)
        else:
            self.verdict[self.page] = f"✗ not {reply}: it is {shown}. {q.worked(state)}"
        self.qstate[self.page] = "right" if verdict else "wrong"
        self._stop_asking()

    def _stop_asking(self) -> None:
        self.remove_class("-asking")
        if self.qstate.get(self.page) == "asking":
            self.qstate[self.page] = "open"
        self._refresh_question()
        self._refresh_chrome()
        if self.view is not None:
            self.view.focus()

    def _stop_asking_silently(self) -> None:
        self.remove_class("-asking")
        if self.qstate.get(self.page) == "asking":
            self.qstate[self.page] = "open"
