"""MP3 without its tags: ID3v2 at the start (title, artist, comments, pictures, the recording
device's name), ID3v1 and APEv2 at the end — through ``mutagen``, which knows each."""

from __future__ import annotations

import io

from mutagen import MutagenError, apev2, id3
from mutagen.mp3 import MP3

from shared.platform.cleaning.errors import NotCleanable


def clean_mp3(data: bytes) -> bytes:
    f = io.BytesIO(data)
    try:
        id3.delete(f, delete_v1=True, delete_v2=True)
        f.seek(0)
        apev2.delete(f)
        f.seek(0)
        MP3(f)  # still MPEG audio frames after the tags went
    except (MutagenError, ValueError, OSError) as e:
        raise NotCleanable(f"MP3 does not clean: {type(e).__name__}") from None
    return f.getvalue()
