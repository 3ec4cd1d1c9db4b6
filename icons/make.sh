#!/usr/bin/env bash
# Renders the app icon at the sizes Tauri bundles (PNG, ICO, ICNS) and the tray's four states
# from the SVGs here. Needs rsvg-convert (Debian: librsvg2-bin) and python3. The outputs are
# committed; run this only after changing an SVG.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

render() { rsvg-convert -w "$2" -h "$2" "$1" -o "$3"; }
render switchboard.svg 32 32x32.png
render switchboard.svg 128 128x128.png
render switchboard.svg 256 128x128@2x.png
render switchboard.svg 512 icon.png
for size in 16 24 48 64 1024; do render switchboard.svg "$size" "/tmp/switchboard-$size.png"; done

# The tray: a dark glyph with a white halo, legible on light and dark panels alike, and a
# badge for overall health that differs in shape as well as colour, for people who cannot
# tell the colours apart: a filled disc (running), a triangle (some trouble), a square with a
# cross (failing), a hollow ring (daemon not running). Each badge has a white rim.
ok='<circle cx="25" cy="24" r="6.5" fill="#1f8a4c" stroke="#ffffff" stroke-width="2"/>'
warn='<path d="M25 16.5 L32 30 H18 Z" fill="#b26a00" stroke="#ffffff" stroke-width="2" stroke-linejoin="round"/>'
bad='<rect x="18.5" y="17.5" width="13" height="13" rx="2" fill="#c62f2f" stroke="#ffffff" stroke-width="2"/><path d="M22 21l6 6M28 21l-6 6" stroke="#ffffff" stroke-width="2.2" stroke-linecap="round"/>'
off='<circle cx="25" cy="24" r="5.5" fill="#ffffff" stroke="#5d6672" stroke-width="3"/>'
for name in ok warn bad off; do
  dot="${!name}"
  python3 -c 'import sys; print(open("tray.svg.in").read().replace("@DOT@", sys.argv[1]), end="")' "$dot" > "/tmp/tray-$name.svg"
  render "/tmp/tray-$name.svg" 64 "tray-$name.png"
done

# ICO and ICNS hold PNGs as they are; both formats are a small header plus an index.
python3 - <<'PY'
import struct

def png(size):
    name = {32: "32x32.png", 128: "128x128.png", 256: "128x128@2x.png", 512: "icon.png"}.get(size)
    with open(name or f"/tmp/switchboard-{size}.png", "rb") as f:
        return f.read()

sizes = [16, 24, 32, 48, 64, 256]
images = [png(s) for s in sizes]
offset = 6 + 16 * len(sizes)
ico = struct.pack("<HHH", 0, 1, len(sizes))
for size, data in zip(sizes, images):
    ico += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
    offset += len(data)
with open("icon.ico", "wb") as f:
    f.write(ico + b"".join(images))

chunks = b"".join(struct.pack(">4sI", kind, len(png(size)) + 8) + png(size)
                  for kind, size in [(b"ic07", 128), (b"ic08", 256), (b"ic09", 512), (b"ic10", 1024)])
with open("icon.icns", "wb") as f:
    f.write(struct.pack(">4sI", b"icns", len(chunks) + 8) + chunks)
PY
