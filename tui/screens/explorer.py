"""ExplorerScreen: layers, tensor, math, optimizer and curves panes around one Session."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from tui.messages import CompileProgress, GradcheckDone, SessionFailed, SessionReady
from tui.screens.explorer_actions import ExplorerActions
from tui.widgets.curves import CurvesPane
from tui.widgets.layers import LayersPane
from tui.widgets.mathpane import MathPane
from tui.widgets.optimizer import OptimizerPane
from tui.widgets.status import StatusLine
from tui.widgets.tensor import TensorPane

MIN_SIZE = (80, 24)
WIDE_SIZE = (120, 32)  # below this, the panes come in two pages that tab flips
PANE_ORDER = ("layers", "tensor", "optimizer", "curves")
DEFAULT_PRESET = "lenet"

B = Binding
BINDINGS = [
    B("f", "forward", "forward"),
    B("b", "backward", "backward"),
    B("u", "update", "update"),
    B("i", "iteration", "iter"),  # short: the 80-column footer has room for "q quit" too
    B("z", "undo", "undo"),
    B("r", "reset", "reset"),
    B("t", "run", "run"),
    B("x", "stop", "stop"),
    B("p", "presets", "presets", show=False),
    B("1", "preset('article')", "article 5x5 example", show=False),
    B("2", "preset('lenet')", "LeNet-style MNIST net", show=False),
    B("3", "preset('resnet')", "small residual net", show=False),
    B("a", "add_layer", "add layer", show=False),
    B("d", "delete_layer", "delete layer", show=False),
    B("e", "edit_layer", "edit layer", show=False),
    B("shift+up", "move_layer(-1)", "move layer up", show=False),
    B("shift+down", "move_layer(1)", "move layer down", show=False),
    B("tab", "next_pane", "next pane", show=False),
    B("shift+tab", "next_pane(-1)", "previous pane", show=False),
    B("v", "cycle_view", "tensor view", show=False),
    B("less_than_sign", "sample(-1)", "previous sample / filter", key_display="<", show=False),
    B("greater_than_sign", "sample(1)", "next sample / filter", key_display=">", show=False),
    B("left_square_bracket", "channel(-1)", "previous channel", key_display="[", show=False),
    B("right_square_bracket", "channel(1)", "next channel", key_display="]", show=False),
    B("m", "display_mode", "numbers / heatmap", show=False),
    B("o", "cycle_optimizer", "switch optimizer (SGD, momentum, Adam)", show=False),
    B("plus,equals_sign", "lr(1)", "raise learning rate", key_display="+", show=False),
    B("minus", "lr(-1)", "lower learning rate", key_display="-", show=False),
    B("w", "weight_decay", "L2 weight decay (cycle λ)", show=False),
    B("D", "dropout", "dropout before the head (cycle p)", show=False),
    B("g", "gradcheck", "verify gradients", show=False),
    B("G", "gradient_flow", "gradient flow per layer", show=False),
    B("T", "training", "training screen", show=False),
    B("P", "predict", "predict a digit", show=False),
    B("L", "transfer_lesson", "transfer lesson", show=False),
    B("question_mark", "help", "help", key_display="?"),
    B("escape", "back", "back to the lesson or home", show=False),
    B("q", "quit", "quit"),
]
PANE_KEYS = [
    ("↑ ↓", "layers pane: select a layer"),
    ("arrows", "tensor pane: move the element cursor (math follows)"),
    ("← → ↑ ↓", "optimizer pane: pick the parameter and its element"),
    ("ctrl+p", "command palette: every action by name"),
]


class Tensor(TensorPane):
    """The render helper's TensorPane with its keys left out of the (crowded) footer."""

    BINDINGS = [Binding(b.key, b.action, b.description, show=False) for b in TensorPane.BINDINGS]


