"""The prompt and parameters written into a downloaded image file, without decoding it.

PNG gets a `parameters` text chunk in the form A1111-family tools (and the sites that read
them) parse, plus an `akool-web` chunk holding every field as JSON. JPEG and WebP get an XMP
packet: the prompt as dc:description, the same two texts under our own namespace.

Nothing is re-encoded: the metadata is spliced into the stored bytes (a head that replaces the
file's first few bytes, and a tail appended after it), so a file streams from storage in chunks
and the number of bytes added is known before the first byte is sent (Content-Length, a ZIP's
total size). Planning needs the file's first bytes (and its size, for WebP's RIFF header),
which also shows whether the file is what it claims to be.
"""

import json
import struct
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

# Enough of any file's start to plan its splice (PNG signature + IHDR, a JPEG's APP0 marker, a
# WebP's RIFF header and first chunk header with the bitstream's size fields).
HEADER_BYTES = 64
PARAMETERS_KEY = "parameters"
JSON_KEY = "akool-web"
XMP_NAMESPACE = "https://akool-web.invalid/ns/1.0/"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IHDR_END = 8 + 4 + 4 + 13 + 4
_JPEG_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
# An APP segment's length field is 16 bits and counts itself.
_JPEG_MAX_SEGMENT = 0xFFFF - 2
_VP8X_XMP = 0x04
_VP8X_ALPHA = 0x10


class UnsupportedFile(ValueError):
    """The file's start is not the format it was stored as."""


@dataclass(frozen=True)
class Metadata:
    prompt: str
    negative_prompt: str = ""
    # The A1111 parameter line's pairs, in order ("Mode", "Size", ...).
    parameters: dict = field(default_factory=dict)
    # Every field, for tools that read JSON.
    record: dict = field(default_factory=dict)
    author: str = ""


@dataclass(frozen=True)
class Splice:
    """Write `head` instead of the file's first `replaced` bytes, then the rest, then `tail`."""

    head: bytes
    replaced: int
    tail: bytes = b""

    @property
    def added(self):
        return len(self.head) - self.replaced + len(self.tail)


def _quote(value):
    # A1111's own rule: a value with a separator in it is written as a JSON string.
    text = str(value)
    if "," in text or ":" in text or "\n" in text or '"' in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def parameters_text(meta: Metadata):
    """The text A1111 writes into its `parameters` chunk: the prompt, a negative prompt line,
    and one line of `Key: value` pairs."""
    lines = [meta.prompt]
    if meta.negative_prompt:
        lines.append(f"Negative prompt: {meta.negative_prompt}")
    pairs = (f"{key}: {_quote(value)}" for key, value in meta.parameters.items() if value != "")
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def _json(meta: Metadata):
    return json.dumps(meta.record, ensure_ascii=False, sort_keys=True, default=str)


# --- PNG -------------------------------------------------------------------------------------


def _png_chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_text(keyword, text):
    key = keyword.encode("latin-1")
    try:
        return _png_chunk(b"tEXt", key + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # iTXt: no compression, no language tag, no translated keyword; UTF-8 text.
        return _png_chunk(b"iTXt", key + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))


def _png(meta, header):
    if len(header) < _PNG_IHDR_END or header[:8] != _PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise UnsupportedFile("not a PNG")
    chunks = _png_text(PARAMETERS_KEY, parameters_text(meta)) + _png_text(JSON_KEY, _json(meta))
    # IHDR must stay first; text chunks may come anywhere after it.
    return _PNG_IHDR_END, chunks


# --- XMP (JPEG, WebP) ------------------------------------------------------------------------


