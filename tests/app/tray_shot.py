"""Photographs the tray of an XEmbed tray host (trayer) on an X display, as a person would see
it, and measures how legible the icons in it are.

Usage: tray_shot.py DISPLAY OUT.png

Finds trayer's window ("panel"), takes it with xwd (children included: the embedded icons),
writes it as OUT.png, and prints one JSON line:
  background  the panel's colour (the commonest pixel), as [r, g, b]
  icon        how many pixels differ from it
  legible     the share of those whose contrast with the panel is at least 3:1 (WCAG's
              figure for graphics)
  glyph       how many pixels at 3:1 or more lie in the left 60% of the icon, where the glyph
              is and the health badge is not: a faint glyph scores near 0 however bright
              its badge
  luma        the icon as luminance only (what a viewer without colour vision sees): one
              string per row, '#' for a pixel at 3:1 or more against the panel, '.' else
"""

import json
import struct
import subprocess
import sys
import zlib
from collections import Counter


def panel_window(display):
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"], capture_output=True, text=True, check=True
    ).stdout
    for line in tree.splitlines():
        if '"panel": ("panel" "trayer")' in line:
            return line.split()[0]
    raise SystemExit("no trayer panel on the display")


def grab(display, window):
    """The window as rows of (r, g, b), from an XWD image (ZPixmap, 24 or 32 bits a pixel)."""
    data = subprocess.run(
        ["xwd", "-display", display, "-id", window, "-silent"], capture_output=True, check=True
    ).stdout
    fields = struct.unpack(">25I", data[:100])
    header_size, _, pixmap_format, _, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    red_mask, green_mask, blue_mask = fields[14:17]
    ncolors = fields[19]
    if pixmap_format != 2 or bits_per_pixel not in (24, 32):
        raise SystemExit(f"unexpected XWD image: format {pixmap_format}, {bits_per_pixel} bits a pixel")
    pixels = data[header_size + 12 * ncolors :]
    step = bits_per_pixel // 8
    endian = "little" if byte_order == 0 else "big"

    def channel(value, mask):
        shift = (mask & -mask).bit_length() - 1
        return (value & mask) >> shift

    rows = []
    for y in range(height):
        line = pixels[y * bytes_per_line : y * bytes_per_line + width * step]
        row = []
        for x in range(width):
            value = int.from_bytes(line[x * step : x * step + step], endian)
            row.append((channel(value, red_mask), channel(value, green_mask), channel(value, blue_mask)))
        rows.append(row)
    return rows


def luminance(rgb):
    def linear(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def write_png(path, rows):
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    display, out = sys.argv[1], sys.argv[2]
    rows = grab(display, panel_window(display))
    write_png(out, rows)
    background = Counter(px for row in rows for px in row).most_common(1)[0][0]
    icon = [px for row in rows for px in row if px != background]
    legible = [px for px in icon if contrast(px, background) >= 3]
    luma = ["".join("#" if contrast(px, background) >= 3 else "." for px in row) for row in rows]
    columns = [x for row in rows for x, px in enumerate(row) if px != background]
    left, right = (min(columns), max(columns)) if columns else (0, 0)
    edge = left + 0.6 * (right - left)
    glyph = sum(1 for row in luma for x, mark in enumerate(row) if mark == "#" and left <= x <= edge)
    print(
        json.dumps(
            {
                "background": list(background),
                "icon": len(icon),
                "legible": len(legible) / len(icon) if icon else 0,
                "glyph": glyph,
                "luma": luma,
            }
        ),
        flush=True,
    )


main()
