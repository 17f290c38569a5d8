"""Following the presenter in a lesson (tui/presence.py): publish and mirror page and step."""

from __future__ import annotations


class LessonFollow:
    """Mixin for `LessonScreen`: what a presenter publishes and how a follower mirrors it."""

    def presence_state(self) -> dict:
        """What a presenter publishes: the lesson, the page and the view's step."""
        from tui.presence import view_state

        view = self.view
        return {"lesson": self.number, "page": self.page,
                "view": view_state(view) if view is not None else {}}  # fmt: skip

    def follow_presenter(self, state: dict) -> bool:
        """Turn to the presenter's page, then move the view to the presenter's step."""
        from tui.presence import follow_view

        if self.lesson is None or not self.is_mounted:
            return self.lesson is None
        page = min(max(int(state.get("page", self.page)), 0), len(self.lesson.pages) - 1)
        if page != self.page:
            self._stop_asking_silently()
            self.show_page(page)
        if self.view is not None and isinstance(state.get("view"), dict):
            follow_view(self.view, state["view"])
        return True
