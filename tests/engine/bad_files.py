"""Bad inputs as data: paths that are not regular files (a FIFO, a socket, a directory, links),
shared by the checkpoint and image catalogues (tests/engine/test_bad_input.py,
tests/tui/test_cli_bad_input.py). Each maker takes a directory and returns the path it made."""

import os
import socket
from pathlib import Path

# -- files that are not regular files (shared by images and checkpoints) ----------------------


def fifo(d: Path) -> Path:
    os.mkfifo(d / "pipe")
    return d / "pipe"


def unix_socket(d: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock"))
    s.close()  # the socket file stays on disk
    return d / "sock"


def directory(d: Path) -> Path:
    (d / "folder").mkdir()
    return d / "folder"


def link_to_fifo(d: Path) -> Path:
    os.symlink(fifo(d), d / "link")
    return d / "link"


def dangling_link(d: Path) -> Path:
    os.symlink(d / "nowhere", d / "dangling")
    return d / "dangling"


NOT_REGULAR = [
    ("missing", lambda d: d / "absent", r"file not found"),
    ("directory", directory, r"is a directory"),
    ("fifo", fifo, r"is a named pipe \(FIFO\)"),
    ("link-to-fifo", link_to_fifo, r"is a named pipe \(FIFO\)"),
    ("dangling-link", dangling_link, r"file not found"),
    ("dev-null", lambda d: Path("/dev/null"), r"is a character device"),
    ("dev-zero", lambda d: Path("/dev/zero"), r"is a character device"),
    ("socket", unix_socket, r"is a socket"),
]
