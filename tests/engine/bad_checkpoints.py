"""Bad inputs as data: makers of bad checkpoint files, each case paired with a regex the error
message must match (tests/engine/test_bad_input.py, tests/tui/test_cli_bad_input.py).

Each maker takes a directory and the arrays of a good lenet checkpoint and returns the path it
made. Add a case by adding a line."""

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from engine.npz import write as write_npz

# -- checkpoints ------------------------------------------------------------------------------


def raw(name: str, data: bytes):
    def make(d: Path, arrays) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return make


def edited(**changes):
    """A checkpoint whose members are the good ones with changes (None deletes a member)."""

    def make(d: Path, arrays) -> Path:
        out = dict(arrays)
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value(arrays) if callable(value) else value
        with open(d / "bad.npz", "wb") as f:
            write_npz(f, out)
        return d / "bad.npz"

    return make


def spec(value) -> dict:
    """Changes that store value (any JSON) as the spec."""
    return {"spec": np.array(json.dumps(value))}


def spec_text(text: str) -> dict:
    return {"spec": np.array(text)}


def nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_blocks(depth: int) -> dict:
    layer = {"type": "ReLU"}
    for _ in range(depth):
        layer = {"type": "Sequential", "layers": [layer]}
    return layer


def seq(*layers) -> dict:
    return {"type": "Sequential", "layers": list(layers)}


def linear(n_in, n_out) -> dict:
    return {"type": "Linear", "in_features": n_in, "out_features": n_out}


def conv(c_in, c_out, k=3, **kw) -> dict:
    return {"type": "Conv2d", "in_channels": c_in, "out_channels": c_out, "kernel_size": k, **kw}


def with_bytes(name: str, transform):
    """The good checkpoint's bytes, transformed."""

    def make(d: Path, arrays) -> Path:
        good = d / "good-source.npz"
        with open(good, "wb") as f:
            write_npz(f, arrays)
        data = transform(good.read_bytes())
        good.unlink()
        (d / name).write_bytes(data)
        return d / name

    return make


