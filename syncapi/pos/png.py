"""Small, valid PNG images written from scratch (zlib + struct), for the demo catalogue and tests."""

from __future__ import annotations

import struct
import zlib

#: The eight bytes every PNG file starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Colour type 2 = truecolour RGB, 8 bits per channel.
_RGB_8BIT = (8, 2, 0, 0, 0)

RGB = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def swatch_png(width: int, height: int, colour: RGB, band: RGB | None = None) -> bytes:
    """A `width` x `height` PNG filled with `colour`, with a horizontal `band` across the middle fifth if given."""
    if width < 1 or height < 1:
        raise ValueError(f"an image needs at least 1x1 pixels, got {width}x{height}")
    for channel in (*colour, *(band or ())):
        if not 0 <= channel <= 255:
            raise ValueError(f"colour channels are 0-255, got {channel}")
    plain = b"\x00" + bytes(colour) * width  # filter byte 0 (none), then the pixels
    banded = b"\x00" + bytes(band) * width if band else plain
    top, bottom = height * 2 // 5, height * 3 // 5
    raw = b"".join(banded if top <= row < bottom else plain for row in range(height))
    header = struct.pack(">II", width, height) + bytes(_RGB_8BIT)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def png_size(content: bytes) -> tuple[int, int]:
    """(width, height) of a PNG; raises ValueError when `content` is not one."""
    if not content.startswith(PNG_SIGNATURE) or content[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", content[16:24])
