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
    """A one-page PDF written by hand, with its cross-reference table (the cleaner needs it)."""
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>",
        f"<</Length {len(body)}>>stream\n".encode() + body + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj".encode() + obj + b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


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


# --- files whose metadata would point at the reporter (ADR 22, last amendment) -----------------

MARKER = "ReporterZhang"  # what no cleaned file may still hold, in any of its places
PLACE = b"+30.5811+114.3018/"  # ISO 6709, as phones write it
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>'
    f"{MARKER}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
).encode()


def pdf_with_metadata() -> bytes:
    """A one-page PDF with an author and creator in /Info, XMP on the catalogue and the page,
    and a photo that carries GPS EXIF — saved again incrementally, so that its first revision
    (with the author's name) is still in the file's bytes."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    photo = DecodedStreamObject()
    photo.set_data(jpeg_with_gps())
    photo.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(64),
            NameObject("/Height"): NumberObject(48),
            NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
            NameObject("/BitsPerComponent"): NumberObject(8),
            NameObject("/Filter"): NameObject("/DCTDecode"),
        }
    )
    xobjects = DictionaryObject({NameObject("/Im0"): writer._add_object(photo)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
    page_xmp = DecodedStreamObject()
    page_xmp.set_data(XMP)
    page[NameObject("/Metadata")] = writer._add_object(page_xmp)
    writer.add_metadata({"/Author": f"{MARKER} 张三", "/Creator": f"{MARKER}的手机扫描"})
    writer.xmp_metadata = XMP
    first = io.BytesIO()
    writer.write(first)
    again = PdfWriter(PdfReader(io.BytesIO(first.getvalue())), incremental=True)
    again.add_metadata({"/Title": "整改报告"})
    out = io.BytesIO(first.getvalue())
    again.write(out)
    return out.getvalue()


def pdf_with_password() -> bytes:
    """A PDF that opens only with its user password: it cannot be cleaned, so it is refused."""
    from pypdf import PdfReader, PdfWriter

    locked = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    locked.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    locked.write(out)
    return out.getvalue()


def _u32(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in values)


def _box(kind: bytes, body: bytes) -> bytes:
    return _u32(8 + len(body)) + kind + body


def _full(kind: bytes, body: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + body)


RECORDED_AT = _u32(3_850_000_000)  # seconds since 1904: 2025-12
VIDEO_SAMPLE = b"\x00\x00\x00\x0cVIDEO-FRAME!" * 4
GPS_SAMPLE = b"GPS " + PLACE


def _track(track_id: int, handler: bytes, offset: int, sample: bytes) -> bytes:
    tkhd = _full(b"tkhd", RECORDED_AT * 2 + _u32(track_id) + bytes(68))
    mdhd = _full(b"mdhd", RECORDED_AT * 2 + _u32(1000) + bytes(8))
    hdlr = _full(b"hdlr", bytes(4) + handler + bytes(12) + b"handler\x00")
    stbl = _box(
        b"stbl",
        _full(b"stsd", _u32(0))
        + _full(b"stts", _u32(1, 1, 1))
        + _full(b"stsc", _u32(1, 1, 1, 1))
        + _full(b"stsz", _u32(0, 1, len(sample)))
        + _full(b"stco", _u32(1, offset)),
    )
    minf = _box(b"minf", _box(b"dinf", _full(b"dref", _u32(0))) + stbl)
    udta = _box(b"udta", _box(b"\xa9xyz", len(PLACE).to_bytes(2, "big") + b"\x15\xc7" + PLACE))
    return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf) + udta)


def mp4_with_location() -> bytes:
    """A small MP4 as a phone leaves it, its box tree built here: ``moov`` before ``mdat``
    (fast start), the place it was recorded in ``moov/udta/©xyz`` and in the QuickTime keys of
    ``moov/meta``, make and model, XMP in a ``uuid`` box, recording times in ``mvhd``/``tkhd``/
    ``mdhd``, a video track and a GPS data track whose sample sits in ``mdat``."""
    ftyp = _box(b"ftyp", b"isom" + (512).to_bytes(4, "big") + b"isomiso2mp41")
    xmp_uuid = _box(b"uuid", bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC") + XMP)

    def moov(video_at: int, gps_at: int) -> bytes:
        mvhd = _full(b"mvhd", RECORDED_AT * 2 + _u32(1000, 1000) + bytes(76) + _u32(3))
        udta = _box(
            b"udta",
            _box(b"\xa9xyz", len(PLACE).to_bytes(2, "big") + b"\x15\xc7" + PLACE)
            + _box(b"\xa9mak", (9).to_bytes(2, "big") + b"\x15\xc7" + b"TestPhone")
            + _box(b"\xa9mod", len(MARKER).to_bytes(2, "big") + b"\x15\xc7" + MARKER.encode()),
        )
        key = b"com.apple.quicktime.location.ISO6709"
        meta = _full(
            b"meta",
            _full(b"hdlr", bytes(4) + b"mdta" + bytes(12) + b"\x00")
            + _full(b"keys", _u32(1) + _box(b"mdta", key))
            + _box(b"ilst", _box(_u32(1), _box(b"data", bytes(8) + PLACE))),
        )
        tracks = _track(1, b"vide", video_at, VIDEO_SAMPLE) + _track(2, b"meta", gps_at, GPS_SAMPLE)
        return _box(b"moov", mvhd + tracks + udta + meta)

    head = len(ftyp) + len(moov(0, 0)) + len(xmp_uuid) + 8  # the mdat header
    mdat = _box(b"mdat", VIDEO_SAMPLE + GPS_SAMPLE)
    return ftyp + moov(head, head + len(VIDEO_SAMPLE)) + xmp_uuid + mdat


def mp3_with_id3() -> bytes:
    """A few silent MPEG-1 Layer III frames with ID3v2 (artist, comment) and ID3v1 tags."""
    from mutagen.id3 import COMM, ID3, TPE1

    frame = b"\xff\xfb\x90\x64" + bytes(413)  # 128 kbit/s, 44.1 kHz: 417 bytes a frame
    audio = frame * 20
    tags = ID3()
    tags.add(TPE1(encoding=3, text=[f"{MARKER} 张三"]))
    tags.add(COMM(encoding=3, lang="chi", desc="", text=["录于举报人家中"]))
    f = io.BytesIO(audio)
    tags.save(f, v1=2)
    return f.getvalue()
