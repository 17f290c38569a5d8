"""Where a session may read and write files: anywhere locally, its own directory when served."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.files import kind

# The server (tui.serve) gives every browser session its own private directory through this.
SESSION_DIR_ENV = "CNN_TUI_SESSION_DIR"


class SandboxError(ValueError):
    """A path a served session may not use; the message names the path (escape it to show it)."""


class Sandbox:
    """Resolves the paths a user types; root None means not served (no restriction)."""

    def __init__(self, root: str | Path | None = None) -> None:
        # realpath once: the root itself may sit behind a symlink (/tmp on some systems)
        self.root: Path | None = None if root is None else Path(os.path.realpath(root))

    @property
    def served(self) -> bool:
        """True when paths are confined to the session directory."""
        return self.root is not None

    def shown(self, path: str | Path) -> str:
        """How to name a path to the user: relative to the session directory when served."""
        if self.root is not None:
            try:
                return str(Path(path).relative_to(self.root)) or "."
            except ValueError:
                pass
        return str(path)

    def resolve(self, text: str, *, write: bool = False) -> Path:
        """The path to open for `text`, or SandboxError saying why a served session may not."""
        text = str(text).strip()
        if not text:
            raise SandboxError("no path given")
        if "\x00" in text:
            raise SandboxError(f"{text!r}: a path cannot contain a NUL character")
        if self.root is None:
            return Path(text).expanduser()
        return self._confined(text, write)

    def _confined(self, text: str, write: bool) -> Path:
        """Served: inside the session directory, through no symlink out, a regular file."""
        root = self.root
        given = Path(text)
        if ".." in given.parts:
            raise SandboxError(f"{text}: '..' is not allowed; files live in the session directory")
        full = given if given.is_absolute() else root / given
        if not _inside(Path(os.path.abspath(full)), root):
            raise SandboxError(
                f"{text}: outside the session directory; use a plain name such as model.npz"
            )
        real = Path(os.path.realpath(full))  # follows every symlink on the way
        if not _inside(real, root):
            raise SandboxError(f"{text}: leads outside the session directory (a link); refused")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            if not write:
                raise SandboxError(f"{text}: no such file in the session directory") from None
            if not real.parent.is_dir():
                raise SandboxError(f"{text}: folder {real.parent.name} does not exist") from None
            return real
        except OSError as exc:
            raise SandboxError(f"{text}: cannot be used ({exc.strerror or exc})") from None
        if not stat.S_ISREG(st.st_mode):
            raise SandboxError(f"{text}: is {kind(st.st_mode)}, not a regular file")
        return real


def _inside(path: Path, root: Path) -> bool:
    """path is root or below it (both absolute and normalised)."""
    return path == root or root in path.parents


_current: Sandbox | None = None


def current() -> Sandbox:
    """The process's sandbox, read once from the environment the server gives each session."""
    global _current
    if _current is None:
        _current = Sandbox(os.environ.get(SESSION_DIR_ENV) or None)
    return _current


def served() -> bool:
    """True in a session served to a browser."""
    return current().served