def flip_middle(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(data) // 2] ^= 0xFF
    return bytes(out)


def zip_members(*members):
    """An archive of (name, bytes) members written as given, e.g. duplicates or non-.npy names."""

    def make(d: Path, arrays) -> Path:
        good = {}
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            good[f"{key}.npy"] = buf.getvalue()
        with zipfile.ZipFile(d / "bad.npz", "w") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": that is the point of some cases
            for name, data in good.items():
                zf.writestr(name, data)
            for name, data in members:
                zf.writestr(name, data)
        return d / "bad.npz"

    return make


def lying_header(d: Path, arrays) -> Path:
    """p0 whose .npy header declares a (1000000, 1000000) array over 100 bytes of data."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return zip_replace("p0.npy", buf.getvalue() + b"\0" * 100)(d, arrays)


def zip_replace(member: str, data: bytes):
    def make(d: Path, arrays) -> Path:
        path = zip_members()(d, {k: v for k, v in arrays.items() if f"{k}.npy" != member})
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(member, data)
        return path

    return make


def zip_bomb(d: Path, arrays) -> Path:
    """p0 deflated: 80 MiB of zeros in about 80 KB (over the 64 MiB member limit)."""
    path = zip_members()(d, {k: v for k, v in arrays.items() if k != "p0"})
    header = {"descr": "<f4", "fortran_order": False, "shape": (20 * 2**20,)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("p0.npy", "w", force_zip64=True) as m:
            m.write(buf.getvalue())
            chunk = bytes(2**20)
            for _ in range(80):
                m.write(chunk)
    return path


def replace_param(i: int, make_value):
    return {f"p{i}": lambda arrays: make_value(arrays[f"p{i}"])}


CHECKPOINTS = [
    # (id, maker, regex the message must match)
    ("empty", raw("e.npz", b""), r"empty file"),
    ("text", raw("t.npz", b"hello, not a model"), r"not an \.npz archive"),
    ("png-bytes", raw("p.npz", b"\x89PNG\r\n\x1a\n" + bytes(64)), r"not an \.npz archive"),
    ("zip-magic-only", raw("z.npz", b"PK\x03\x04"), r"truncated or corrupt archive"),
    ("truncated-half", with_bytes("h.npz", lambda b: b[: len(b) // 2]), r"truncated or corrupt"),
    ("truncated-tail", with_bytes("h.npz", lambda b: b[:-30]), r"truncated or corrupt"),
    ("flipped-byte", with_bytes("f.npz", flip_middle), r"'p\d\.npy' is truncated or corrupt"),
    ("missing-spec", edited(spec=None), r"missing \['spec'\]"),
    ("missing-meta", edited(meta=None), r"missing \['meta'\]"),
    ("missing-input-shape", edited(input_shape=None), r"missing \['input_shape'\]"),
    ("missing-format", edited(format=None), r"missing \['format'\]"),
    ("missing-version", edited(version=None), r"missing \['version'\]"),
    ("extra-member", edited(evil=np.zeros(3)), r"unexpected member 'evil\.npy'"),
    ("non-npy-member", zip_members(("readme.txt", b"hi")), r"unexpected member 'readme\.txt'"),
    ("duplicate-member", zip_members(("spec.npy", b"x")), r"'spec\.npy' appears twice"),
    ("wrong-format", edited(format=np.array("keras-model")), r"not a cnn-tui checkpoint"),
    ("format-not-text", edited(format=np.array(7)), r"not a cnn-tui checkpoint"),
    ("version-2", edited(version=np.array(2)), r"format version .* is not 1"),
    ("version-text", edited(version=np.array("1")), r"format version .* is not 1"),
    ("version-float", edited(version=np.array(1.0)), r"format version .* is not 1"),
    ("spec-not-text", edited(spec=np.zeros(3)), r"spec is float64 \(3,\), not text"),
    ("meta-not-text", edited(meta=np.zeros((2, 2))), r"meta is float64 \(2, 2\), not text"),
    ("spec-bad-json", edited(**spec_text("{'type': ")), r"corrupt spec JSON"),
    ("spec-nan", edited(**spec_text('{"type": NaN}')), r"corrupt spec JSON .*NaN"),
    ("spec-infinity", edited(**spec_text("[Infinity]")), r"corrupt spec JSON .*Infinity"),
    ("spec-2000-deep", edited(**spec_text(nested_lists(2000))), r"spec JSON is nested too deep"),
    ("meta-2000-deep", edited(meta=np.array(nested_lists(2000))), r"meta JSON is nested too deep"),
    ("blocks-20-deep", edited(**spec(nested_blocks(20))), r"nested more than 16 deep"),
    ("2000-layers", edited(**spec(seq(*[{"type": "ReLU"}] * 2000))), r"more than 1,000 layers"),
    ("spec-a-list", edited(**spec([1, 2])), r"must be a dict with a 'type' string"),
    ("spec-a-string", edited(**spec("Conv2d")), r"must be a dict with a 'type' string"),
    ("type-unknown", edited(**spec({"type": "Transformer"})), r"unknown layer type 'Transformer'"),
    (
        "type-hostile",
        edited(**spec({"type": "[bold red]x[/]\x1b[2J\u202e"})),
        r"unknown layer type '\[bold red\]x\[/\]\\x1b\[2J",
    ),
    ("type-not-a-string", edited(**spec({"type": 3})), r"must be a dict with a 'type' string"),
    ("layers-not-list", edited(**spec({"type": "Sequential", "layers": 3})), r"'layers' list"),
    ("residual-empty", edited(**spec({"type": "Residual", "layers": []})), r"at least one layer"),
    ("bad-kwarg", edited(**spec({"type": "ReLU", "evil\u0000": 1})), r"bad arguments for ReLU"),
    ("channels-text", edited(**spec(seq(conv("1", 8)))), r"in_channels must be a positive"),
    ("channels-bool", edited(**spec(seq(conv(True, 8)))), r"in_channels must be a positive"),
    ("channels-float", edited(**spec(seq(conv(1, 8.5)))), r"out_channels must be a positive"),
    ("channels-zero", edited(**spec(seq(conv(1, 0)))), r"out_channels must be a positive"),
    (
        "conv-1e9-channels",
        edited(**spec(seq(conv(1, 10**9)))),
        r"Conv2d would have 10,000,000,000 parameters .*the limit is 10,000,000",
    ),
    (
        "linear-1e5-square",
        edited(**spec(linear(10**5, 10**5))),
        r"Linear would have 10,000,100,000 parameters",
    ),
    ("kernel-1e6", edited(**spec(seq(conv(1, 1, 10**6)))), r"spec\.layers\[0\]: Conv2d would"),
    (
        "many-medium-layers",
        edited(**spec(seq(*[conv(512, 512)] * 6))),
        r"the model would have 14,158,848 parameters",
    ),
    (
        "conv-1e100-channels",
        edited(**spec(seq(conv(1, 10**100)))),
        r"Conv2d would have 100,000,000,000,",
    ),
    ("shape-1e6-square", edited(input_shape=np.array([1, 10**6, 10**6])), r"values per sample"),
    ("shape-zero", edited(input_shape=np.array([0, 28, 28])), r"every size must be at least 1"),
    ("shape-negative", edited(input_shape=np.array([1, -28, 28])), r"must be at least 1"),
    ("shape-float", edited(input_shape=np.array([1.0, 28, 28])), r"corrupt input_shape"),
    ("shape-2d", edited(input_shape=np.ones((1, 3), np.int64)), r"corrupt input_shape"),
    ("shape-2-long", edited(input_shape=np.array([28, 28])), r"corrupt input_shape"),
    ("shape-not-fitting", edited(input_shape=np.array([3, 28, 28])), r"does not fit the model"),
    (
        "activation-too-big",
        edited(
            input_shape=np.array([1, 1024, 1024]),
            **spec(seq(conv(1, 64, 1), {"type": "ReLU"})),
            p0=np.zeros((64, 1, 1, 1), np.float32),
            p1=np.zeros(64, np.float32),
            p2=None,
            p3=None,
            p4=None,
            p5=None,  # fmt: skip
        ),
        r"layer 0 \(Conv2d\(1->64.*would output \(64, 1024, 1024\)",
    ),
    (
        "padding-1e9",
        edited(**spec(seq(conv(1, 1, 3, padding=10**4)))),
        r"layer 0 .*would output \(1, 20026, 20026\)",
    ),
    ("nan-weight", edited(**replace_param(0, lambda p: p * np.nan)), r"0\.weight is not finite"),
    ("inf-weight", edited(**replace_param(5, lambda p: p + np.inf)), r"7\.bias is not finite"),
    ("int-weight", edited(**replace_param(1, lambda p: p.astype(int))), r"0\.bias is not finite"),
    ("complex-weight", edited(**replace_param(2, lambda p: p + 0j)), r"3\.weight is not finite"),
    ("text-weight", edited(**replace_param(3, lambda p: p.astype(str))), r"3\.bias is not finite"),
    ("bool-weight", edited(**replace_param(3, lambda p: p > 0)), r"3\.bias is not finite"),
    ("weight-shape", edited(p0=np.zeros((8, 1, 5, 5), np.float32)), r"0\.weight has shape"),
    ("weight-scalar", edited(p1=np.float32(0)), r"0\.bias has shape \(\)"),
    ("param-missing", edited(p5=None), r"holds 5 parameters, the model has 6"),
    ("param-gap", edited(p2=None), r"parameter p2 is missing"),
    ("param-extra", edited(p6=np.zeros(3, np.float32)), r"holds 7 parameters, the model has 6"),
    ("lying-npy-header", lying_header, r"'p0\.npy'.*header declares \(1000000, 1000000\)"),
    ("npy-bad-magic", zip_replace("p1.npy", b"not an npy file at all"), r"'p1\.npy'.*corrupt"),
    ("empty-member", zip_replace("meta.npy", b""), r"'meta\.npy'.*corrupt"),
    ("zip-bomb", zip_bomb, r"'p0\.npy' inflates to 83,886,208 bytes; the limit is 67,108,864"),
]


def object_npy() -> bytes:
    """An .npy holding a pickled Python object (np.save with allow_pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


CHECKPOINTS.append(("object-array", zip_replace("p0.npy", object_npy()), r"Python objects"))
