"""MP4 (ISO base media file format, ISO/IEC 14496-12) without what a phone writes about where,
when and with what it recorded.

A phone's video carries its location in ``moov/udta/©xyz`` (Android, QuickTime) or in
``moov/meta``'s keys (``com.apple.quicktime.location.ISO6709``), its make and model beside it,
XMP in ``uuid`` boxes, the recording time in ``mvhd``/``tkhd``/``mdhd``, and sometimes GPS
telemetry or timed metadata as a track of its own (action cameras, drones). ``mutagen`` removes
only the iTunes tags (``moov/udta/meta/ilst``): ``©xyz`` and the QuickTime keys survive it.

So the box tree is walked here and, **in place**, every ``udta``, ``meta`` and ``uuid`` box
becomes a ``free`` box of the same size with its content zeroed, the times become zero, and a
track that is neither video nor sound becomes ``free`` with its samples in ``mdat`` zeroed.
Nothing moves: the chunk offsets (``stco``/``co64``) of the tracks kept stay right, whether
``moov`` comes before ``mdat`` or after, and no size above changes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from mutagen import MutagenError
from mutagen.mp4 import MP4

from shared.platform.cleaning.errors import NotCleanable

# Boxes that only hold other boxes, walked into (the sample entries of ``stsd`` are not).
CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"edts", b"mvex", b"moof", b"traf"}
)
BLANKED = frozenset({b"udta", b"meta", b"uuid"})  # metadata of any kind, at any level
TIMED = frozenset({b"mvhd", b"tkhd", b"mdhd"})  # creation and modification times
KEPT_TRACKS = frozenset({b"vide", b"soun"})  # handler types of the tracks kept


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int
    header: int  # 8, or 16 with a 64-bit size
    end: int

    @property
    def body(self) -> int:
        return self.start + self.header


def boxes(data: bytearray | bytes, start: int, end: int) -> Iterator[Box]:
    """The boxes between ``start`` and ``end``, their sizes checked against the space."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise NotCleanable("truncated box header")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise NotCleanable("truncated 64-bit box header")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:  # to the end of the space it is in
            size = end - pos
        if size < header or pos + size > end:
            raise NotCleanable(f"box {kind!r} does not fit")
        yield Box(kind, pos, header, pos + size)
        pos += size


def clean_mp4(data: bytes) -> bytes:
    out = bytearray(data)
    top = list(boxes(out, 0, len(out)))
    if [b.kind for b in top].count(b"moov") != 1:
        raise NotCleanable("not one moov box")
    media = [(b.body, b.end) for b in top if b.kind == b"mdat"]
    fragmented = any(b.kind == b"moof" for b in top)
    _clean(out, 0, len(out), media, fragmented)
    _check(out)
    return bytes(out)


def _clean(
    out: bytearray, start: int, end: int, media: list[tuple[int, int]], fragmented: bool
) -> None:
    for box in list(boxes(out, start, end)):
        if box.kind in BLANKED:
            _blank(out, box)
        elif box.kind == b"trak" and _handler(out, box) not in KEPT_TRACKS:
            if fragmented:  # its samples are in fragments this walk does not follow
                raise NotCleanable("a data track in a fragmented file")
            _zero_samples(out, box, media)
            _blank(out, box)
        elif box.kind in TIMED:
            _zero_times(out, box)
        elif box.kind in CONTAINERS:
            _clean(out, box.body, box.end, media, fragmented)


def _blank(out: bytearray, box: Box) -> None:
    """The box becomes ``free`` of the same size (a box allowed anywhere), all zeros."""
    out[box.start + 4 : box.start + 8] = b"free"
    out[box.body : box.end] = bytes(box.end - box.body)


def _zero_times(out: bytearray, box: Box) -> None:
    """``mvhd``, ``tkhd`` and ``mdhd`` begin with version, flags, creation and modification
    time (32-bit in version 0, 64-bit in version 1)."""
    if box.end - box.body < 4:
        raise NotCleanable(f"short {box.kind!r}")
    width = 8 if out[box.body] == 1 else 4
    times = box.body + 4
    if times + 2 * width > box.end:
        raise NotCleanable(f"short {box.kind!r}")
    out[times : times + 2 * width] = bytes(2 * width)


