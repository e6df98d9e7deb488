"""A tiny PNG writer (zlib + struct) and a scatter plot, so workflows make real images without deps."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rows: Sequence[bytes]) -> bytes:
    """Encode 8-bit RGB rows (each ``3 * width`` bytes) as a PNG file."""
    chunk = _chunk
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def padded_png(png: bytes, size: int) -> bytes:
    """The same image, ``size`` bytes long: a ``tEXt`` comment chunk before ``IEND`` fills it up
    (unchanged when the image is already that long or longer)."""
    overhead = 12 + len(b"Comment\x00")
    pad = size - len(png) - overhead
    if pad < 0:
        return png
    iend = len(png) - 12
    return png[:iend] + _chunk(b"tEXt", b"Comment\x00" + b" " * pad) + png[iend:]


def scatter_png(
    points: Sequence[tuple[float, float]],
    highlight: tuple[float, float] | None = None,
    width: int = 240,
    height: int = 160,
) -> bytes:
    """Plot points on a white canvas with axes; the highlighted point is drawn larger in red."""
    pixels = [bytearray(b"\xff" * (3 * width)) for _ in range(height)]

    def put(x: int, y: int, color: Color) -> None:
        if 0 <= x < width and 0 <= y < height:
            pixels[y][3 * x : 3 * x + 3] = bytes(color)

    margin = 10
    for x in range(margin, width - margin):
        put(x, height - margin, (0, 0, 0))
    for y in range(margin, height - margin + 1):
        put(margin, y, (0, 0, 0))
    if points:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        sx = (width - 3 * margin) / ((x1 - x0) or 1.0)
        sy = (height - 3 * margin) / ((y1 - y0) or 1.0)

        def to_px(p: tuple[float, float]) -> tuple[int, int]:
            return int(2 * margin + (p[0] - x0) * sx), int(height - 2 * margin - (p[1] - y0) * sy)

        for p in points:
            cx, cy = to_px(p)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    put(cx + dx, cy + dy, (30, 90, 200))
        if highlight is not None:
            cx, cy = to_px(highlight)
            for dx in range(-3, 4):
                for dy in range(-3, 4):
                    put(cx + dx, cy + dy, (220, 30, 30))
    return encode_png(width, height, [bytes(r) for r in pixels])
