"""The Train page's training widgets are the core Options' (range, default, help), the dataset's defaults
apply on the page as in make_config (and so on the CLI), and what a model does not use is disabled."""

from __future__ import annotations

from pagehelpers import open_page

from engine.config.run_config import CORE, core_defaults, make_config


def test_widget_ranges_and_help_are_the_options(home):
    at = open_page("1_Train.py")
    epochs = at.number_input(key="train_epochs")
    assert (epochs.min, epochs.max, epochs.help) == (CORE["epochs"].min, CORE["epochs"].max, CORE["epochs"].help)
    at.selectbox(key="train_optimizer").set_value("sgd").run()
    momentum = at.slider(key="train_momentum")
    assert (momentum.min, momentum.max) == (CORE["momentum"].min, CORE["momentum"].max)
    assert at.select_slider(key="train_batch_size").options[-1] == f"{int(CORE['batch_size'].max)}"
    assert at.select_slider(key="train_weight_decay").options[0] == "0"


def test_the_dataset_defaults_apply_on_the_page_as_in_make_config(home):
    at = open_page("1_Train.py")
    at.selectbox(key="train_dataset").set_value("covid").run()
    assert not at.exception
    expected = make_config(dataset="covid", model="mlp")
    for name in ("optimizer", "lr", "momentum", "batch_size", "epochs", "patience"):
        assert at.session_state[f"train_{name}"] == getattr(expected, name), name
    assert at.session_state["train_m_mlp_width"] == expected.model_args["width"] == 64
    at.selectbox(key="train_dataset").set_value("digits").run()  # back: the mlp's own defaults again
    assert at.session_state["train_optimizer"] == core_defaults("mlp", "digits")["optimizer"]
    assert at.session_state["train_m_mlp_width"] == 512


def test_what_the_transformer_does_not_use_is_disabled_at_its_own_value(home):
    at = open_page("1_Train.py")
    at.selectbox(key="train_dataset").set_value("news").run()
    at.selectbox(key="train_model").set_value("transformer").run()
    assert not at.exception
    assert at.selectbox(key="train_optimizer").disabled and at.selectbox(key="train_optimizer").value == "adamw"
    assert at.selectbox(key="train_schedule").disabled
    assert not at.select_slider(key="train_lr").disabled


def test_the_rnn_exercise_preset_sets_its_widgets_and_reads_the_padding(home):
    from engine.models import MODELS

    at = open_page("1_Train.py")
    at.selectbox(key="train_dataset").set_value("news").run()
    at.selectbox(key="train_model").set_value("rnn").run()
    assert at.toggle(key="train_m_rnn_pack").value  # the rnn's own default packs
    name, preset = next(iter(MODELS["rnn"].presets.items()))
    at.selectbox(key="train_preset_rnn").set_value(name).run()
    assert not at.exception
    assert at.toggle(key="train_m_rnn_pack").value is False
    assert at.selectbox(key="train_m_rnn_cell").value == "rnn"
    assert at.session_state["train_optimizer"] == preset["optimizer"] == "sgd"
    assert at.session_state["train_batch_size"] == preset["batch_size"]
