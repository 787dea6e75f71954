"""Downloads the way scikit-learn and torchvision do them: one `RemoteFile` constant per file,
mirrors tried in order, a temp file beside the target, checksum verified, atomic rename, the
partial file removed on any error, and a progress callback (tqdm in the CLI, st.progress in the UI).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[int, int | None], None]  # (bytes done, total bytes or None)


class DataMissingError(RuntimeError):
    """Data is not in the data home and could not be fetched. The message names the fix."""


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    urls: tuple[str, ...]  # mirrors, tried in order
    sha256: str | None  # None where no published checksum exists: then `validate` must check content
    size: int | None = None


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_file(
    remote: RemoteFile,
    folder: Path,
    progress: Progress | None = None,
    validate: Callable[[Path], None] | None = None,
    timeout: float = 30.0,
    retries: int = 2,
) -> Path:
    """Download `remote` into `folder` unless a verified copy is already there. A copy whose checksum is
    wrong (corrupted on disk) is downloaded again; it is replaced only by a verified download."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    errors: list[str] = []
    if target.exists():
        if remote.sha256 is None or sha256_of(target) == remote.sha256:
            return target
        errors.append(f"the copy in {folder} does not match its sha256 checksum")
    for url in remote.urls:
        for attempt in range(retries):
            try:
                _download_verified(url, remote, target, progress, validate, timeout)
                return target
            except ChecksumError as exc:
                errors.append(f"{url}: {exc}")
                break  # a wrong checksum will not fix itself on retry; try the next mirror
            # HTTPException: a connection cut inside a chunked response (IncompleteRead) is a network error too
            except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
                errors.append(f"{url} (try {attempt + 1}): {exc}")
    raise DataMissingError(
        f"could not download {remote.filename}: " + "; ".join(errors)
        + f". Fix: connect to the internet and retry, or place {remote.filename} in {folder} yourself "
        "(or use `python -m engine fetch NAME --from DIR`)."
    )


class ChecksumError(ValueError):
    pass


def _download_verified(url, remote: RemoteFile, target: Path, progress, validate, timeout) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{remote.filename}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else remote.size
            done = 0
            while block := resp.read(1 << 16):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and done != total:
            raise ChecksumError(f"truncated download: got {done} of {total} bytes")
        if remote.sha256 and digest.hexdigest() != remote.sha256:
            raise ChecksumError(f"checksum mismatch: expected sha256 {remote.sha256}, got {digest.hexdigest()}")
        if validate:
            try:
                validate(tmp)
            except Exception as exc:
                raise ChecksumError(f"downloaded file is not valid: {exc}") from exc
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_limited(fh, limit: int, what: str) -> bytes:
    """All of a (decompressing) file object, read in chunks, refused as soon as it passes `limit` bytes: a
    small archive that inflates to gigabytes stops at the expected size, not at the machine's memory."""
    chunks, total = [], 0
    while chunk := fh.read(min(1 << 20, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise ValueError(f"{what} holds more than {limit:,} bytes once decompressed, more than the dataset "
                             "ever has. Fix: use the original file")
        chunks.append(chunk)
    return b"".join(chunks)
