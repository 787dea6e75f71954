"""A server file given where a dataset, a table or word vectors are expected: the error names the problem and
the fix but never quotes the file (its first line could be the teacher password), in the exception, the run's
stored error, stdout or stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data import covid, csvdata, mnist, news, pokemon
from engine.data.download import DataMissingError
from engine.features import vectors
from engine.jobs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-XYZ"
SECRET_TEXT = f'teacher_password = "{SECRET}"\nadmin = "{SECRET}"\n'


def secret_at(path: Path, text: str = SECRET_TEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused_quietly(call) -> str:
    with pytest.raises((ValueError, DataMissingError, OSError)) as err:
        call()
    assert SECRET not in str(err.value)
    return str(err.value)


def test_a_secret_given_as_the_news_split(home, tmp_path):
    for name in news.SPLIT_FILES:
        secret_at(tmp_path / "news" / name)
    message = refused_quietly(lambda: news.fetch(home, from_dir=tmp_path / "news"))
    assert "line 1" in message and "Fix" in message
    assert not news.ready(home)


def test_a_secret_given_as_the_news_corpus(home, tmp_path):
    secret_at(tmp_path / "corpus" / news.CORPUS_MEMBER, SECRET_TEXT * 3)
    refused_quietly(lambda: news.fetch(home, from_dir=tmp_path / "corpus"))


@pytest.mark.parametrize("text", [SECRET_TEXT, f"{SECRET},x\n" + "1,2\n" * 12 + "1,2,3,4\n", f"{SECRET}\n" * 20,
                                  f'"{SECRET}\n1,2\n'])
def test_a_secret_given_as_a_csv_table(home, tmp_path, text):
    path = secret_at(tmp_path / "secret.csv", text)
    refused_quietly(lambda: csvdata.fetch(home, from_dir=path))
    assert csvdata.tables(home) == []


def test_a_secret_given_as_covid_and_pokemon_files(home, tmp_path):
    for name in covid.FILES if hasattr(covid, "FILES") else ("covid.train.csv", "covid.test.csv"):
        secret_at(tmp_path / "covid" / name, SECRET_TEXT + "1,2\n")
    refused_quietly(lambda: covid.fetch(home, from_dir=tmp_path / "covid"))
    secret_at(tmp_path / "pokemon" / pokemon.FILENAME, f'"{SECRET}\n1,2\n')
    refused_quietly(lambda: pokemon.fetch(home, from_dir=tmp_path / "pokemon"))


def test_a_secret_given_as_mnist_files(home, tmp_path):
    for remote, *_ in mnist.FILES:
        secret_at(tmp_path / "mnist" / remote.filename.removesuffix(".gz"))
    refused_quietly(lambda: mnist.fetch(home, from_dir=tmp_path / "mnist"))
    gz = tmp_path / "gz"  # a gzip that is not one
    for remote, *_ in mnist.FILES:
        (gz / remote.filename).parent.mkdir(exist_ok=True)
        (gz / remote.filename).write_bytes(b"\x1f\x8b" + SECRET.encode() * 50)
    refused_quietly(lambda: mnist.fetch(home, from_dir=gz))


@pytest.mark.parametrize("name", ["secrets.txt", "secrets.bin"])
@pytest.mark.parametrize("text", [SECRET_TEXT, f"{SECRET} 3\n"])  # gensim quoted the header's first word
def test_a_secret_given_as_word2vec_vectors(home, tmp_path, name, text):
    path = secret_at(tmp_path / name, text)
    message = refused_quietly(lambda: vectors.load_word2vec(str(path), home))
    assert "not a word2vec file" in message


def test_a_training_run_on_secret_word2vec_stores_and_prints_no_secret(home, tmp_path):
    split = tmp_path / "split"
    for i, name in enumerate(news.SPLIT_FILES):
        secret_at(split / name, "".join(f"word{j} stocks {j}\t{'btem'[j % 4]}\n" for j in range(8 + i)))
    news.fetch(home, from_dir=split)
    path = secret_at(tmp_path / "private" / "environ", f"{SECRET} 3\n" + SECRET_TEXT)
    out = subprocess.run([sys.executable, "-m", "engine", "--home", str(home), "train", "--dataset", "news",
                          "--model", "linear", "--features", f"word2vec:{path}", "--epochs", "1", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert SECRET not in out.stdout + out.stderr
    runs = RunStore(home).list_runs()
    assert runs, "the run was recorded"
    assert all(SECRET not in json.dumps(r, default=str) for r in runs)
    assert any("not a word2vec file" in str(r.get("error")) for r in runs)


def test_the_table_quota_counts_one_owners_tables_and_never_caps_the_command_line(home, tmp_path, monkeypatch):
    from engine.access import max_tables_per_owner

    monkeypatch.setenv("NNLAB_MAX_TABLES_PER_OWNER", "2")
    assert max_tables_per_owner(home) == 2
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"t{i}.csv")
        paths[-1].write_text("x,y\n" + "".join(f"{j + i},{j % 3}\n" for j in range(12)))
    for path in paths[:2]:
        csvdata.fetch(home, from_dir=path, owner="alice", max_tables=2)
    with pytest.raises(ValueError, match="at most 2 per person"):
        csvdata.fetch(home, from_dir=paths[2], owner="alice", max_tables=2)
    csvdata.fetch(home, from_dir=paths[2], owner="bob", max_tables=2)
    csvdata.fetch(home, from_dir=paths[3])  # the command line (the administrator): no owner, no cap
    assert csvdata.tables(home) == ["t0", "t1", "t2", "t3"]
    assert csvdata.table_owners(home) == {"t0": "alice", "t1": "alice", "t2": "bob"}
