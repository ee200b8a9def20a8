"""Image files for integration tests, generated on the spot (nothing binary is committed)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def noise_png(seed: int, size: int = 48) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def noise_jpeg(seed: int, size: int = 64) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def write_many(folder: Path, count: int, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img-{i:05d}.png"
        path.write_bytes(noise_png(seed * 1_000_003 + i))
        paths.append(path)
    return paths


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 30_000) -> bytes:
    """A valid, tiny PNG whose header declares side x side pixels (900 megapixels)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def broken_files(folder: Path, outside: Path) -> dict[str, str]:
    """Write the classic bad inputs; returns {relative path: expected reason}."""
    folder.mkdir(parents=True, exist_ok=True)
    good_png, good_jpeg = noise_png(1), noise_jpeg(2)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("payload.txt", "hidden")
    cases = {
        "empty.png": (b"", "empty"),
        "truncated.png": (good_png[: len(good_png) * 6 // 10], "truncated"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) * 6 // 10], "truncated"),
        "text.jpg": (b"this is a text file, not a picture\n", "unsupported_format"),
        "bomb.png": (bomb_png(), "too_many_pixels"),
        "polyglot.png": (good_png + zipped.getvalue(), "polyglot"),
    }
    for name, (data, _) in cases.items():
        (folder / name).write_bytes(data)
    (outside / "secret.png").write_bytes(good_png)
    (folder / "escape.png").symlink_to(outside / "secret.png")
    expected = {name: reason for name, (_, reason) in cases.items()}
    expected["escape.png"] = "path_escape"
    return expected
