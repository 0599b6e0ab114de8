"""Files for attachment tests, made here: a JPEG carrying GPS EXIF, a renamed executable,
a PDF, and a fake virus scanner command (ClamAV's exit codes, the EICAR marker)."""

from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

from PIL import Image

EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
GPS_IFD = 0x8825


def jpeg_with_gps(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small photo whose EXIF says where it was taken (and by which camera)."""
    image = Image.new("RGB", (64, 48), colour)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.5), 3: "E", 4: (114.0, 18.0, 7.25)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"shot at home")
    return out.getvalue()


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        found = dict(exif)
        found.update({GPS_IFD: dict(exif.get_ifd(GPS_IFD))} if exif.get_ifd(GPS_IFD) else {})
        if "comment" in image.info:
            found[-1] = image.info["comment"]
        return found


def renamed_executable() -> bytes:
    """What a Windows program starts with (MZ … PE), to be sent as ``photo.jpg``."""
    header = bytearray(256)
    header[0:2] = b"MZ"
    header[0x3C] = 0x80
    header[0x80:0x84] = b"PE\0\0"
    return bytes(header) + b"\x90" * 1024


def pdf(text: str = "signed form") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
        + f"4 0 obj<</Length {len(body)}>>stream\n".encode()
        + body
        + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def fake_scanner(directory: Path) -> str:
    """A scanner command like ``clamdscan``: exit 1 when the file holds the EICAR marker,
    0 otherwise; it logs each path it was given (so a test sees it ran)."""
    script = directory / "fake-clamscan"
    log = directory / "scanned.log"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(log)!r}, 'a').write(sys.argv[-1] + '\\n')\n"
        f"sys.exit(1 if {EICAR_MARKER!r} in open(sys.argv[-1], 'rb').read() else 0)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)
