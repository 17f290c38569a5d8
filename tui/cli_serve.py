"""`cnn-tui serve`: the app for a room of browsers (tui.serve), its flags and errors."""

from __future__ import annotations

from tui.cli_args import CliError, port, positive_int


def add_parser(sub) -> None:
    """The `serve` subcommand and its flags."""
    serve = sub.add_parser(
        "serve",
        help="serve the app to a room of browsers (one session per participant)",
        description="Every participant who opens the URL gets their own session, working in a "
        "private directory; with --present this terminal runs the presenter's session, which "
        "participants follow.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: this machine only; 0.0.0.0 for a room)",
    )
    serve.add_argument("--port", type=port, default=8000, help="(default: 8000)")
    serve.add_argument(
        "--max-sessions", type=positive_int, default=40, help="participants at once (default: 40)"
    )
    serve.add_argument(
        "--present",
        action="store_true",
        help="also run the presenter's session here; participants follow it",
    )


def serve(args) -> int:
    """Run `cnn-tui serve`; returns the exit code."""
    try:
        from tui.serve import ServeError
        from tui.serve import serve as run_server
    except ImportError as exc:
        raise CliError(f"serving needs textual-serve ({exc}); pip install textual-serve") from None
    try:
        return run_server(args.host, args.port, args.max_sessions, args.present)
    except (ServeError, OSError) as exc:
        raise CliError(str(exc)) from None
