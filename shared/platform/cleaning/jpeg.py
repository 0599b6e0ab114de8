"""A JPEG's application segments out, losslessly: EXIF and XMP (APP1, where a phone writes GPS,
make, model and time), Photoshop/IPTC (APP13) and comments. The compressed picture, JFIF
(APP0), the colour profile (APP2) and Adobe's colour transform (APP14) stay, so the picture
decodes exactly as before. Used for the photos inside a PDF, which are not re-encoded."""

from __future__ import annotations

import struct

from shared.platform.cleaning.errors import NotCleanable

DROPPED = frozenset({0xE1, 0xED, 0xFE})  # APP1, APP13, COM
SOS = 0xDA  # start of scan: compressed data follows to the end


def without_metadata(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise NotCleanable("not a JPEG")
    kept = [data[:2]]
    pos = 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise NotCleanable("broken JPEG segment")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise NotCleanable("broken JPEG segment")
        if marker == SOS:
            kept.append(data[pos:])
            return b"".join(kept)
        if marker not in DROPPED:
            kept.append(data[pos:end])
        pos = end
