"""Small synthetic JPEGs for the demo operator's complete records (a portrait-like face, card-like scans)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

__all__ = ["demo_jpegs"]


def demo_jpegs(seed: int, count: int = 6) -> dict[str, list[bytes]]:
    """Tiny real JPEGs (a few KB) per document kind: a face-like portrait, card-like ID images."""
    rng = random.Random(seed)  # noqa: S311 - synthetic images, not secrets
    out: dict[str, list[bytes]] = {}
    for kind in ("portrait", "id_front", "id_back", "passport_page", "contract", "confirmation_form",
                 "organization_certificate", "user_list", "authorization_letter"):  # fmt: skip
        images = []
        for _ in range(count):
            size = (96, 128) if kind == "portrait" else (171, 108)
            bg = tuple(rng.randrange(150, 250) for _ in range(3))
            img = Image.new("RGB", size, bg)  # type: ignore[arg-type]
            draw = ImageDraw.Draw(img)
            if kind == "portrait":
                skin = (rng.randrange(190, 240), rng.randrange(150, 200), rng.randrange(120, 170))
                draw.ellipse((24, 20, 72, 84), fill=skin)
                draw.rectangle((14, 90, 82, 128), fill=tuple(rng.randrange(0, 120) for _ in range(3)))
            else:
                draw.rectangle((8, 8, 50, 60), fill=(200, 170, 150))
                for row in range(6):
                    y = 14 + row * 14
                    draw.line((60, y, 60 + rng.randrange(50, 100), y), fill=(40, 40, 90), width=3)
            # A little noise so that files differ and compress like photos.
            for _ in range(300):
                img.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), (rng.randrange(256),) * 3)
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=80)
            images.append(buf.getvalue())
        out[kind] = images
    return out
