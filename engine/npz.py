"""The .npz archive format, bounded: sizes checked before reading, bytes that depend only on data.

np.load inflates whatever a member claims and allocates whatever its header declares, and
np.savez stamps every member with the current time. A checkpoint is read from files a user
was given, and the same seed must give the same bytes, so both directions are done here.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from engine.limits import MAX_ARCHIVE_BYTES, MAX_MEMBER_BYTES, LimitError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bytes
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


class ArchiveError(ValueError):
    """A malformed or oversized .npz archive; the message names the member and the problem."""


def write(f: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as an uncompressed .npz to the binary file f, in the dict's order."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16  # a fixed mode, not the writer's umask
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


class Archive:
    """The members of an open .npz file, listed from its directory and read one at a time."""

    def __init__(self, f: BinaryIO):
        """Check the directory: only .npy members, none twice, none inflating past the limits."""
        try:
            self._zip = zipfile.ZipFile(f)
        except _CORRUPT as e:
            raise ArchiveError(f"truncated or corrupt archive ({e})") from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in self._zip.infolist():
            name = info.filename.removesuffix(".npy")
            if name == info.filename:
                raise ArchiveError(f"unexpected member {info.filename!r}")
            if name in self.infos:
                raise ArchiveError(f"member {info.filename!r} appears twice")
            if info.file_size > MAX_MEMBER_BYTES:
                raise LimitError(
                    f"member {info.filename!r} inflates to {info.file_size:,} bytes; "
                    f"the limit is {MAX_MEMBER_BYTES:,}"
                )
            total += info.file_size
            self.infos[name] = info
        if total > MAX_ARCHIVE_BYTES:
            raise LimitError(
                f"the members inflate to {total:,} bytes; the limit is {MAX_ARCHIVE_BYTES:,}"
            )

    def read(self, name: str, max_bytes: int = MAX_MEMBER_BYTES) -> np.ndarray:
        """Member name as an array, its header checked against its size before any allocation."""
        info = self.infos[name]
        if info.file_size > max_bytes:
            raise LimitError(
                f"member {info.filename!r} is {info.file_size:,} bytes; the limit is {max_bytes:,}"
            )
        try:
            with self._zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if dtype.hasobject:
                    raise ArchiveError(
                        f"member {info.filename!r} holds Python objects, which are never loaded"
                    )
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > info.file_size:  # checked before the bytes are allocated
                    raise ArchiveError(
                        f"member {info.filename!r}: its header declares {shape} {dtype} "
                        f"({nbytes:,} bytes) in a {info.file_size:,}-byte member"
                    )
                data = member.read(nbytes + 1)  # reading to the end verifies the CRC
        except ArchiveError:
            raise
        except _CORRUPT as e:
            raise ArchiveError(f"member {info.filename!r} is truncated or corrupt ({e})") from None
        if len(data) != nbytes:
            raise ArchiveError(
                f"member {info.filename!r} holds {len(data):,} bytes of data, its header "
                f"declares {nbytes:,}"
            )
        try:
            arr = np.frombuffer(data, dtype=dtype, count=math.prod(shape))
        except ValueError as e:  # e.g. a zero-size dtype
            raise ArchiveError(f"member {info.filename!r} is truncated or corrupt ({e})") from None
        return arr.reshape(shape, order="F" if fortran else "C").copy()  # writable, own memory