class ExplorerScreen(ExplorerActions, Screen):
    """The main screen; the first engine work runs in a worker after the first frame."""

    BINDINGS = BINDINGS
    run_state: reactive[str] = reactive("idle")  # idle | running | paused

    def __init__(self, preset: str | None = None, seed: int = 0, warm_up: bool = True) -> None:
        super().__init__()
        self.preset, self.seed, self.do_warm_up = preset or DEFAULT_PRESET, seed, warm_up
        self.session = None
        self.loading_text = "starting …"
        self._opt_layer = None  # the layer whose parameters the optimizer pane last showed
        self._init_run_control()

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="col-left"):
                yield LayersPane(id="layers", classes="pane")
            with Vertical(id="col-mid"):
                yield Tensor(id="tensor", classes="pane")
                yield MathPane(id="math", classes="pane")
            with Vertical(id="col-right"):
                yield OptimizerPane(id="optimizer", classes="pane")
                yield CurvesPane(id="curves", classes="pane")
        yield Static(id="too-small")
        yield StatusLine(id="status")
        # The palette hint would push keys off an 80-column footer; ? and the help list ctrl+p.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#tensor").border_title = "Tensor"
        self.query_one("#math").border_title = "Math"
        self.query_one(TensorPane).clear("loading the model and compiling kernels …")
        self.query_one(MathPane).clear("the equation of the current operation appears here")
        self.query_one(StatusLine).summary = "starting …"
        self.apply_size(self.app.size.width, self.app.size.height)
        self.query_one(TensorPane).focus()
        # After the first frame: the screen is up before any kernel compiles.
        self.call_after_refresh(self.start_session)

    def start_session(self) -> None:
        """Build the first session (and compile kernels) in a thread."""
        self.warm_up(self.preset, self.seed, self.do_warm_up)

    # ---- layout ---------------------------------------------------------------------------
    def on_resize(self, event) -> None:
        self.apply_size(event.size.width, event.size.height)

    def apply_size(self, width: int, height: int) -> None:
        """Too small: a message; small: one page of panes at a time; wide: all panes."""
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.set_class(width < WIDE_SIZE[0] or height < WIDE_SIZE[1], "-compact")
        if small:
            self.query_one("#too-small", Static).update(
                f"enlarge the terminal to at least {MIN_SIZE[0]}x{MIN_SIZE[1]} "
                f"(now {width}x{height})"
            )

    def action_next_pane(self, delta: int = 1) -> None:
        """Focus the next pane; on small terminals flip to the page that holds it."""
        panes = [self.query_one(f"#{name}") for name in PANE_ORDER]
        focused = self.focused
        here = next((k for k, p in enumerate(panes) if focused is p), 0)
        target = panes[(here + delta) % len(panes)]
        self.set_class(target.id in ("optimizer", "curves"), "-page2")
        target.focus()

    # ---- workshop: what s exports and Z enlarges (tui.export, tui.screens.zoom) ----------
    def exportables(self) -> list:
        """The tensor pane's tensor and the curves, when there are any."""
        items = [self.query_one(TensorPane).exportable(), self.query_one(CurvesPane).exportable()]
        return [item for item in items if item is not None]

    def zoom_view(self):
        """The tensor around its cursor and the math pane's equation."""
        from tui.screens.zoom import view_of

        math = self.query_one(MathPane)
        return view_of(self.query_one(TensorPane), math.explanation, math.message)

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the tensor pane's cursor (the math follows, as here)."""
        self.query_one(TensorPane).action_move(di, dj)

    # ---- warm-up worker -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="warmup", exit_on_error=False)
    def warm_up(self, preset: str, seed: int, compile_all: bool) -> None:
        """Compile kernels (progress on the status line), then build the session."""
        worker = get_current_worker()
        try:
            from engine.warmup import warmup

            extra = 2  # building the session, then one pass through its model
            total = 0

            def progress(done: int, total_: int, name: str) -> None:
                nonlocal total
                if worker.is_cancelled:  # quitting mid-compile: stop after this kernel
                    raise RuntimeError("warm-up cancelled")
                total = total_ + extra
                self.post_message(CompileProgress(done, total, name))

            if compile_all:
                warmup(progress)
            else:
                total = extra
            self.post_message(CompileProgress(total - 2, total, f"loading {preset}"))
            from tui.session import Session

            note = ""
            try:
                session = Session(preset, seed)
            except ValueError as exc:  # no MNIST files: the article example needs none
                session, note = Session("article", seed), f"opened the article example: {exc}"
            self.post_message(CompileProgress(total - 1, total, "first pass through the model"))
            session.warm()
            self.post_message(SessionReady(session, note))
        except Exception as exc:
            self.post_message(SessionFailed(f"{type(exc).__name__}: {exc}"))

    def on_unmount(self) -> None:
        self.stop_run()  # a run thread must not outlive the app (the process waits for it)

    def on_compile_progress(self, message: CompileProgress) -> None:
        self.loading_text = f"compiling kernels {message.done}/{message.total}"
        self.query_one(StatusLine).show_progress(message.done, message.total, message.name)

    def on_session_ready(self, message: SessionReady) -> None:
        self.session = message.session
        self.query_one(StatusLine).done_compiling()
        self.query_one(StatusLine).report("")  # "not ready yet" no longer holds
        if message.note:
            self.problem(message.note, "warning")
        self.refresh_panes()

    def on_session_failed(self, message: SessionFailed) -> None:
        self.query_one(StatusLine).done_compiling()
        self.loading_text = f"could not start: {message.error}"
        self.problem(self.loading_text)

    def on_gradcheck_done(self, message: GradcheckDone) -> None:
        self.show_gradcheck(message)
