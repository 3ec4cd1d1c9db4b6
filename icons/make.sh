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

# The tray: a dot shows overall health (running, some trouble, failing, daemon not running).
for state in ok:#3fb96d warn:#e3a13b bad:#f06a6a off:#8a939e; do
  name="${state%%:*}" color="${state#*:}"
  sed "s/@COLOR@/$color/" tray.svg.in > "/tmp/tray-$name.svg"
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
