"""Train: pick data, a model and how to train it; start a run and watch it learn live."""

import contextlib
import json

import streamlit as st

from engine.config.options import ConfigError
from engine.config.run_config import CORE_OPTIONS, RunConfig, core_defaults
from engine.data import DATASETS
from engine.jobs.quota import QuotaExceeded
from engine.jobs.store import ACTIVE
from engine.models import MODELS
from ui import boundary_view, config_form, inside_view, live, model_shape, permissions, query_config, state
from ui.option_widgets import off_widget

st.set_page_config(page_title="Train · NN Lab", page_icon=":material/model_training:", layout="wide")
permissions.page_guard()
st.title(":material/model_training: Train a network")
st.caption("Choose the data, the architecture and the training settings below, then press **Start training**. "
           "Training runs in a background worker: you can leave this page, close the tab or start more runs "
           "(they queue). Every run also appears on the Runs page.")

home = str(state.home())
PAGE_PARAMS = ("run", "init_from")  # query parameters that belong to the page, not to the settings
if "train_url_applied" not in st.session_state:  # a shared link sets the widgets once per session
    st.session_state["train_url_applied"] = True
    if any(k not in PAGE_PARAMS for k in st.query_params):
        url_cfg, notices = query_config.params_to_config(st.query_params.to_dict(), ignore=PAGE_PARAMS)
        defaults = core_defaults(url_cfg.model, url_cfg.dataset)
        refused = {o.name: why for o in CORE_OPTIONS if o.name in st.query_params  # values the widgets lack
                   and (why := off_widget(o, getattr(url_cfg, o.name), defaults[o.name]))}
        url_cfg = url_cfg.with_changes(**{name: defaults[name] for name in refused})
        notices += list(refused.values())
        config_form.apply_config(url_cfg)
        st.session_state["train_url_notices"] = notices
    elif st.query_params.get("run"):  # a run's link: the form shows that run's settings, not this session's
        with contextlib.suppress(KeyError, ValueError):  # no such run, or settings this version no longer takes
            config_form.apply_config(RunConfig.from_dict(state.store().get_run(st.query_params["run"])["config"]))
for notice in st.session_state.get("train_url_notices", []):
    st.warning(f"Link setting ignored: {notice}", icon=":material/link_off:")
action_bar = st.container(border=True)  # filled once the settings below are read
live_box = st.container()
st.subheader("Settings")
cfg, values = config_form.render_form(home)

spec = DATASETS[values["dataset"]]
ready = spec.ready(home)
shape = model_shape.dataset_shape(values["dataset"], home, json.dumps(values["data_args"], sort_keys=True),
                                 vocab=MODELS[values["model"]].input == "ids") if ready else None
if shape and "error" in shape:  # these data settings cannot load (e.g. a CSV target that does not exist)
    st.error(f"These data settings cannot train: {shape['error']}")
    cfg, shape = None, None
try:
    summary = model_shape.model_summary(cfg, shape) if cfg is not None else None
except ConfigError as exc:
    st.error(f"These settings cannot train: {exc}")
    cfg, summary = None, None
params = summary["total_params"] if summary else None
if cfg is not None:  # the URL always holds the current settings: copy it to share this setup
    for key, value in query_config.config_to_params(cfg, only_changed=True).items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    for key in [k for k in st.query_params if k not in PAGE_PARAMS]:
        if key not in query_config.config_to_params(cfg, only_changed=True):
            del st.query_params[key]
init_from = query_config.existing_run(st.query_params.get("init_from"), state.store())  # never a new folder
if st.query_params.get("init_from") and not (init_from and (state.store().run_dir(init_from) / "init.pt").exists()):
    st.warning("The linked run has no saved initial weights: new runs start from fresh weights.")
    init_from = None
if init_from:
    note, drop = st.columns([5, 1], vertical_alignment="center")
    note.info(f"New runs start from the **initial weights of run {init_from}**: change one setting (learning rate, "
              "optimizer, batch size) and the curves differ only by that choice. The architecture must stay the same.",
              icon=":material/replay:")
    if drop.button("Fresh weights", key="train_drop_init", help="start from newly initialised weights instead"):
        del st.query_params["init_from"]
        st.rerun()
with action_bar:
    row = st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute")
    left, right = row.container(width="content"), row.container(width="content")
    mid = st.container()  # the summary under them, the whole width on any screen
    left.metric("Parameters", f"{params:,}" if params is not None else "–",
                help="weights and biases of the model these settings build")
    if cfg is not None:
        mid.markdown(f"**{spec.title}** · {MODELS[cfg.model].title}  \n"
                     f"{cfg.optimizer} · lr {cfg.lr:g} · batch {cfg.batch_size} · up to {cfg.epochs} epochs"
                     + f" · best checkpoint by {config_form.MONITOR_LABELS[cfg.monitor]}"
                     + (f" · early stopping (patience {cfg.patience})" if cfg.early_stopping else "")
                     + (f" · {cfg.schedule} schedule" if cfg.schedule != "none" else "") + f" · seed {cfg.seed}")
    if not ready:
        mid.warning(f"{spec.title} is not fetched yet: fetch it on the Home page first.")
    started = right.button("Start training", icon=":material/play_arrow:", key="train_start", type="primary",
                           disabled=cfg is None or not ready,
                           help="queue this run for a background worker")
    if started and cfg is not None:
        try:
            run_id = state.runner().submit(cfg, owner=state.owner_id(), parent=init_from or None,
                                           teacher=permissions.is_teacher())
        except QuotaExceeded as exc:  # this session already has its share of the queue
            mid.error(str(exc), icon=":material/hourglass_top:")
        else:
            st.session_state["train_run_id"] = run_id
            st.query_params["run"] = run_id  # the URL now shows this run (share it, reload it)
            st.toast(f"Run {run_id} queued")

if summary:
    inside_view.architecture(summary)
if cfg is not None:
    with st.expander("Share these settings", icon=":material/link:"):
        st.caption("Everyone who opens this link gets the same settings on their Train page.")
        st.code(query_config.share_link(cfg, st.context.url), language=None, wrap_lines=True)

run_id = query_config.existing_run(st.query_params.get("run"), state.store()) or st.session_state.get("train_run_id")
if not run_id:  # after a reload: follow this session's newest active run, if any
    mine = [r for r in state.store().list_runs(ACTIVE) if r["owner"] == state.owner_id()]
    run_id = mine[0]["id"] if mine else None
with live_box:
    if run_id:
        live.live_run(run_id)
        boundary_view.run_boundary(run_id)
        inside_view.run_inside(state.store(), run_id, key="train_inside")
    else:
        st.info("No run started from this page yet. Press **Start training**: its loss and accuracy curves "
                "appear here, epoch by epoch.")
