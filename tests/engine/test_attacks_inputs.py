"""Small inputs that used to cost a lot: a 4000x4000 digit picture, a gzip that inflates to 1 GB given as
MNIST, a zip bomb given as the news corpus. Each is bounded before the expensive work starts."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.data import mnist, news
from engine.predict import images

ROOT = Path(__file__).resolve().parents[2]


def digit_picture(side: int) -> Image.Image:
    """A dark 7 on white paper, `side` pixels square (strokes scale with the picture)."""
    img = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(img)
    w = max(1, side // 25)
    draw.line([(side * 0.25, side * 0.2), (side * 0.75, side * 0.2), (side * 0.45, side * 0.85)], fill=0, width=w)
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_a_huge_picture_is_shrunk_before_any_processing(tmp_path, monkeypatch):
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(digit_picture(4000)))
    seen = []
    real = images.ink_map
    monkeypatch.setattr(images, "ink_map", lambda a, paper=None: seen.append(np.asarray(a).shape) or real(a, paper))
    big = images.prepare_digit(path, (28, 28))
    assert seen and max(seen[0][:2]) <= images.MAX_SIDE
    small = images.prepare_digit(png_bytes(digit_picture(400)), (28, 28))
    assert big.shape == (28, 28) and big.max() > 0.5
    assert np.abs(big - small).mean() < 0.05  # the same digit at either size gives (nearly) the same input


def test_a_huge_array_is_shrunk_too(monkeypatch):
    seen = []
    real = images.ink_map
    monkeypatch.setattr(images, "ink_map", lambda a, paper=None: seen.append(np.asarray(a).shape) or real(a, paper))
    out = images.prepare_digit(np.asarray(digit_picture(3000)), (8, 8))
    assert max(seen[0][:2]) <= images.MAX_SIDE and out.shape == (8, 8)


def test_a_picture_of_too_many_pixels_is_refused_before_decoding(tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 6_000), 1).save(huge)  # 60 Mpx, a few KB on disk
    with pytest.raises(ValueError, match="smaller picture"):
        images.prepare_digit(huge, (28, 28))


def bomb_member(inflated: int) -> bytes:
    return gzip.compress(bytes(inflated), compresslevel=9)


def write_mnist_bomb(folder: Path, inflated: int = 1 << 30) -> None:
    """The four MNIST files, real-sized labels and test images, and train images that inflate to `inflated`
    zero bytes (many 64 MB gzip members: a gzip may hold several, and readers inflate them all)."""
    folder.mkdir(parents=True, exist_ok=True)
    member = bomb_member(64 << 20)
    with open(folder / mnist.TRAIN_IMAGES.filename, "wb") as fh:
        for _ in range(inflated // (64 << 20)):
            fh.write(member)
    for remote, _name, magic, shape in mnist.FILES[1:]:
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in shape)
        (folder / remote.filename).write_bytes(gzip.compress(header + bytes(int(np.prod(shape)))))


PEAK = """
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(out.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "")
"""


def test_a_gzip_bomb_given_as_mnist_is_refused_at_the_expected_size(home, tmp_path):
    src = tmp_path / "bomb"
    write_mnist_bomb(src)
    assert (src / mnist.TRAIN_IMAGES.filename).stat().st_size < 2 << 20  # ~1 MB on disk, 1 GB inside
    out = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "engine", "--home", str(home), "fetch",
                          "mnist", "--from", str(src)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    code, peak_kb, message = out.stdout.strip().split("\n", 2)
    assert int(code) != 0
    assert "once decompressed" in message and "Fix" in message
    assert int(peak_kb) < 500 * 1024, f"peak {int(peak_kb) // 1024} MB"
    assert not mnist.ready(home)


def test_a_zip_bomb_given_as_the_news_corpus_is_refused_while_reading(home, tmp_path, monkeypatch):
    monkeypatch.setattr(news, "MAX_CORPUS_BYTES", 4 << 20)
    src = tmp_path / "zip"
    src.mkdir()
    with zipfile.ZipFile(src / news.UCI_ZIP.filename, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(news.CORPUS_MEMBER, bytes(32 << 20))
    read = []
    real = news.read_limited
    monkeypatch.setattr(news, "read_limited", lambda fh, limit, what: read.append(limit) or real(fh, limit, what))
    with pytest.raises(ValueError, match="once decompressed"):
        news.fetch(home, from_dir=src)
    assert read == [4 << 20] and not news.ready(home)
