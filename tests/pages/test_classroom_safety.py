"""A classroom server tried as a curious student would, with AppTest sessions: another session's runs, the
teacher password, a server open to the network, server paths and crafted links."""

from __future__ import annotations

import time

import pytest
import streamlit.config as st_config
from pagehelpers import open_page, texts

from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.paths import runs_dir

PASSWORD = "s3cret-for-test"


@pytest.fixture
def no_password(monkeypatch):
    monkeypatch.delenv("NNLAB_TEACHER_PASSWORD", raising=False)


@pytest.fixture
def address():
    """Set Streamlit's server.address for one test (restored afterwards)."""
    before = st_config.get_option("server.address")
    yield lambda value: st_config.set_option("server.address", value)
    st_config.set_option("server.address", before)


def test_without_a_password_a_second_session_cannot_stop_or_delete_anothers_run(home, no_workers, no_password):
    alice = open_page("1_Train.py")
    alice.button(key="train_start").click().run()
    run_id = alice.session_state["train_run_id"]
    bob = open_page("1_Train.py", run=run_id)
    assert bob.session_state["nnlab_owner"] != alice.session_state["nnlab_owner"]
    assert bob.button(key=f"live_stop_{run_id}").disabled
    bob = open_page("2_Runs.py")
    bob.selectbox(key="runs_detail").set_value(run_id).run()
    assert any("another browser session" in t for t in texts(bob.info))
    assert not [b for b in bob.button if b.key in ("runs_resume", "runs_delete")]
    assert RunStore(home).get_run(run_id)["status"] == "queued"  # nothing of alice's run changed
    assert not alice.button(key=f"live_stop_{run_id}").disabled  # alice still manages it


def test_password_attempts_are_rate_limited_per_session(home, monkeypatch):
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", PASSWORD)
    at = open_page("2_Runs.py")
    for _ in range(5):
        at.text_input(key="teacher_password_input").input("guess").run()
    assert any("Too many wrong passwords" in t for t in texts(at.error))
    assert at.text_input(key="teacher_password_input").disabled
    box = at.text_input(key="teacher_password_input")
    box.proto.disabled = False  # a client that ignores the disabled box: the server still refuses to compare
    box.input(PASSWORD).run()
    assert not at.session_state["nnlab_teacher"]
    other = open_page("2_Runs.py")  # another session is not locked out
    other.text_input(key="teacher_password_input").input(PASSWORD).run()
    assert other.session_state["nnlab_teacher"] is True


def test_the_wait_doubles_after_each_further_wrong_password(home, monkeypatch):
    from ui import permissions

    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", PASSWORD)
    at = open_page("2_Runs.py")
    for _ in range(4):
        at.text_input(key="teacher_password_input").input("guess").run()
    assert not at.text_input(key="teacher_password_input").disabled  # four free attempts
    at.text_input(key="teacher_password_input").input("guess").run()
    first = at.session_state[permissions.LOCKED_KEY]
    at.session_state[permissions.LOCKED_KEY] = 0.0  # the wait has passed
    at.run()
    assert not at.text_input(key="teacher_password_input").disabled
    at.text_input(key="teacher_password_input").input("guess").run()
    second = at.session_state[permissions.LOCKED_KEY]
    assert second - time.monotonic() > 1.5 * permissions.FIRST_WAIT_S  # 60 s after the sixth
    assert first > 0


@pytest.mark.parametrize("page", [None, "1_Train.py", "3_Predict.py"])
def test_a_server_open_to_the_network_without_a_password_says_so_on_every_page(home, page, address,
                                                                              no_password, monkeypatch):
    address("0.0.0.0")
    at = open_page(page)
    assert any("open to the network without a teacher password" in t for t in texts(at.warning))
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", PASSWORD)
    at = open_page(page)
    assert not any("open to the network" in t for t in texts(at.warning))
    address("127.0.0.1")
    monkeypatch.delenv("NNLAB_TEACHER_PASSWORD")
    assert not any("open to the network" in t for t in texts(open_page(page).warning))


def test_server_folders_are_for_the_teacher_and_only_allowed_ones(home, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", PASSWORD)
    at = open_page()
    assert not [t for t in at.text_input if t.key.startswith("home_from_")]  # a student sees no such field
    at.text_input(key="teacher_password_input").input(PASSWORD).run()
    assert at.text_input(key="home_from_news") is not None
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "train.txt").write_text('teacher_password = "s3cret-XYZ"\n')
    at.text_input(key="home_from_news").input(str(secret)).run()
    at.button(key="home_from_go_news").click().run()
    errors = " ".join(texts(at.error))
    assert "allowed_dirs" in errors and "s3cret-XYZ" not in errors