def xmp_packet(meta: Metadata):
    def text(value):
        return escape(value, {'"': "&quot;"})

    creator = (
        f"<dc:creator><rdf:Seq><rdf:li>{text(meta.author)}</rdf:li></rdf:Seq></dc:creator>"
        if meta.author
        else ""
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:akool="{XMP_NAMESPACE}">'
        "<dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{text(meta.prompt)}</rdf:li>'
        f"</rdf:Alt></dc:description>{creator}"
        f"<akool:parameters>{text(parameters_text(meta))}</akool:parameters>"
        f"<akool:json>{text(_json(meta))}</akool:json>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def _jpeg(meta, header):
    if not header.startswith(b"\xff\xd8"):
        raise UnsupportedFile("not a JPEG")
    packet = xmp_packet(meta)
    if len(_JPEG_XMP_ID) + len(packet) > _JPEG_MAX_SEGMENT:
        # A prompt this long does not fit one segment: keep the description, drop the copies.
        packet = xmp_packet(Metadata(meta.prompt[:20_000], author=meta.author))
    body = _JPEG_XMP_ID + packet
    segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    # After the JFIF APP0 when there is one (JFIF readers expect it right after SOI).
    at = 2
    if header[2:4] == b"\xff\xe0" and len(header) >= 6:
        app0_end = 4 + struct.unpack(">H", header[4:6])[0]
        at = app0_end if app0_end <= len(header) else 2
    return at, segment


# --- WebP ------------------------------------------------------------------------------------


def _riff_chunk(kind, data):
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _webp_canvas(header):
    """(width, height, has_alpha) of a simple (VP8 / VP8L) WebP, from its bitstream header."""
    kind, data = header[12:16], header[20:]
    if kind == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if kind == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = struct.unpack("<I", data[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise UnsupportedFile("not a WebP bitstream we know")


def _webp(meta, header, size):
    if len(header) < 30 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise UnsupportedFile("not a WebP")
    # XMP goes after the image data (the container's chunk order), so it is the tail.
    tail = _riff_chunk(b"XMP ", xmp_packet(meta))
    if header[12:16] == b"VP8X":
        flags = header[20] | _VP8X_XMP
        head = header[12:20] + bytes([flags]) + header[21:30]
        extra = b""
    else:
        width, height, alpha = _webp_canvas(header)
        flags = _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        extra = _riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + canvas)
        head = b""
    # A RIFF body is even-sized; an odd stored file would need its own pad byte first.
    pad = b"\x00" if size % 2 else b""
    riff_size = size - 8 + len(pad) + len(extra) + len(tail)
    start = b"RIFF" + struct.pack("<I", riff_size) + b"WEBP" + extra
    if head:
        return Splice(head=start + head, replaced=30, tail=pad + tail)
    return Splice(head=start, replaced=12, tail=pad + tail)


# --- the splice ------------------------------------------------------------------------------


def plan(fmt, meta: Metadata, header: bytes, size: int) -> Splice:
    """How to write `meta` into a stored file of format `fmt` and `size` bytes whose first
    bytes are `header` (HEADER_BYTES of them, or the whole file if shorter). Raises
    UnsupportedFile when the bytes are not that format."""
    if fmt in ("PNG", "JPEG"):
        at, inserted = (_png if fmt == "PNG" else _jpeg)(meta, header)
        return Splice(head=header[:at] + inserted, replaced=at)
    if fmt == "WEBP":
        return _webp(meta, header, size)
    raise UnsupportedFile(f"no metadata for {fmt}")


def added_size(fmt, meta: Metadata, header: bytes, size: int):
    """The number of bytes writing `meta` adds to the file."""
    return plan(fmt, meta, header, size).added


def embed(data: bytes, fmt, meta: Metadata) -> bytes:
    """`data` (a whole file) with `meta` written into it."""
    splice = plan(fmt, meta, data[:HEADER_BYTES], len(data))
    return splice.head + data[splice.replaced :] + splice.tail


def stream(chunks, fmt, meta: Metadata, size: int):
    """`chunks` (a file's bytes in order, `size` in all) with `meta` written into them.

    Yields the spliced file chunk by chunk; holds at most HEADER_BYTES plus one chunk."""
    chunks = iter(chunks)
    header = b""
    for chunk in chunks:
        header += chunk
        if len(header) >= HEADER_BYTES:
            break
    splice = plan(fmt, meta, header, size)
    yield splice.head
    if len(header) > splice.replaced:
        yield header[splice.replaced :]
    yield from chunks
    if splice.tail:
        yield splice.tail
