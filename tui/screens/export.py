"""ExportScreen: what to export and where; each file is new, its path shown and, served, sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui import export, sandbox
from tui.messages import Exported
from tui.safety import Guarded, why

Choice = tuple[str, str, Callable[[], bytes]]  # (label, file name, bytes maker)


def choices(screen, screenshot: str | None) -> list[Choice]:
    """Every file the screen offers (its exportables()), then its SVG screenshot."""
    items = screen.exportables() if hasattr(screen, "exportables") else []
    out = [choice for item in items for choice in export.formats(item)]
    if screenshot is not None:
        name = export.slug(f"cnn-tui {getattr(screen, 'name', None) or type(screen).__name__}")
        out.append(("screenshot of the screen as .svg", f"{name}.svg", screenshot.encode))
    return out


def default_directory() -> str:
    """Where exports go unless the user says otherwise: the current directory; served, the
    session directory, as "." (a browser is never shown a path on the server)."""
    return "." if sandbox.served() else str(Path.cwd())


def save(directory: str, filename: str, data: bytes) -> Path:
    """Write one new file into directory (through the sandbox); safe to call from a worker.

    Raises ValueError (SandboxError included) with a message naming the problem.
    """
    box = sandbox.current()
    text = directory.strip() or default_directory()

    def resolve(candidate: str) -> Path:
        return box.resolve(candidate, write=True)

    # served, a relative folder is inside the session directory and the sandbox's refusal
    # names what was typed; it comes before anything is written
    folder = resolve(str(Path(text) / filename)).parent
    try:
        return export.write_new(folder, filename, data, resolve=resolve)
    except OSError as exc:
        raise ValueError(f"cannot write {filename} into {text}: {exc.strerror or exc}") from None


class ExportScreen(Guarded, ModalScreen[None]):
    """The files the current screen can give; enter writes the highlighted one, escape closes."""

    BINDINGS = [Binding("escape", "dismiss", "close")]

    def __init__(self, items: list[Choice], directory: str) -> None:
        super().__init__()
        self.items, self.directory = items, directory
        self.written: list[Path] = []
        self.writing = False  # a worker is writing: enter waits for it

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        with Vertical(id="export-body") as body:
            body.border_title = "Export (enter writes, escape closes)"
            with Horizontal(id="export-dir-row"):
                yield Static("folder")
                yield Input(self.directory, compact=True, id="export-dir")
            options = [Option(escape(label), id=str(k)) for k, (label, _, _) in
                       enumerate(self.items)]  # fmt: skip
            if len(self.items) > 1:
                options.append(Option("all of the above", id="all"))
            yield OptionList(*options, id="export-list")
            yield Static(self.hint(), id="export-result")

    def hint(self) -> str:
        """What the dialog says before anything is written."""
        if not self.items:
            return "nothing to export on this screen"
        where = " and sent to your browser" if sandbox.served() else ""
        return f"files are written{where} under new names (-1, -2 …), never over old ones"

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        picked = self.items if event.option.id == "all" else [self.items[int(event.option.id)]]
        self.write(picked)

    def write(self, picked: list[Choice]) -> None:
        """Write the picked files in a worker (a PNG of a big tensor takes a while); the result
        line says where they went, or why not (nothing is overwritten)."""
        result = self.query_one("#export-result", Static)
        if self.writing:
            self.app.notify("still writing the last export: a moment", timeout=3)
            return
        self.writing = True
        result.remove_class("-error")
        result.update("writing …")
        self.write_files(picked, self.query_one("#export-dir", Input).value)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def write_files(self, picked: list[Choice], directory: str) -> None:
        """Make each file's bytes and write it (off the interface thread); post Exported."""
        done: list[Path] = []
        try:
            for _, filename, make in picked:
                done.append(save(directory, filename, make()))
        except ValueError as exc:
            self.post_message(Exported(done, directory, str(exc)))
        except Exception as exc:  # a bug in a maker: named, the dialog stays usable
            self.post_message(Exported(done, directory, why(exc)))
        else:
            self.post_message(Exported(done, directory))

    def on_exported(self, message: Exported) -> None:
        self.writing = False
        self.written.extend(message.paths)
        if sandbox.served():  # each file also goes to the participant's browser
            for path in message.paths:
                self.app.deliver_binary(path, save_filename=path.name)
        result = self.query_one("#export-result", Static)
        if message.error:
            result.add_class("-error")
            result.update(escape(f"not written: {message.error}"))
            self.app.notify(escape(f"export failed: {message.error}"), severity="error", timeout=6)
            return
        directory, done = message.directory, message.paths
        self.app.export_dir = directory  # the next export starts in the same folder
        result.remove_class("-error")
        names = ", ".join(sandbox.current().shown(p) for p in done)
        result.update(escape(f"wrote {names}"))
        # the toast stays short (34 columns): the dialog lists every path
        short = names if len(done) == 1 else f"{len(done)} files in {directory or '.'}"
        self.app.notify(escape(f"wrote {short}"), timeout=6)
