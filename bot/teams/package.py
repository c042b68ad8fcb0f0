"""`make teams-package`: the app package to upload to Teams (Teams admin centre, or "Upload a custom app").

    python -m bot.teams.package             # build/policybot-teams.zip from teams/manifest.json
    python -m bot.teams.package --icons     # redraw teams/color.png and teams/outline.png

The manifest's `{{MICROSOFT_APP_ID}}` placeholders are filled from MICROSOFT_APP_ID (`.env` or the
environment). The icons are drawn here, pixel by pixel, so nothing binary comes from elsewhere.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEAMS_DIR = PROJECT_ROOT / "teams"
OUTPUT = PROJECT_ROOT / "build" / "policybot-teams.zip"
APP_ID_PLACEHOLDER = "{{MICROSOFT_APP_ID}}"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
COLOR_SIZE, OUTLINE_SIZE = 192, 32
BRAND = (46, 109, 180)  # also the manifest's accentColor
WHITE = (255, 255, 255)


class PackageError(ValueError):
    """Why the package cannot be built; one line."""


# --- Icons ------------------------------------------------------------------------------------------

def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5


def _in_bubble(x: float, y: float) -> bool:
    """A speech bubble in a unit square: an ellipse with a tail at the lower left."""
    ellipse = ((x - 0.5) / 0.36) ** 2 + ((y - 0.45) / 0.29) ** 2 <= 1.0
    tail = 0.22 <= x <= 0.42 and 0.62 <= y <= 0.86 and (x - 0.22) >= (y - 0.62) * 0.35 and y - 0.62 <= (0.42 - x) * 1.2
    return ellipse or tail


def _on_tick(x: float, y: float, width: float) -> bool:
    return min(_segment_distance(x, y, 0.34, 0.46, 0.46, 0.57), _segment_distance(x, y, 0.46, 0.57, 0.67, 0.33)) <= width


def _draw(size: int, colour_at) -> bytes:
    """Render with 4x4 supersampling; `colour_at(x, y)` gives an (r, g, b, a) for a point in the unit square."""
    samples = [(i + 0.5) / 4 for i in range(4)]
    rows = []
    for row in range(size):
        pixels = bytearray()
        for column in range(size):
            total = [0, 0, 0, 0]
            for sy in samples:
                for sx in samples:
                    r, g, b, a = colour_at((column + sx) / size, (row + sy) / size)
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3] / 16
            pixels += bytes(
                [round(total[0] / total[3]) if total[3] else 0, round(total[1] / total[3]) if total[3] else 0,
                 round(total[2] / total[3]) if total[3] else 0, round(alpha)]
            )
        rows.append(bytes(pixels))
    return _png(size, size, rows)


def colour_icon() -> bytes:
    """192x192, full colour: a white speech bubble with a tick on the brand colour."""

    def colour_at(x: float, y: float):
        if _in_bubble(x, y):
            return (*BRAND, 255) if _on_tick(x, y, 0.045) else (*WHITE, 255)
        return (*BRAND, 255)

    return _draw(COLOR_SIZE, colour_at)


def outline_icon() -> bytes:
    """32x32, white on transparent, as Teams requires: the bubble's outline and the tick."""

    def colour_at(x: float, y: float):
        inside = _in_bubble(x, y)
        near_edge = inside and not all(_in_bubble(x + dx, y + dy) for dx, dy in ((0.07, 0), (-0.07, 0), (0, 0.07), (0, -0.07)))
        return (*WHITE, 255) if near_edge or (inside and _on_tick(x, y, 0.05)) else (0, 0, 0, 0)

    return _draw(OUTLINE_SIZE, colour_at)


def write_icons(directory: Path = TEAMS_DIR) -> None:
    (directory / "color.png").write_bytes(colour_icon())
    (directory / "outline.png").write_bytes(outline_icon())


# --- Package ----------------------------------------------------------------------------------------

def manifest_for(app_id: str, *, template: Path = TEAMS_DIR / "manifest.json") -> dict:
    if not app_id:
        raise PackageError("MICROSOFT_APP_ID is not set: register the bot in Azure (Azure Bot resource) and put its app id in .env")
    if not _GUID.match(app_id):
        raise PackageError(f"MICROSOFT_APP_ID must be the bot's app id, a GUID like 00000000-0000-0000-0000-000000000000 (got {app_id!r})")
    return json.loads(template.read_text(encoding="utf-8").replace(APP_ID_PLACEHOLDER, app_id))


def build_package(*, app_id: str, teams_dir: Path = TEAMS_DIR, output: Path = OUTPUT) -> Path:
    manifest = manifest_for(app_id, template=teams_dir / "manifest.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        # Teams wants these three files at the root of the zip, named as the manifest names them.
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in (manifest["icons"]["color"], manifest["icons"]["outline"]):
            package.write(teams_dir / icon, icon)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.teams.package", description=__doc__.splitlines()[0])
    parser.add_argument("--icons", action="store_true", help="redraw the icons in teams/ instead")
    args = parser.parse_args(argv)
    if args.icons:
        write_icons()
        print(f"wrote {TEAMS_DIR / 'color.png'} and {TEAMS_DIR / 'outline.png'}")
        return 0
    from pydantic import ValidationError

    from bot.config import get_settings

    try:
        output = build_package(app_id=get_settings().microsoft_app_id.strip())
    except (PackageError, ValidationError) as error:
        print(f"policybot: {error}", file=sys.stderr)
        return 2
    print(f"built {output}: upload it in Teams (Apps > Manage your apps > Upload an app)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
