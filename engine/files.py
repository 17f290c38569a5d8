"""Files the user names: only regular files are opened (never a FIFO, device or directory),
writability is checked before long work, and temp files a killed save left are removed."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import BinaryIO

STALE_TEMP_AGE_S = 3600  # a temp file of the old, pid-less form this old is debris


class NotARegularFile(ValueError):
    """A path that is missing or is not a regular file; the message names the path and its kind."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind(mode: int) -> str:
    """'a regular file', 'a directory', 'a named pipe (FIFO)', ... for an st_mode."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | Path, what: str = "file") -> BinaryIO:
    """Open path for binary reading if it is a regular file; NotARegularFile otherwise.

    O_NONBLOCK makes open() of a FIFO with no writer return at once instead of waiting
    forever; the kind is then checked on the open descriptor (fstat), so a path swapped
    between a check and the open cannot slip through.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotARegularFile(f"{path}: file not found") from None
    except IsADirectoryError:
        raise NotARegularFile(f"{path}: is a directory, not {_a(what)}") from None
    except OSError as e:  # e.g. ENXIO for a socket: say what it is when that is the reason
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{path}: is {kind(mode)}, not {_a(what)}") from None
        raise NotARegularFile(f"{path}: cannot open ({e.strerror or e})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{path}: is {kind(mode)}, not {_a(what)}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # ordinary reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | Path, what: str = "file") -> Path:
    """path if it names an existing regular file (following links); NotARegularFile otherwise."""
    with open_regular(path, what):
        return Path(path)


def check_output(path: str | Path, what: str = "file") -> Path:
    """path if a file can be written there: its directory exists and is writable, and path is
    absent or a regular file; NotARegularFile (a ValueError) naming the problem otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as e:
        raise NotARegularFile(f"{path}: cannot check ({e.strerror or e})") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise NotARegularFile(f"{path}: is {kind(mode)}; give a file name like model.npz")
    parent = path.parent
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise NotARegularFile(f"{path}: directory {parent} {problem}")
    probe = parent / f".{path.name}.{os.getpid()}.probe"
    try:  # access() is not enough: it ignores read-only mounts for root and ACLs
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise NotARegularFile(f"{path}: cannot write in {parent} ({e.strerror or e})") from None
    return path


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale_temp_files(path) -> list[Path]:
    """Delete temp files a killed save left next to path: ours, and their writer is gone.

    A save writes `.NAME.PID.RANDOM.tmp`; a file of that form whose PID no longer runs is
    debris. Files of the older form without a PID are removed once an hour old.
    """
    path = Path(path)
    prefix, removed = f".{path.name}.", []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        tmp = path.parent / name
        parts = name[len(prefix) : -len(".tmp")].split(".")  # [pid, random] or [random]
        try:
            st = tmp.lstat()
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
                continue
            if len(parts) == 2 and parts[0].isdigit():
                stale = not _writer_alive(int(parts[0]))
            else:
                stale = time.time() - st.st_mtime > STALE_TEMP_AGE_S
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def _a(what: str) -> str:
    return f"an {what}" if what[:1] in "aeiou" else f"a {what}"
