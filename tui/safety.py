"""Bad input never ends the app: user and file text is shown literally, failures are reported.

Textual ends the app on any exception that escapes an action, a message handler or a worker.
Here the app catches them where it can carry on (an action, a handler of a guarded screen, a
callback, a worker) and names what was being done in a notification; the session stays as it was.
"""

from __future__ import annotations

from functools import partial
from inspect import isawaitable

from textual.content import Content
from textual.worker import WorkerState

MAX_SHOWN = 300  # characters of a failure's message: a huge repr must not fill the screen


def literal(text: object) -> Content:
    """Text shown exactly as written: `[b]` in a path or an error message is not markup."""
    return Content(str(text))


def why(error: BaseException) -> str:
    """An error as a user reads it: the message of an expected kind, else with its type."""
    if isinstance(error, (ValueError, OSError)) and str(error):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def failure_text(doing: str, error: BaseException) -> str:
    """'<doing> failed: <Type>: <message> (the app carries on)', on one bounded line."""
    message = " ".join(str(error).split())
    if len(message) > MAX_SHOWN:
        message = message[: MAX_SHOWN - 1] + "…"
    detail = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return f"{doing} failed: {detail} (the app carries on)"


def report(node, doing: str, error: BaseException) -> None:
    """Tell the user (and the app's failure log) that `doing` failed; never raises."""
    app = node.app
    reporter = getattr(app, "report_failure", None)
    if reporter is not None:
        reporter(doing, error)
    else:  # an app without the hook: still say it, literally
        app.notify(failure_text(doing, error), severity="error", markup=False)


class Guarded:
    """Mixin for a screen or app: an exception in one of its message handlers or callbacks is
    reported and the screen keeps handling messages (Textual would end the app)."""

    async def _on_message(self, message) -> None:
        try:
            await super()._on_message(message)
        except Exception as error:  # any bug: report it, keep the screen alive
            report(self, f"handling {type(message).__name__}", error)

    def call_next(self, callback, *args, **kwargs) -> None:
        """As Textual's call_next (e.g. a dismissed screen's result), with failures reported."""
        target = partial(callback, *args, **kwargs) if args or kwargs else callback
        super().call_next(_reporting(self, callback, target))

    # set_timer runs its callback through call_next above, so it is guarded already.
    def set_interval(self, interval: float, callback=None, **kwargs):
        """As Textual's set_interval, with a failing callback reported and the timer going on
        (Textual would end the app); a failure repeated tick after tick is reported once."""
        if callback is not None:
            callback = _reporting(self, callback, callback, repeats=True)
        return super().set_interval(interval, callback, **kwargs)

    def _on_worker_state_changed(self, event) -> None:
        # Workers started with exit_on_error=False fail silently in Textual: say so.
        worker = event.worker
        if event.state == WorkerState.ERROR and not worker.exit_on_error:
            report(self, worker.name or "background work", worker.error)


def _reporting(node, callback, target, repeats: bool = False):
    """An async callable running `target`, reporting (never raising) its failure, named after
    `callback`. With `repeats`, the same failure again is not reported again until a call works."""
    name = getattr(callback, "__name__", type(callback).__name__).strip("_").replace("_", " ")
    last = [""]

    async def guarded() -> None:
        try:
            result = target()
            if isawaitable(result):
                await result
        except Exception as error:
            seen = f"{type(error).__name__}: {error}"
            if not repeats or seen != last[0]:
                report(node, name, error)
            last[0] = seen
        else:
            last[0] = ""

    return guarded


def action_name(namespace, action: str) -> str:
    """What a user calls an action: its binding's description ("save"), else its name."""
    for binding in getattr(namespace, "BINDINGS", ()):
        name = getattr(binding, "action", None) or (binding[1] if len(binding) > 1 else "")
        if name.split("(")[0] == action:
            return getattr(binding, "description", "") or action.replace("_", " ")
    return action.replace("_", " ")
