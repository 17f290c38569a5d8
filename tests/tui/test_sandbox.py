"""The served session's sandbox: only regular files inside its own directory, the rest refused."""

import os
from pathlib import Path

import pytest

from tui import sandbox
from tui.sandbox import Sandbox, SandboxError


@pytest.fixture
def box(tmp_path):
    root = tmp_path / "session"
    root.mkdir(mode=0o700)
    (root / "model.npz").write_bytes(b"PK\x03\x04")
    (root / "sub").mkdir()
    (root / "sub" / "digit.png").write_bytes(b"\x89PNG")
    outside = tmp_path / "secret.txt"
    outside.write_text("the presenter's file")
    return Sandbox(root), outside


def refused(box: Sandbox, text: str, *, write: bool = False) -> str:
    with pytest.raises(SandboxError) as info:
        box.resolve(text, write=write)
    named = text.strip() in str(info.value) or repr(text) in str(info.value)
    assert named or not text.strip()  # the message names the path
    return str(info.value)


def test_plain_names_resolve_inside_the_session_directory(box):
    box, _ = box
    assert box.resolve("model.npz") == box.root / "model.npz"
    assert box.resolve("sub/digit.png") == box.root / "sub" / "digit.png"
    assert box.resolve("./model.npz") == box.root / "model.npz"
    assert box.resolve(str(box.root / "model.npz")) == box.root / "model.npz"  # absolute, inside
    assert box.resolve("new.npz", write=True) == box.root / "new.npz"  # not there yet: writable
    assert box.shown(box.root / "sub" / "digit.png") == os.path.join("sub", "digit.png")


@pytest.mark.parametrize("write", [False, True])
def test_dot_dot_is_refused_even_when_it_comes_back_inside(box, write):
    box, outside = box
    assert "'..' is not allowed" in refused(box, "../secret.txt", write=write)
    assert "'..' is not allowed" in refused(box, "sub/../model.npz", write=write)


@pytest.mark.parametrize("write", [False, True])
def test_absolute_paths_outside_are_refused(box, write):
    box, outside = box
    assert "outside the session directory" in refused(box, str(outside), write=write)
    assert "outside the session directory" in refused(box, "/etc/passwd", write=write)
    assert "outside the session directory" in refused(box, "/", write=write)


@pytest.mark.parametrize("write", [False, True])
def test_symlinks_out_of_the_directory_are_refused(box, write):
    box, outside = box
    (box.root / "link.txt").symlink_to(outside)
    (box.root / "dir-link").symlink_to(outside.parent)
    (box.root / "dangling.npz").symlink_to(outside.parent / "not-yet.npz")
    assert "leads outside" in refused(box, "link.txt", write=write)
    assert "leads outside" in refused(box, "dir-link/secret.txt", write=write)
    assert "leads outside" in refused(box, "dangling.npz", write=write)  # a write would escape
    (box.root / "inner").symlink_to(box.root / "model.npz")  # a link that stays inside is fine
    assert box.resolve("inner", write=write) == box.root / "model.npz"


def test_device_files_fifos_and_directories_are_refused(box):
    box, _ = box
    dev = box.root / "null"
    try:
        os.symlink("/dev/null", dev)  # a link to a device: refused as leading outside
    except OSError:
        pytest.fail("cannot create a symlink in tmp")
    assert "leads outside" in refused(box, "null")
    os.mkfifo(box.root / "pipe")
    assert "is a named pipe (FIFO), not a regular file" in refused(box, "pipe")
    assert "is a named pipe (FIFO), not a regular file" in refused(box, "pipe", write=True)
    assert "is a directory, not a regular file" in refused(box, "sub")
    assert "is a directory, not a regular file" in refused(box, ".", write=True)


def test_a_device_node_inside_the_directory_is_refused(box, monkeypatch):
    """Making a real device node needs root; an S_IFCHR stat result stands in for one."""
    box, _ = box
    target = box.root / "tty0"
    target.write_bytes(b"")
    real_stat = os.stat

    def fake_stat(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        if Path(path) == target:
            return os.stat_result((0o20666,) + tuple(st)[1:])  # S_IFCHR | 0666
        return st

    monkeypatch.setattr(sandbox.os, "stat", fake_stat)
    assert "is a character device, not a regular file" in refused(box, "tty0")
    assert "is a character device, not a regular file" in refused(box, "tty0", write=True)


def test_missing_files_and_folders_are_named(box):
    box, _ = box
    assert "no such file in the session directory" in refused(box, "nope.png")
    assert "folder nowhere does not exist" in refused(box, "nowhere/x.npz", write=True)
    assert "no path given" in refused(box, "   ")
    assert "NUL" in refused(box, "a\x00b")


def test_not_served_is_unrestricted_and_relative_to_the_working_directory(tmp_path):
    box = Sandbox(None)
    assert not box.served
    assert box.resolve("../x.npz", write=True) == Path("../x.npz")
    assert box.resolve("/etc/passwd") == Path("/etc/passwd")
    assert box.resolve("~/m.npz", write=True) == Path.home() / "m.npz"


def test_current_reads_the_session_directory_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "_current", None)
    monkeypatch.setenv(sandbox.SESSION_DIR_ENV, str(tmp_path))
    assert sandbox.served() and sandbox.current().root == Path(os.path.realpath(tmp_path))
    monkeypatch.setattr(sandbox, "_current", None)
    monkeypatch.delenv(sandbox.SESSION_DIR_ENV)
    assert not sandbox.served()
    monkeypatch.setattr(sandbox, "_current", None)
