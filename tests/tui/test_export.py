"""Export files read back: .npy, tensor and curve CSVs, heatmap PNGs; no overwrite, no temp."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest
from PIL import Image

from tui import export
from tui.export import CurvesExport, TensorExport
from tui.render import colors, heatmap


def rgb(color):
    """(r, g, b) of a rich Color."""
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


def test_npy_reads_back_equal_with_its_dtype(tmp_path):
    a = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    path = export.write_new(tmp_path, "t.npy", export.npy_bytes(a))
    back = np.load(path, allow_pickle=False)
    assert back.dtype == np.float32 and back.shape == (3, 5, 4)
    assert np.array_equal(back, a)


def test_tensor_csv_of_maps_parses_back_exactly(tmp_path):
    a = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    a[1, 2, 3] = np.nan
    path = export.write_new(tmp_path, "t.csv", export.tensor_csv(a).encode())
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == ["channel", "row", "col0", "col1", "col2", "col3"]
    back = np.zeros((2, 3, 4))
    for c, i, *values in rows[1:]:
        back[int(c), int(i)] = [float(v) for v in values]
    assert len(rows) == 1 + 2 * 3
    assert np.array_equal(back.astype(np.float32), a, equal_nan=True)  # exact in float32
    assert rows[1][2] == str(a[0, 0, 0]) and len(rows[1][2]) <= 15  # float32's own digits


def test_tensor_csv_of_a_grid_and_a_vector(tmp_path):
    grid = np.array([[4.0, 3.0], [-2.0, 0.1]])
    rows = list(csv.reader(export.tensor_csv(grid).splitlines()))
    assert rows == [["row", "col0", "col1"], ["0", "4.0", "3.0"], ["1", "-2.0", "0.1"]]
    vec = np.array([0.5, -1.25, 1 / 3])
    rows = list(csv.reader(export.tensor_csv(vec).splitlines()))
    assert rows[0] == ["index", "value"] and [float(v) for _, v in rows[1:]] == list(vec)
    with pytest.raises(ValueError, match="1, 2 or 3 dimensions"):
        export.tensor_csv(np.zeros((1, 2, 3, 4)))


def test_curves_csv_parses_back(tmp_path):
    points = ((1, 2.302585, None), (2, 1.5, 0.25), (3, 0.75, 0.5))
    item = CurvesExport("explorer curves", ("iteration", "loss", "accuracy"), points)
    [(label, name, make)] = export.formats(item)
    assert name == "explorer-curves.csv" and "3 points" in label
    path = export.write_new(tmp_path, name, make())
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    assert [float(r["loss"]) for r in rows] == [2.302585, 1.5, 0.75]
    assert [r["accuracy"] for r in rows] == ["", "0.25", "0.5"]


def blocks(png: bytes, h: int, w: int) -> np.ndarray:
    """The PNG's pixels as (h, w, 3) colours, after checking every block is one colour."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    bh, bw = img.shape[0] // h, img.shape[1] // w
    assert img.shape[:2] == (h * bh, w * bw) and bh == bw  # square blocks, nothing left over
    tiles = img.reshape(h, bh, w, bw, 3)
    assert (tiles == tiles[:, :1, :, :1]).all()  # each element is one uniform block
    return tiles[:, 0, :, 0]


def test_png_has_the_tensor_shape_in_blocks_and_the_screen_colours():
    # the article's 5x5 image convolved with its 3x3 filter gives a 3x3 output; any signed map
    a = np.array([[6.0, -3.0, 0.0], [1.5, -6.0, 2.0], [0.0, 3.0, -1.0], [4.0, 4.0, 4.0]])
    png = export.heatmap_png(TensorExport("out", a))
    px = blocks(png, 4, 3)
    # hand-picked ends of the diverging scale: +max is the red end, -max the blue, 0 white
    assert tuple(px[0, 0]) == colors.POS_RGB
    assert tuple(px[1, 1]) == colors.NEG_RGB
    assert tuple(px[0, 2]) == colors.MID_RGB
    # the same colour as the screen's half-block heatmap (top pixel = fg, bottom = bg)
    text = heatmap(a, max_width=3, max_height=2, max_scale=1)
    lines = text.split("\n")
    for r in range(2):
        line = lines[r]
        for j in range(3):
            style = next(s.style for s in line.spans if s.start <= j < s.end)
            assert rgb(style.color) == tuple(px[2 * r, j])
            assert rgb(style.bgcolor) == tuple(px[2 * r + 1, j])


def test_png_of_a_channel_uses_the_whole_tensor_sign_and_a_vector_is_one_row():
    maps = np.stack([np.arange(6.0).reshape(2, 3), -np.ones((2, 3))])  # channel 1 is negative
    px = blocks(export.heatmap_png(TensorExport("maps", maps, channel=0)), 2, 3)
    # signed because channel 1 has negatives (as the screen decides): 0 is mid-white, 5 red
    assert tuple(px[0, 0]) == colors.MID_RGB and tuple(px[1, 2]) == colors.POS_RGB
    unsigned = blocks(export.heatmap_png(TensorExport("m", maps[0])), 2, 3)
    assert tuple(unsigned[0, 0]) == colors.SEQ_LO_RGB and tuple(unsigned[1, 2]) == colors.SEQ_HI_RGB
    vec = blocks(export.heatmap_png(TensorExport("v", np.array([0.0, 1.0, 2.0, 3.0]))), 1, 4)
    assert tuple(vec[0, 3]) == colors.SEQ_HI_RGB


def test_formats_name_the_files_and_the_channel():
    item = TensorExport("layer 2 ∂L/∂y · sample 1", np.zeros((4, 6, 6)), channel=2)
    names = [name for _, name, _ in export.formats(item)]
    assert names == ["layer-2-l-y-sample-1.npy", "layer-2-l-y-sample-1.csv",
                     "layer-2-l-y-sample-1-c2.png"]  # fmt: skip
    assert export.slug("../../etc/passwd") == "etc-passwd"


def test_never_overwrites_an_existing_file(tmp_path):
    (tmp_path / "t.csv").write_text("mine")
    first = export.write_new(tmp_path, "t.csv", b"a")
    second = export.write_new(tmp_path, "t.csv", b"b")
    assert (first.name, second.name) == ("t-1.csv", "t-2.csv")
    assert (tmp_path / "t.csv").read_text() == "mine"
    assert first.read_bytes() == b"a" and second.read_bytes() == b"b"


def test_a_dangling_symlink_is_not_written_through(tmp_path):
    outside = tmp_path / "outside.txt"
    inside = tmp_path / "dir"
    inside.mkdir()
    (inside / "t.csv").symlink_to(outside)
    path = export.write_new(inside, "t.csv", b"data")
    assert path.name == "t-1.csv" and not outside.exists()


def test_atomic_no_temporary_file_left_on_success_or_failure(tmp_path):
    export.write_new(tmp_path, "a.npy", export.npy_bytes(np.ones(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]

    def refuse(text):
        raise ValueError(f"outside the session directory: {text}")

    with pytest.raises(ValueError, match="outside the session directory"):
        export.write_new(tmp_path, "b.npy", b"x", resolve=refuse)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        export.write_new(tmp_path / "nope", "a.csv", b"x")


def test_the_hard_link_fallback_reserves_the_name(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError("no hard links on this file system")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "t.csv").write_text("mine")
    path = export.write_new(tmp_path, "t.csv", b"new")
    assert path.name == "t-1.csv" and path.read_bytes() == b"new"
    assert (tmp_path / "t.csv").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-1.csv", "t.csv"]
