"""MNIST: 60,000 training and 10,000 test digits, 28x28, from the four IDX files.

Downloaded like torchvision does it (one `RemoteFile` per file with its published SHA-256, mirrors
tried in order), or taken from a local folder (`fetch mnist --from DIR`, `.gz` or not), where each
file is validated by its IDX magic number, shape and size instead (re-compressed copies have other
checksums). The decoded arrays are cached as `.npy` files in the data home, so loading takes well
under a second. 10 % of the training set is held out as the validation split (fixed seed).
"""

from __future__ import annotations

import gzip
import io
import shutil
import zlib
from pathlib import Path

import numpy as np

from engine import atomic
from engine.config.options import Option
from engine.data.base import Dataset, Split
from engine.data.download import DataMissingError, RemoteFile, fetch_file, read_limited
from engine.paths import datasets_dir

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")


def _remote(filename: str, sha256: str, size: int) -> RemoteFile:
    return RemoteFile(filename, tuple(m + filename for m in MIRRORS), sha256, size)


TRAIN_IMAGES = _remote("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                       9_912_422)
TRAIN_LABELS = _remote("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                       28_881)
TEST_IMAGES = _remote("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                      1_648_877)
TEST_LABELS = _remote("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                      4_542)

# remote file, cached array name, IDX magic number, expected shape
FILES = (
    (TRAIN_IMAGES, "train_images", 0x00000803, (60_000, 28, 28)),
    (TRAIN_LABELS, "train_labels", 0x00000801, (60_000,)),
    (TEST_IMAGES, "test_images", 0x00000803, (10_000, 28, 28)),
    (TEST_LABELS, "test_labels", 0x00000801, (10_000,)),
)
VALID_FRACTION = 0.1
OPTIONS = (
    Option("train_size", "int", 54_000, "training images used (the first N of the 54,000; fewer train faster)",
           min=100, max=54_000),
)
SPLIT_SEED = 0


def folder(home=None) -> Path:
    return datasets_dir(home) / "mnist"


def _npy(home, name: str) -> Path:
    return folder(home) / f"{name}.npy"


def ready(home=None) -> bool:
    return all(_npy(home, name).exists() for _, name, _, _ in FILES)


def idx_size(shape: tuple[int, ...]) -> int:
    return 4 + 4 * len(shape) + int(np.prod(shape))


def read_idx(path: Path, shape: tuple[int, ...]) -> bytes:
    """A file's IDX bytes (gunzipped when it is a gzip), read in chunks and refused past the size that
    `shape` gives."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            return read_limited(fh, idx_size(shape), path.name)
    except (OSError, EOFError, zlib.error):
        raise ValueError(f"{path.name} is a damaged gzip file. Fix: download it again") from None


def parse_idx(data: bytes, magic: int, shape: tuple[int, ...], what: str = "file") -> np.ndarray:
    """Decode IDX bytes (gzip or raw) to a uint8 array, checking magic number, shape and size."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = read_limited(fh, idx_size(shape), what)
        except (OSError, EOFError, zlib.error):
            raise ValueError(f"{what} is a damaged gzip file. Fix: download it again") from None
    ndim = len(shape)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what} is too short to be an IDX file ({len(data)} bytes)")
    got_magic = int.from_bytes(data[:4], "big")
    if got_magic != magic:
        raise ValueError(f"{what} is not an IDX {'images' if ndim == 3 else 'labels'} file (its first bytes are not "
                         f"the magic number {magic:#010x}). Fix: use MNIST's original file")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if dims != shape:
        raise ValueError(f"{what} holds an array of another shape than MNIST's {shape}. Fix: use MNIST's original "
                         "file")
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(f"{what} is {len(data):,} bytes once decompressed; expected {expected:,} (truncated?)")
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    if ndim == 1 and array.max() > 9:
        raise ValueError(f"{what} holds labels outside 0..9")
    return array


def _find_local(src: Path, filename: str) -> Path | None:
    raw = filename.removesuffix(".gz")
    for candidate in (filename, raw, raw.replace("-idx", ".idx")):
        if (src / candidate).exists():
            return src / candidate
    return None


def _missing_message(dest: Path, src: Path | None = None, missing=None) -> str:
    names = ", ".join(missing or [r.filename for r, *_ in FILES])
    where = f"{src} lacks {names}" if src else f"MNIST is not in {dest}"
    return (f"{where}. Fix: run `python -m engine fetch mnist` (downloads the four IDX files), or place "
            f"{', '.join(r.filename for r, *_ in FILES)} (gzip or not) in a folder DIR and run "
            "`python -m engine fetch mnist --from DIR`, or use the Home page's fetch button.")


def _save(home, name: str, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    atomic.write_bytes(_npy(home, name), buf.getvalue())


def fetch(home=None, from_dir: str | Path | None = None, progress=None) -> Path:
    """Decode the four IDX files into the data home: from DIR, or downloaded (checksummed)."""
    dest = folder(home)
    dest.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    if from_dir is not None:
        src = Path(from_dir).expanduser()
        if not src.is_dir():
            raise DataMissingError(f"{src} is not a folder. " + _missing_message(dest))
        paths = {r.filename: _find_local(src, r.filename) for r, *_ in FILES}
        missing = [name for name, path in paths.items() if path is None]
        if missing:
            raise DataMissingError(_missing_message(dest, src, missing))
        for remote, name, magic, shape in FILES:  # validate all four before writing anything
            path = paths[remote.filename]
            arrays[name] = parse_idx(read_idx(path, shape), magic, shape, path.name)
    else:
        for remote, name, magic, shape in FILES:
            path = fetch_file(remote, dest, progress=progress,
                              validate=lambda p, m=magic, s=shape: parse_idx(read_idx(p, s), m, s, p.name))
            arrays[name] = parse_idx(read_idx(path, shape), magic, shape, path.name)
    for name, array in arrays.items():
        _save(home, name, array)
    if from_dir is None:
        for remote, *_ in FILES:
            (dest / remote.filename).unlink(missing_ok=True)
    return dest


def load(home=None, train_size: int = 54_000) -> Dataset:
    if not ready(home):
        raise DataMissingError(_missing_message(folder(home)))
    try:
        arr = {name: np.load(_npy(home, name)) for _, name, _, _ in FILES}
    except (OSError, ValueError) as exc:
        raise DataMissingError(f"the cached MNIST arrays in {folder(home)} are damaged ({exc}). "
                               + _missing_message(folder(home))) from None
    order = np.random.default_rng(SPLIT_SEED).permutation(len(arr["train_labels"]))
    n_valid = int(round(len(order) * VALID_FRACTION))
    valid_idx, train_idx = np.sort(order[:n_valid]), np.sort(order[n_valid:])[:train_size]

    def images(a: np.ndarray) -> np.ndarray:
        return np.multiply(a, np.float32(1 / 255), dtype=np.float32)

    train_x = images(arr["train_images"])
    splits = [
        Split(train_x[train_idx], arr["train_labels"][train_idx].astype(np.int64)),
        Split(train_x[valid_idx], arr["train_labels"][valid_idx].astype(np.int64)),
        Split(images(arr["test_images"]), arr["test_labels"].astype(np.int64)),
    ]
    return Dataset("mnist", "image", "classification", [str(d) for d in range(10)], *splits,
                   meta={"image_shape": (28, 28), "source": str(folder(home))})


def remove(home=None) -> None:
    shutil.rmtree(folder(home), ignore_errors=True)
