"""Own pictures through Pillow: every format and mode, EXIF, polarity, centring, bad files."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.data import load_mnist_raw
from engine.images import ImageError, image_to_input, prepare_image, to_gray
from engine.paths import samples


def drawn_seven(size=(90, 120), ink=20, paper=240):
    """A dark 7 on light paper, off-centre, grayscale."""
    img = Image.new("L", size, paper)
    ImageDraw.Draw(img).line([(20, 20), (70, 20), (40, 100)], fill=ink, width=9)
    return img


def centre_of_mass(a):
    ys, xs = np.mgrid[: a.shape[0], : a.shape[1]]
    return (ys * a).sum() / a.sum(), (xs * a).sum() / a.sum()


def check_mnist_like(pixels):
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() == pytest.approx(1.0, abs=0.05)
    cy, cx = centre_of_mass(pixels)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    rows, cols = np.nonzero(pixels > 0.1)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # the 20x20 box, one pixel of resampling blur
    assert pixels[0].max() == 0 and pixels[:, 0].max() == 0  # black margins


def test_dark_on_light_is_inverted_and_centred():
    out = prepare_image(drawn_seven())
    assert out.inverted and out.source_size == (90, 120) and out.source_mode == "L"
    check_mnist_like(out.pixels)
    rows, _ = np.nonzero(out.pixels > 0.1)
    assert np.ptp(rows) + 1 >= 19  # the tall side fills the box


def test_light_on_dark_is_kept_and_invert_can_be_forced():
    light = Image.eval(drawn_seven(), lambda v: 255 - v)
    assert not prepare_image(light).inverted
    np.testing.assert_allclose(
        prepare_image(light).pixels, prepare_image(drawn_seven()).pixels, atol=1e-5
    )
    assert prepare_image(light, invert=True).inverted


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "CMYK", "1", "I;16", "I", "F"])
def test_every_mode_gives_the_same_digit(mode):
    ref = prepare_image(drawn_seven()).pixels
    img = drawn_seven(ink=0, paper=255)
    if mode == "I;16":
        img = Image.fromarray((np.asarray(img, dtype=np.uint16) * 257).astype(np.uint16))
        assert img.mode == "I;16"
    else:
        img = img.convert(mode)
    out = prepare_image(img)
    assert out.inverted and out.source_mode == mode
    check_mnist_like(out.pixels)
    assert np.abs(out.pixels - ref).mean() < 0.03


def test_sixteen_bit_uses_full_range():
    arr = np.full((10, 10), 60000, dtype=np.uint16)
    arr[4:6] = 1000
    gray = to_gray(Image.fromarray(arr))
    assert gray.max() == pytest.approx(60000 / 65535) and gray.min() == pytest.approx(1000 / 65535)


def test_transparent_sheet_uses_alpha():
    img = Image.new("RGBA", (60, 60), (0, 0, 0, 0))  # transparent black everywhere
    ImageDraw.Draw(img).ellipse([(15, 5), (45, 55)], outline=(0, 0, 0, 255), width=6)
    out = prepare_image(img)
    assert out.inverted  # black ink is laid on white, then flipped
    check_mnist_like(out.pixels)


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "gif", "webp", "tiff"])
def test_file_formats(tmp_path, ext):
    path = tmp_path / f"seven.{ext}"
    drawn_seven().convert("RGB").save(path)
    out = prepare_image(path)
    assert out.path == path and out.inverted
    assert np.abs(out.pixels - prepare_image(drawn_seven()).pixels).mean() < 0.03
    x = image_to_input(path)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32


def test_exif_orientation_is_honoured(tmp_path):
    img = drawn_seven()  # 90 wide, 120 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif, quality=95)
    out = prepare_image(path)
    assert out.source_size == (120, 90)
    upright = prepare_image(img.transpose(Image.Transpose.ROTATE_270)).pixels
    assert np.abs(out.pixels - upright).mean() < 0.03
    assert np.abs(out.pixels - prepare_image(img).pixels).mean() > 0.05


def test_mnist_digits_survive_the_round_trip():
    images, _ = load_mnist_raw()
    for i in range(0, 200, 20):
        photo = Image.fromarray(255 - images[i]).resize((140, 140), Image.Resampling.BICUBIC)
        out = prepare_image(photo)
        assert out.inverted
        assert np.abs(out.pixels - images[i] / 255.0).mean() < 0.07


def test_blank_image_gives_zeros_and_patterns_can_skip_centring():
    assert prepare_image(Image.new("L", (30, 30), 255)).pixels.max() == 0.0
    stripes = np.zeros((28, 28), dtype=np.uint8)
    stripes[:, 4:8] = 255
    out = prepare_image(Image.fromarray(stripes), mnist=False)
    np.testing.assert_array_equal(out.pixels, stripes / 255.0)
    wide = prepare_image(Image.fromarray(np.full((10, 40), 255, np.uint8)), mnist=False).pixels
    assert wide[:10].max() == wide[17:].max() == 0 and wide[10:17].min() > 0.9  # 7x28, padded
    assert image_to_input(Image.fromarray(stripes), (3, 5, 5)).shape == (1, 3, 5, 5)


def test_bundled_samples_load():
    found = {p.name for p in samples()}
    assert {"digit_7.png", "digit_2.jpg", "stripes_vertical.png", "checkerboard.png"} <= found
    for path in samples():
        out = prepare_image(path, mnist=path.name.startswith("digit"))
        assert out.pixels.shape == (28, 28) and out.pixels.max() > 0.5


def test_missing_directory_and_non_image(tmp_path):
    with pytest.raises(ImageError, match=r"gone\.png: file not found"):
        prepare_image(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="is a directory"):
        prepare_image(tmp_path)
    (tmp_path / "notes.png").write_text("just text")
    with pytest.raises(ImageError, match=r"notes\.png: not an image file"):
        prepare_image(tmp_path / "notes.png")


def test_truncated_file(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(good)
    bad = tmp_path / "cut.png"
    bad.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ImageError, match=r"cut\.png: corrupt or truncated"):
        prepare_image(bad)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_refused(tmp_path):
    # A 100,000 x 100,000 grayscale PNG header: 10 gigapixels, a few dozen bytes on disk.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b""))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(data + png_chunk(b"IEND", b""))
    with pytest.raises(ImageError, match=r"bomb\.png: .*decompression bomb"):
        prepare_image(bomb)


def test_pixel_limit_below_pillows(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.images.MAX_PIXELS", 1000)
    path = tmp_path / "big.png"
    Image.new("L", (50, 50)).save(path)
    with pytest.raises(ImageError, match=r"big\.png: 50x50 pixels is over the 1,000 limit"):
        prepare_image(path)
