"""MNIST: local copies (gzip or raw) validated by IDX header, shape and size; downloads checked
against the published SHA-256; offline errors name the files and the folder; cached arrays."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from conftest import shared

from engine.data import DATASETS, mnist
from engine.data.download import DataMissingError

NAMES = [r.filename for r, *_ in mnist.FILES]


def test_remote_files_carry_published_checksums_and_mirrors():
    assert len(mnist.FILES) == 4
    for remote, *_ in mnist.FILES:
        assert len(remote.sha256) == 64 and len(remote.urls) >= 2
        assert all(url.endswith("/" + remote.filename) and url.startswith("https://") for url in remote.urls)
    assert DATASETS["mnist"].kind == "image" and DATASETS["mnist"].fetch is mnist.fetch


@pytest.mark.real_data
def test_fetch_from_shared_copies_and_load(home):
    src = shared("mnist")
    assert not mnist.ready(home)
    mnist.fetch(home, from_dir=src)
    assert mnist.ready(home)
    ds = mnist.load(home)
    assert ds.sizes() == (54_000, 6_000, 10_000)
    assert ds.train.x.shape[1:] == (28, 28) and ds.train.x.dtype == np.float32
    assert ds.train.x.min() == 0.0 and ds.train.x.max() == 1.0
    assert ds.classes == [str(d) for d in range(10)]
    assert np.bincount(ds.test.y, minlength=10).min() > 850  # every digit well represented
    again = mnist.load(home)  # the held-out split is fixed
    assert np.array_equal(again.valid.y, ds.valid.y) and np.array_equal(again.valid.x[:50], ds.valid.x[:50])
    assert len(mnist.load(home, train_size=1000).train) == 1000


@pytest.mark.real_data
def test_fetch_accepts_raw_idx_files(home, tmp_path):
    src = shared("mnist")
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in NAMES:
        (raw / name.removesuffix(".gz")).write_bytes(gzip.decompress((src / name).read_bytes()))
    mnist.fetch(home, from_dir=raw)
    assert mnist.load(home).sizes() == (54_000, 6_000, 10_000)


def _copy_with(tmp_path, name: str, data: bytes):
    src = shared("mnist")
    dest = tmp_path / "bad"
    dest.mkdir()
    for n in NAMES:
        shutil.copy(src / n, dest / n)
    (dest / name).write_bytes(data)
    return dest


@pytest.mark.real_data
@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated"),
    ("magic", "magic number"),
    ("shape", "shape"),
    ("gzip", "damaged gzip"),
])
def test_fetch_refuses_damaged_files_and_writes_nothing(home, tmp_path, damage, message):
    raw = bytearray(gzip.decompress((shared("mnist") / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    if damage == "truncate":
        data = gzip.compress(bytes(raw[:-10]))
    elif damage == "magic":
        raw[3] = 0x03
        data = gzip.compress(bytes(raw))
    elif damage == "shape":
        raw[4:8] = (9999).to_bytes(4, "big")
        data = gzip.compress(bytes(raw))
    else:
        data = gzip.compress(bytes(raw))[:-100]
    src = _copy_with(tmp_path, "t10k-labels-idx1-ubyte.gz", data)
    with pytest.raises(ValueError, match=message):
        mnist.fetch(home, from_dir=src)
    assert not mnist.ready(home)


def test_missing_files_name_what_to_place_where(home, tmp_path):
    with pytest.raises(DataMissingError) as err:
        mnist.load(home)
    text = str(err.value)
    assert all(name in text for name in NAMES) and str(mnist.folder(home)) in text and "--from" in text
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    with pytest.raises(DataMissingError, match="lacks train-labels-idx1-ubyte.gz, t10k-images"):
        mnist.fetch(home, from_dir=tmp_path)


def test_offline_download_fails_with_the_fix(home, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataMissingError, match="train-images-idx3-ubyte.gz") as err:
        mnist.fetch(home)
    assert "ossci-datasets" in str(err.value) and "fetch" in str(err.value)
    assert not list(mnist.folder(home).glob("*.part"))


@pytest.mark.real_data
def test_cli_fetch_from_folder(home):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "engine", "fetch", "mnist", "--from", str(shared("mnist"))],
                         capture_output=True, text=True, env={**__import__("os").environ, "NNLAB_HOME": str(home)},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "mnist is ready" in out.stdout and mnist.ready(home)
