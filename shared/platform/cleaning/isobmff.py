"""MP4 (ISO base media file format, ISO/IEC 14496-12) without what a phone writes about where,
when and with what it recorded.

A phone's video carries its location in ``moov/udta/©xyz`` (Android, QuickTime) or in
``moov/meta``'s keys (``com.apple.quicktime.location.ISO6709``), its make and model beside it,
XMP in ``uuid`` boxes, the recording time in ``mvhd``/``tkhd``/``mdhd``, and sometimes GPS
telemetry or timed metadata as a track of its own (action cameras, drones). ``mutagen`` removes
only the iTunes tags (``moov/udta/meta/ilst``): ``©xyz`` and the QuickTime keys survive it.

So the box tree is walked here and, **in place**, every box not known to hold media or its
layout (``KEPT``: ``udta``, ``meta`` and ``uuid`` among those that are not) becomes a ``free``
box of the same size with its content zeroed, the times become zero, a track that is neither
video nor sound becomes ``free``, and in ``mdat`` every byte that is not a sample of a track
kept becomes zero (the dropped tracks' samples among them).
Nothing moves: the chunk offsets (``stco``/``co64``) of the tracks kept stay right, whether
``moov`` comes before ``mdat`` or after, and no size above changes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from mutagen.mp4 import MP4

from shared.platform.cleaning.errors import NotCleanable

# What each level may keep, by ISO/IEC 14496-12; any other box there — ``udta`` (``©xyz``,
# make, model), ``meta`` (QuickTime keys, iTunes tags), ``uuid`` (XMP, vendors' data), a
# vendor's own, or ``free``/``skip`` padding that may still hold what an editor left in it —
# becomes a zeroed ``free`` box. A container kept is walked into; the sample tables and sample
# entries (``stsd``) hold no metadata and are not.
KEPT: dict[bytes, frozenset[bytes]] = {
    b"": frozenset(
        {b"ftyp", b"moov", b"mdat", b"moof", b"mfra", b"sidx"}
        | {b"styp", b"ssix", b"prft", b"pdin"}
    ),
    b"moov": frozenset({b"mvhd", b"trak", b"mvex", b"iods"}),
    b"trak": frozenset({b"tkhd", b"mdia", b"edts", b"tref", b"tapt"}),
    b"mdia": frozenset({b"mdhd", b"hdlr", b"minf", b"elng"}),
    b"minf": frozenset({b"vmhd", b"smhd", b"hmhd", b"nmhd", b"gmhd", b"dinf", b"stbl"}),
    b"moof": frozenset({b"mfhd", b"traf"}),
    b"traf": frozenset({b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio"}),
}
KEPT_TRACKS = frozenset({b"vide", b"soun"})  # handler types of the tracks kept
# Creation and modification times; the box's size for version 0 and 1 (a size that differs
# would hide other bytes inside a box this walk keeps whole).
TIMED = {b"mvhd": (108, 120), b"tkhd": (92, 104), b"mdhd": (32, 44)}


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
    fragmented = any(b.kind == b"moof" for b in top)
    chunks: list[tuple[int, int]] = []  # where the samples of the tracks kept are
    _clean(out, None, chunks, fragmented)
    if not fragmented:  # (a fragment's samples are found by its trun: not followed here)
        _zero_unreferenced(out, [b for b in top if b.kind == b"mdat"], chunks)
    _check(out)
    return bytes(out)


def _clean(
    out: bytearray, parent: Box | None, chunks: list[tuple[int, int]], fragmented: bool
) -> None:
    level = parent.kind if parent is not None else b""
    start, end = (parent.body, parent.end) if parent is not None else (0, len(out))
    for box in list(boxes(out, start, end)):
        if box.kind not in KEPT[level]:
            _blank(out, box)
        elif box.kind == b"trak" and _handler(out, box) not in KEPT_TRACKS:
            if fragmented:  # its samples are in fragments this walk does not follow
                raise NotCleanable("a data track in a fragmented file")
            _blank(out, box)  # its samples: zeroed with everything no track kept refers to
        elif box.kind in TIMED:
            _zero_times(out, box)
        elif box.kind in KEPT:
            if box.kind == b"trak":
                chunks += _track_chunks(out, box)
            _clean(out, box, chunks, fragmented)


def _zero_unreferenced(out: bytearray, mdats: list[Box], chunks: list[tuple[int, int]]) -> None:
    """``mdat`` keeps the samples of the tracks kept and nothing else: a dropped track's GPS
    samples, or anything a device left between the samples, become zeros."""
    placed = 0
    for mdat in mdats:
        pos = mdat.body
        for offset, length in sorted(c for c in chunks if mdat.body <= c[0] < mdat.end):
            if offset < pos or offset + length > mdat.end:
                raise NotCleanable("chunks overlap or pass the end of mdat")
            out[pos:offset] = bytes(offset - pos)
            pos = offset + length
            placed += 1
        out[pos : mdat.end] = bytes(mdat.end - pos)
    if placed != len(chunks):
        raise NotCleanable("a chunk outside mdat")


def _blank(out: bytearray, box: Box) -> None:
    """The box becomes ``free`` of the same size (a box allowed anywhere), all zeros."""
    out[box.start + 4 : box.start + 8] = b"free"
    out[box.body : box.end] = bytes(box.end - box.body)


def _zero_times(out: bytearray, box: Box) -> None:
    """``mvhd``, ``tkhd`` and ``mdhd`` begin with version, flags, creation and modification
    time (32-bit in version 0, 64-bit in version 1)."""
    version = out[box.body] if box.end > box.body else -1
    if version not in (0, 1) or box.end - box.start != TIMED[box.kind][version]:
        raise NotCleanable(f"{box.kind!r} of an unexpected size")
    width = 8 if version == 1 else 4
    times = box.body + 4
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


def _track_chunks(out: bytearray, trak: Box) -> list[tuple[int, int]]:
    """Each chunk of the track as (offset, length), by its sample tables, which must agree."""
    stbl = _child(out, _child(out, _child(out, trak, b"mdia"), b"minf"), b"stbl")
    chunks = list(_chunks(out, stbl))
    if sum(length for _, length in chunks) != sum(_sample_sizes(out, _child(out, stbl, b"stsz"))):
        raise NotCleanable("chunks and samples disagree")
    return chunks


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
    except Exception as e:  # a parser on uploaded bytes may fail any way: refused, never a 500
        raise NotCleanable(f"does not parse after cleaning: {type(e).__name__}") from None


def _walk(out: bytearray, start: int, end: int) -> None:
    for box in boxes(out, start, end):
        if box.kind in KEPT or box.kind in (b"dinf", b"stbl", b"edts", b"mvex"):
            _walk(out, box.body, box.end)
