"""HTTP range requests (RFC 9110 §14) for media served from memory: a browser's <video> asks
for ``bytes=0-`` and then the parts it seeks to. One range per request; a request for several
gets the whole file (allowed by the RFC), one that cannot be met gets 416."""

from __future__ import annotations

import re

from fastapi import Response

RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(Exception):
    """The range starts past the end."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte the ``Range`` header asks for, or None for the whole file."""
    found = RANGE.fullmatch((header or "").strip())
    if found is None:
        return None  # absent, several ranges, or another unit: the whole file
    first, last = found.groups()
    if not first:  # the last n bytes
        if not last or int(last) == 0:
            raise Unsatisfiable
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise Unsatisfiable
    return start, end


def ranged(
    data: bytes, media_type: str, range_header: str | None, headers: dict[str, str]
) -> Response:
    """200 with the whole file, 206 with the part asked for, or 416."""
    size = len(data)
    common = headers | {"Accept-Ranges": "bytes"}
    try:
        part = byte_range(range_header, size)
    except Unsatisfiable:
        return Response(status_code=416, headers=common | {"Content-Range": f"bytes */{size}"})
    if part is None:
        return Response(content=data, media_type=media_type, headers=common)
    start, end = part
    return Response(
        content=data[start : end + 1],
        status_code=206,
        media_type=media_type,
        headers=common | {"Content-Range": f"bytes {start}-{end}/{size}"},
    )
