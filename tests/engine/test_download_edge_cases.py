"""Download and fetch cases beyond test_downloads.py: a connection cut inside a chunked response,
a failed content check, no second download, the same URL working again once the network is back;
the news zip taken from a folder, a corpus too small refused, the split reproducible, and the CLI."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from math import ceil

import pytest

from engine.cli import main
from engine.data import news
from engine.data.download import DataMissingError, RemoteFile, fetch_file

GOOD = b"nn-lab " * 20_000


class Server:
    """HTTP on 127.0.0.1 in a thread. `routes`: path -> bytes; paths under /cut/ send a chunked
    response that announces a 4 kB chunk and hangs up after 100 bytes."""

    def __init__(self, routes: dict[str, bytes], port: int = 0):
        self.routes, self.requests = routes, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's name)
                outer.requests.append(self.path)
                self.close_connection = True
                if self.path.startswith("/cut/"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"1000\r\n" + b"x" * 100)
                    return
                body = outer.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server({"/good.bin": GOOD})
    yield srv
    srv.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_connection_cut_inside_a_chunked_response_is_a_download_error(server, tmp_path):
    with pytest.raises(DataMissingError, match="IncompleteRead") as err:  # not a raw http.client error
        fetch_file(RemoteFile("good.bin", (server.url("/cut/good.bin"),), None), tmp_path, timeout=5)
    assert "Fix:" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert server.requests == ["/cut/good.bin"] * 2  # a network error is retried


def test_a_failed_content_check_leaves_nothing(server, tmp_path):
    def validate(path):
        raise ValueError("not a zip")

    with pytest.raises(DataMissingError, match="not valid: not a zip"):
        fetch_file(RemoteFile("good.bin", (server.url("/good.bin"),), None), tmp_path, validate=validate)
    assert list(tmp_path.iterdir()) == []


def test_a_file_already_there_is_not_downloaded_again(server, tmp_path):
    remote = RemoteFile("good.bin", (server.url("/good.bin"),), sha256=sha(GOOD))
    path = fetch_file(remote, tmp_path)
    assert fetch_file(remote, tmp_path) == path and server.requests == ["/good.bin"]


def test_a_corrupted_copy_already_there_is_downloaded_again(server, tmp_path):
    remote = RemoteFile("good.bin", (server.url("/good.bin"),), sha256=sha(GOOD))
    (tmp_path / "good.bin").write_bytes(GOOD[:-1] + b"X")  # one byte flipped on disk
    assert fetch_file(remote, tmp_path).read_bytes() == GOOD and server.requests == ["/good.bin"]


def test_a_corrupted_copy_stays_when_no_verified_download_replaces_it(tmp_path):
    remote = RemoteFile("good.bin", ("http://127.0.0.1:9/good.bin",), sha256=sha(GOOD))
    (tmp_path / "good.bin").write_bytes(b"corrupt")
    with pytest.raises(DataMissingError, match="does not match its sha256 checksum"):
        fetch_file(remote, tmp_path, timeout=5, retries=1)
    assert (tmp_path / "good.bin").read_bytes() == b"corrupt"


def test_the_same_url_works_once_the_network_is_back(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    remote = RemoteFile("good.bin", (f"http://127.0.0.1:{port}/good.bin",), sha256=sha(GOOD))
    with pytest.raises(DataMissingError, match="could not download good.bin"):
        fetch_file(remote, tmp_path, timeout=5)
    srv = Server({"/good.bin": GOOD}, port=port)
    try:
        assert fetch_file(remote, tmp_path).read_bytes() == GOOD
    finally:
        srv.close()


# --- news -----------------------------------------------------------------------------------------

def synthetic_corpus(per_class: int = 100, others: int = 37) -> bytes:
    """newsCorpora.csv rows (ID TITLE URL PUBLISHER CATEGORY STORY HOSTNAME TIMESTAMP)."""
    lines, n = [], 0
    for code in news.CODES:
        for i in range(per_class):
            n += 1
            publisher = news.PUBLISHERS[i % len(news.PUBLISHERS)]
            lines.append(f"{n}\t{code} headline {i}\thttp://x/{n}\t{publisher}\t{code}\tS{n}\tx.com\t1")
    for i in range(others):  # a publisher the exercise drops
        n += 1
        lines.append(f"{n}\tblog post {i}\thttp://y/{n}\tSome Blog\t{news.CODES[i % 4]}\tS{n}\ty.com\t1")
    return ("\n".join(lines) + "\n").encode()


def uci_zip(corpus: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("__MACOSX/._newsCorpora.csv", b"\x00junk")  # macOS resource fork: ignored
        zf.writestr("newsCorpora.csv", corpus)
        zf.writestr("2pageSessions.csv", b"unused")
    return buf.getvalue()


def expected_sizes(n: int) -> tuple[int, int, int]:
    """train_test_split rounds the held-out part up: 80/20, then the 20 halved."""
    rest = ceil(0.2 * n)
    return n - rest, rest - ceil(0.5 * rest), ceil(0.5 * rest)


def fetch_served(home, monkeypatch, corpus: bytes, **kwargs):
    srv = Server({"/NewsAggregatorDataset.zip": uci_zip(corpus)})
    try:
        monkeypatch.setattr(news, "UCI_ZIP", RemoteFile("NewsAggregatorDataset.zip",
                                                        (srv.url("/NewsAggregatorDataset.zip"),), sha256=None))
        return news.fetch(home, **kwargs)
    finally:
        srv.close()


def test_the_split_formula_gives_the_exercise_sizes():
    assert expected_sizes(13_356) == (10_684, 1_336, 1_336)


def test_news_zip_from_a_folder_is_split_reproducibly(home, tmp_path):
    src = tmp_path / "download"
    src.mkdir()
    (src / "NewsAggregatorDataset.zip").write_bytes(uci_zip(synthetic_corpus()))
    news.fetch(home, from_dir=src, min_rows=100)
    data = news.load(home)
    assert data.sizes() == expected_sizes(400) == (320, 40, 40)
    for split, per_class in ((data.train, 80), (data.valid, 10), (data.test, 10)):
        assert [int((split.y == c).sum()) for c in range(4)] == [per_class] * 4  # stratified
    titles = data.train.x + data.valid.x + data.test.x
    assert len(set(titles)) == 400 and not any(t.startswith("blog post") for t in titles)
    other = tmp_path / "other_home"
    news.fetch(other, from_dir=src, min_rows=100)
    assert news.load(other).train.x == data.train.x  # the fixed seed (123): the same split every time


def test_a_corpus_smaller_than_the_real_one_is_refused_and_nothing_is_left(home, monkeypatch):
    with pytest.raises(DataMissingError, match="expected the full corpus"):
        fetch_served(home, monkeypatch, synthetic_corpus())  # default min_rows: the real corpus has 422k rows
    assert not news.ready(home) and list(news.folder(home).iterdir()) == []


@pytest.mark.real_data
def test_cli_fetch_news_from_the_real_split(home, capsys):
    from conftest import shared

    src = shared("news_aggregator")
    assert main(["--home", str(home), "fetch", "news", "--from", str(src)]) == 0
    assert "news is ready" in capsys.readouterr().out
    data = news.load(home)
    assert data.sizes() == (10_684, 1_336, 1_336) and data.classes == list(news.CLASS_NAMES)
    assert main(["--home", str(home), "fetch", "news", "--from", str(home / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
