"""MP3 without its tags: ID3v2 at the start (title, artist, comments, pictures, the recording
device's name), ID3v1 and APEv2 at the end — through ``mutagen``, which knows each. What is
left must begin with an MPEG audio frame: anything else before the frames (a damaged tag) is
not known to hold nothing, so such a file is refused."""

from __future__ import annotations

import io

from mutagen import apev2, id3
from mutagen.mp3 import MP3

from shared.platform.cleaning.errors import NotCleanable

MAX_TAGS = 8


def clean_mp3(data: bytes) -> bytes:
    f = io.BytesIO(data)
    try:
        _delete_tags(f)
        first = f.getvalue()[:2]
        if len(first) < 2 or first[0] != 0xFF or first[1] & 0xE0 != 0xE0:
            raise NotCleanable("no MPEG audio frame where the tags ended")  # what is there?
        f.seek(0)
        MP3(f)  # still MPEG audio frames after the tags went
    except NotCleanable:
        raise
    except Exception as e:  # mutagen on uploaded bytes may fail any way: refused, never a 500
        raise NotCleanable(f"MP3 does not clean: {type(e).__name__}") from None
    return f.getvalue()


def _delete_tags(f: io.BytesIO) -> None:
    for _ in range(MAX_TAGS):  # some taggers leave one ID3v2 tag before another
        f.seek(0)
        id3.delete(f, delete_v1=True, delete_v2=True)
        if f.getvalue()[:3] != b"ID3":
            break
    else:
        raise NotCleanable("too many ID3 tags")
    f.seek(0)
    apev2.delete(f)
