"""The IDX loader, the fixed 8,000/2,000 split and mini-batches, on the bundled MNIST files."""

import gzip
import mmap

import numpy as np
import pytest

from engine import paths
from engine.data import (
    HELD_OUT_SIZE,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    TRAIN_SIZE,
    DataError,
    Dataset,
    batches,
    load_mnist,
    load_mnist_raw,
    mnist_split,
    read_idx,
    shared,
    to_float,
)

# Label counts published in assets/mnist/README.md
README_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path, arr, code=0x08):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(header + arr.astype(arr.dtype.newbyteorder(">")).tobytes())


def test_bundled_files_match_readme():
    images, labels = load_mnist_raw()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == README_COUNTS
    assert (paths.MNIST_DIR / "README.md").read_text().count("Creative Commons") == 1
    assert "Attribution-Share Alike 3.0" in (paths.MNIST_DIR / "LICENSE").read_text()


def test_split_is_first_8000_and_last_2000():
    train, held_out = mnist_split()
    full = load_mnist()
    assert (len(train), len(held_out)) == (TRAIN_SIZE, HELD_OUT_SIZE) == (8000, 2000)
    np.testing.assert_array_equal(train.labels, full.labels[:8000])
    np.testing.assert_array_equal(held_out.images, full.images[8000:])
    assert train.images.shape == (8000, 1, 28, 28) and train.images.dtype == np.float32
    assert 0.0 == train.images.min() and train.images.max() == 1.0
    raw, _ = load_mnist_raw()
    np.testing.assert_allclose(held_out.images[5, 0] * 255, raw[8005], atol=1e-4)


def test_float_digits_are_converted_once_and_shared_read_only():
    # Every screen of the app asks for the split; one 31 MB float copy serves them all.
    a, b = load_mnist(), mnist_split()[0]
    assert a.images is load_mnist().images and np.shares_memory(a.images, b.images)
    assert not a.images.flags.writeable and not a.labels.flags.writeable
    assert a.labels.dtype == np.int64


def test_digits_live_in_shared_memory_with_the_same_numbers():
    # Served sessions are forked: shared pages count in a session's RSS only once it reads them.
    raw, _ = load_mnist_raw()
    digits = load_mnist().images
    np.testing.assert_array_equal(digits, to_float(raw))  # the same float32 bits
    assert _mapped(raw) and _mapped(digits)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    s = shared(x)
    np.testing.assert_array_equal(s, x)
    assert s.dtype == x.dtype and not np.shares_memory(s, x) and _mapped(s)
    with pytest.raises(ValueError):
        s[0, 0] = 1.0  # read-only, as every loaded digit array
    assert shared(np.zeros((0, 28, 28), np.uint8)).shape == (0, 28, 28)


def _mapped(a) -> bool:
    """True when the array's memory is an mmap (found through its chain of bases)."""
    base = a
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return False


def test_digits_subset_keeps_labels():
    train, _ = mnist_split()
    low = train.digits([0, 1, 2, 3, 4])
    assert set(np.unique(low.labels)) == {0, 1, 2, 3, 4}
    assert len(low) == int((train.labels < 5).sum())
    assert low.class_counts().tolist()[5:] == [0] * 5


def test_read_idx_roundtrip_raw_and_gzip(tmp_path):
    arr = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    write_idx(tmp_path / "a.idx", arr, code=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), arr)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress((tmp_path / "a.idx").read_bytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), arr)


def test_wrong_magic_names_file():
    with pytest.raises(DataError, match=r"t10k-labels.*magic number 2049, expected 2051"):
        read_idx(paths.MNIST_LABELS, IMAGES_MAGIC)


def test_truncated_gzip_names_file(tmp_path):
    bad = tmp_path / "images.gz"
    bad.write_bytes(paths.MNIST_IMAGES.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"images\.gz: corrupt or truncated gzip"):
        read_idx(bad, IMAGES_MAGIC)


def test_truncated_and_padded_data(tmp_path):
    arr = np.zeros((3, 4, 4), dtype=np.uint8)
    write_idx(tmp_path / "x.idx", arr)
    data = (tmp_path / "x.idx").read_bytes()
    (tmp_path / "short.idx").write_bytes(data[:-1])
    with pytest.raises(DataError, match=r"short\.idx: 47 data bytes, expected 48.*truncated"):
        read_idx(tmp_path / "short.idx", IMAGES_MAGIC)
    (tmp_path / "long.idx").write_bytes(data + b"\0")
    with pytest.raises(DataError, match="trailing bytes"):
        read_idx(tmp_path / "long.idx")
    (tmp_path / "hdr.idx").write_bytes(data[:10])
    with pytest.raises(DataError, match=r"hdr\.idx: truncated IDX header"):
        read_idx(tmp_path / "hdr.idx")


def test_not_idx_and_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world, not a data file")
    with pytest.raises(DataError, match=r"notes\.txt: not an IDX file"):
        read_idx(tmp_path / "notes.txt")
    with pytest.raises(DataError, match=r"nope\.gz: file not found"):
        read_idx(tmp_path / "nope.gz")


def test_images_and_labels_must_agree(tmp_path):
    write_idx(tmp_path / "i.idx", np.zeros((3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "l.idx", np.zeros(2, dtype=np.uint8))
    with pytest.raises(DataError, match="3 images but .*l.idx has 2 labels"):
        load_mnist(tmp_path / "i.idx", tmp_path / "l.idx")
    write_idx(tmp_path / "l2.idx", np.array([1, 2, 12], dtype=np.uint8))
    with pytest.raises(DataError, match="label 12 outside 0-9"):
        load_mnist(tmp_path / "i.idx", tmp_path / "l2.idx")
    assert LABELS_MAGIC == 2049


def test_split_needs_10000(tmp_path):
    write_idx(tmp_path / "i.idx", np.zeros((30, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "l.idx", np.zeros(30, dtype=np.uint8))
    with pytest.raises(DataError, match="30 digits, need 10000"):
        mnist_split(tmp_path / "i.idx", tmp_path / "l.idx")


def test_batches_cover_each_example_once_and_repeat_with_seed():
    data = Dataset(np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1), np.arange(10))
    got = list(batches(data, 4, generator=np.random.default_rng(3)))
    assert [len(y) for _, y in got] == [4, 4, 2]
    seen = np.concatenate([y for _, y in got])
    assert sorted(seen.tolist()) == list(range(10))
    np.testing.assert_array_equal(np.concatenate([x.ravel() for x, _ in got]), seen)
    again = [y for _, y in batches(data, 4, generator=np.random.default_rng(3))]
    np.testing.assert_array_equal(np.concatenate(again), seen)
    ordered = [y for _, y in batches(data, 3, shuffle=False)]
    assert np.concatenate(ordered).tolist() == list(range(10))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(data, 0))
