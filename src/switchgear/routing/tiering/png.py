"""A cost-quality curve as a PNG, with the standard library only (zlib + struct): no plotting
library at run time.

The picture: x = strong-call share 0..1, y = quality from the weak model's (bottom) to the
oracle's best (top); grey = random, blue = the policy, green = the oracle, a dashed red line at
95 % of the strong model's quality; light grid lines every 10 %. No text (no fonts): the table
printed beside it carries the numbers.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

Color = tuple[int, int, int]
Point = tuple[int, int]
WHITE: Color = (255, 255, 255)
GRID: Color = (225, 225, 225)
AXIS: Color = (0, 0, 0)
GREY: Color = (150, 150, 150)
BLUE: Color = (31, 90, 200)
GREEN: Color = (40, 160, 60)
RED: Color = (210, 40, 40)


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, color: Color, size: int = 1) -> None:
        for dx in range(-(size // 2), size - size // 2):
            for dy in range(-(size // 2), size - size // 2):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    at = 3 * (py * self.width + px)
                    self.pixels[at : at + 3] = bytes(color)

    def line(self, start: Point, end: Point, color: Color, size: int = 1, dash: int = 0) -> None:
        (x0, y0), (x1, y1) = start, end
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            if dash and (i // dash) % 2:
                continue
            self.dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps), color, size)

    def png(self) -> bytes:
        rows = b"".join(
            b"\x00" + bytes(self.pixels[3 * y * self.width : 3 * (y + 1) * self.width])
            for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b"")
        )


def curve_png(
    path: Path,
    *,
    shares: Sequence[float],
    quality: Sequence[float],
    oracle: Sequence[float],
    weak: float,
    strong: float,
    width: int = 640,
    height: int = 480,
) -> None:
    """Write the policy's and the oracle's curves (and random's line) to ``path``."""
    canvas = Canvas(width, height)
    margin = 30
    top = max(*oracle, *quality, strong)
    span = (top - weak) or 1.0

    def xy(share: float, q: float) -> Point:
        x = margin + share * (width - 2 * margin)
        y = height - margin - (q - weak) / span * (height - 2 * margin)
        return round(x), round(y)

    for i in range(11):
        gx, _ = xy(i / 10, weak)
        canvas.line((gx, margin), (gx, height - margin), GRID)
        _, gy = xy(0, weak + span * i / 10)
        canvas.line((margin, gy), (width - margin, gy), GRID)
    canvas.line((margin, height - margin), (width - margin, height - margin), AXIS)
    canvas.line((margin, margin), (margin, height - margin), AXIS)
    _, y95 = xy(0, 0.95 * strong)
    canvas.line((margin, y95), (width - margin, y95), RED, dash=6)
    canvas.line(xy(0, weak), xy(1, strong), GREY, size=2)
    for points, color in ((oracle, GREEN), (quality, BLUE)):
        step = max(1, len(shares) // 400)
        picked = [*range(0, len(shares), step), len(shares) - 1]
        for a, b in pairwise(picked):
            canvas.line(xy(shares[a], points[a]), xy(shares[b], points[b]), color, size=2)
    path.write_bytes(canvas.png())
