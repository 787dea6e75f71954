"""Downloads against a local HTTP server on 127.0.0.1: verified, atomic, retryable; offline errors
name the fix; the UCI news zip is split the exercise's way."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from engine.data import news
from engine.data.download import DataMissingError, RemoteFile, fetch_file

PAYLOAD = b"nn lab test payload\n" * 1000


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()

    def do_GET(self):
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if self.path in self.truncate else data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.files, Handler.truncate = {}, set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler
    httpd.shutdown()
    httpd.server_close()


def remote(base: str, path: str, sha: str | None = None) -> RemoteFile:
    return RemoteFile("data.bin", (f"{base}{path}",), sha if sha is not None else hashlib.sha256(PAYLOAD).hexdigest())


def test_a_good_download_is_verified_renamed_and_reported(server, tmp_path):
    base, handler = server
    handler.files["/data.bin"] = PAYLOAD
    seen = []
    path = fetch_file(remote(base, "/data.bin"), tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == PAYLOAD and [p.name for p in tmp_path.iterdir()] == ["data.bin"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


@pytest.mark.parametrize("fault", ["checksum", "truncated", "offline"])
def test_bad_downloads_leave_nothing_and_a_retry_works(server, tmp_path, fault):
    base, handler = server
    handler.files["/data.bin"] = PAYLOAD
    bad = {"checksum": remote(base, "/data.bin", sha="0" * 64),
           "truncated": remote(base, "/data.bin"),
           "offline": RemoteFile("data.bin", ("http://127.0.0.1:9/data.bin",), None)}[fault]
    if fault == "truncated":
        handler.truncate.add("/data.bin")
    with pytest.raises(DataMissingError) as err:
        fetch_file(bad, tmp_path, timeout=5)
    assert "Fix:" in str(err.value) and str(tmp_path) in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no partial file in the data home
    handler.truncate.clear()
    assert fetch_file(remote(base, "/data.bin"), tmp_path).read_bytes() == PAYLOAD  # a retry works


def test_mirrors_are_tried_in_order(server, tmp_path):
    base, handler = server
    handler.files["/mirror2/data.bin"] = PAYLOAD
    rf = RemoteFile("data.bin", (f"{base}/mirror1/data.bin", f"{base}/mirror2/data.bin"),
                    hashlib.sha256(PAYLOAD).hexdigest())
    assert fetch_file(rf, tmp_path).read_bytes() == PAYLOAD


def corpus_zip(per_class: int = 50) -> bytes:
    rows = []
    i = 0
    for code in news.CODES:
        for publisher in (*news.PUBLISHERS, "Other Times"):
            for _ in range(per_class // 5):
                i += 1
                rows.append(f"{i}\tHeadline {i} about \"{code}\" things\thttp://x/{i}\t{publisher}\t{code}\ts{i}\tx\t0")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("newsCorpora.csv", "\n".join(rows) + "\n")
    return buf.getvalue()


def test_news_fetch_downloads_the_zip_and_makes_the_stratified_split(server, home, monkeypatch):
    base, handler = server
    handler.files["/news.zip"] = corpus_zip()
    monkeypatch.setattr(news, "UCI_ZIP", RemoteFile(news.UCI_ZIP.filename, (f"{base}/news.zip",), None))
    with pytest.raises(DataMissingError, match="not in"):
        news.load(home)
    news.fetch(home, min_rows=10)
    data = news.load(home)
    # 4 classes x 5 kept publishers x 10 rows = 200: 80 % / 10 % / 10 %, each split stratified
    assert data.sizes() == (160, 20, 20)
    assert [int((data.test.y == c).sum()) for c in range(4)] == [5, 5, 5, 5]
    assert all('"' in t for t in data.train.x)  # quotes inside titles survive (QUOTE_NONE)
    assert not (home / "datasets" / "news" / news.UCI_ZIP.filename).exists()  # the archive is not kept


def test_news_fetch_from_a_folder_validates_before_copying(home, tmp_path):
    src = tmp_path / "split"
    src.mkdir()
    for name in news.SPLIT_FILES:
        (src / name).write_text("A fine headline\tb\nAnother one\tx\n")  # 'x' is not a category
    with pytest.raises(ValueError, match="line 2"):
        news.fetch(home, from_dir=src)
    assert not news.ready(home)
    with pytest.raises(DataMissingError, match="not a folder"):
        news.fetch(home, from_dir=tmp_path / "missing")


def test_the_real_split_has_the_exercise_sizes(news_home: Path):
    assert news.load(news_home).sizes() == (10684, 1336, 1336)