def _child(out: bytearray, parent: Box, kind: bytes) -> Box:
    for box in boxes(out, parent.body, parent.end):
        if box.kind == kind:
            return box
    raise NotCleanable(f"no {kind!r} in {parent.kind!r}")


def _handler(out: bytearray, trak: Box) -> bytes:
    """``trak/mdia/hdlr``'s handler type: ``vide``, ``soun``, ``meta``, ``text`` …"""
    hdlr = _child(out, _child(out, trak, b"mdia"), b"hdlr")
    if hdlr.end - hdlr.body < 12:
        raise NotCleanable("short hdlr")
    return bytes(out[hdlr.body + 8 : hdlr.body + 12])


def _zero_samples(out: bytearray, trak: Box, media: list[tuple[int, int]]) -> None:
    """Zero a track's samples where its chunk offsets and sizes say they are, each inside
    an ``mdat`` (a range elsewhere is a file this walk does not understand)."""
    stbl = _child(out, _child(out, _child(out, trak, b"mdia"), b"minf"), b"stbl")
    for offset, length in _chunks(out, stbl):
        if not any(lo <= offset and offset + length <= hi for lo, hi in media):
            raise NotCleanable("a sample outside mdat")
        out[offset : offset + length] = bytes(length)


def _chunks(out: bytearray, stbl: Box) -> Iterator[tuple[int, int]]:
    sizes = _sample_sizes(out, _child(out, stbl, b"stsz"))
    offsets = _chunk_offsets(out, stbl)
    runs = _table(out, _child(out, stbl, b"stsc"), ">III")
    sample = 0
    for i, offset in enumerate(offsets, start=1):
        count = next((per for first, per, _ in reversed(runs) if first <= i), 0)
        if sample + count > len(sizes):
            raise NotCleanable("sample table shorter than its chunks")
        yield offset, sum(sizes[sample : sample + count])
        sample += count


def _sample_sizes(out: bytearray, stsz: Box) -> list[int]:
    if stsz.end - stsz.body < 12:
        raise NotCleanable("short stsz")
    size, count = struct.unpack_from(">II", out, stsz.body + 4)
    if size:
        return [size] * count
    if stsz.body + 12 + 4 * count > stsz.end:
        raise NotCleanable("short stsz")
    return list(struct.unpack_from(f">{count}I", out, stsz.body + 12))


def _chunk_offsets(out: bytearray, stbl: Box) -> list[int]:
    for box in boxes(out, stbl.body, stbl.end):
        if box.kind in (b"stco", b"co64"):
            fmt = ">I" if box.kind == b"stco" else ">Q"
            return [row[0] for row in _table(out, box, fmt)]
    raise NotCleanable("no chunk offsets")


def _table(out: bytearray, box: Box, row: str) -> list[tuple[int, ...]]:
    """A full box holding an entry count and that many rows of ``row``."""
    if box.end - box.body < 8:
        raise NotCleanable(f"short {box.kind!r}")
    (count,) = struct.unpack_from(">I", out, box.body + 4)
    width = struct.calcsize(row)
    if box.body + 8 + count * width > box.end:
        raise NotCleanable(f"short {box.kind!r}")
    return [struct.unpack_from(row, out, box.body + 8 + i * width) for i in range(count)]


def _check(out: bytearray) -> None:
    """The result still parses: every size fits (walked again) and mutagen reads it."""
    _walk(out, 0, len(out))
    try:
        MP4(io.BytesIO(bytes(out)))
    except (MutagenError, struct.error, KeyError, ValueError) as e:
        raise NotCleanable(f"does not parse after cleaning: {type(e).__name__}") from None


def _walk(out: bytearray, start: int, end: int) -> None:
    for box in boxes(out, start, end):
        if box.kind in CONTAINERS:
            _walk(out, box.body, box.end)