def test_train_offers_no_word2vec_path_to_students(home, tmp_path, no_password):
    secret = tmp_path / "secrets.toml"
    secret.write_text('teacher_password = "s3cret-XYZ"\n')
    at = open_page("1_Train.py", dataset="news", features=f"word2vec:{secret}")
    assert "word2vec" not in at.selectbox(key="train_features_choice").options
    assert at.session_state["train_features_choice"] != "word2vec"
    at = open_page("1_Train.py", dataset="news", model="rnn", init_vectors=f"word2vec:{secret}")
    errors = " ".join(texts(at.error))
    assert "teacher mode" in errors and "s3cret-XYZ" not in errors
    assert RunStore(home).list_runs() == []


@pytest.mark.parametrize("value", ["x", "../../evil", "250101-120000-ab12"])
def test_a_link_naming_an_unknown_run_creates_nothing(home, no_workers, value):
    RunStore(home)
    before = sorted(p.name for p in runs_dir(home).iterdir())
    at = open_page("1_Train.py", init_from=value, run=value)
    assert not at.exception
    assert sorted(p.name for p in runs_dir(home).iterdir()) == before
    assert not (home.parent / "evil").exists()


def test_a_link_naming_a_real_run_still_works(home, no_workers):
    run_id = RunStore(home).create_run(make_config(dataset="digits", epochs=2))
    at = open_page("1_Train.py", run=run_id)
    assert at.button(key=f"live_stop_{run_id}") is not None


def test_the_tuning_page_launcher_refuses_a_traversing_name(home, tmp_path):
    from ui import tuning

    with pytest.raises(ValueError):
        tuning.launch(str(home), ["true"], "../../evil")
    assert not (home.parent / "evil.log").exists() and not (home / "evil.log").exists()


def table_bytes(seed: int) -> bytes:
    return ("x,y\n" + "".join(f"{i + seed},{(i * 7 + seed) % 5}\n" for i in range(20))).encode()


def upload_table(at, name: str, seed: int):
    at.file_uploader(key="home_upload_csv").set_value([(name, table_bytes(seed), "text/csv")]).run()
    at.button(key="home_upload_go_csv").click().run()
    return at


def test_tables_students_add_count_against_a_quota(home, monkeypatch, no_password):
    from engine.data import csvdata

    monkeypatch.setenv("NNLAB_MAX_TABLES_PER_OWNER", "1")
    at = upload_table(open_page(), "first.csv", 1)
    assert not at.error and csvdata.tables(home) == ["first"]
    at = upload_table(at, "second.csv", 2)
    errors = " ".join(texts(at.error))
    assert "at most 1 per person" in errors and "Fix" in errors
    assert csvdata.tables(home) == ["first"]  # nothing stored was lost, nothing added
    other = upload_table(open_page(), "third.csv", 3)  # another session has its own quota
    assert not other.error and csvdata.tables(home) == ["first", "third"]
    assert not list(home.glob(".upload-*"))  # the uploaded files' temporary folders are gone


def crafted_checkpoint(source: str) -> bytes:
    """A news MLP checkpoint on GloVe whose featurizer source was changed to `source`."""
    import io

    import torch

    from engine.features import MeanVectors
    from engine.models import build_model

    cfg = make_config(dataset="news", model="mlp", features="glove", model_args={"layers": 1, "width": 8})
    spec = {"input_dim": 50, "num_outputs": 4, "classes": ["business", "science/tech", "entertainment", "health"],
            "task": "classification", "dataset": "news", "kind": "text"}
    state = {**MeanVectors("glove").state(), "source": source}
    buf = io.BytesIO()
    torch.save({"format": 1, "model": build_model("mlp", cfg.model_args, spec).state_dict(), "config": cfg.to_dict(),
                "featurizer": state, "spec": spec, "epoch": 1}, buf)
    return buf.getvalue()


def test_an_uploaded_checkpoint_naming_a_server_file_is_refused_and_not_kept(home, tmp_path, no_password):
    secret = tmp_path / "secrets.toml"
    secret.write_text('teacher_password = "s3cret-XYZ"\n')
    at = open_page("3_Predict.py")
    at.segmented_control(key="predict_source").set_value("A checkpoint file").run()
    at.file_uploader(key="predict_upload").set_value(
        ("crafted.pt", crafted_checkpoint(f"word2vec:{secret}"), "application/octet-stream")).run()
    errors = " ".join(texts(at.error))
    assert "does not offer" in errors and "s3cret-XYZ" not in errors
    assert not (home / "uploads").exists()
