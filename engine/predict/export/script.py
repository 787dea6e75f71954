"""`script` export: a standalone, readable predict.py (torch + numpy only) beside the weights.

The script is assembled from the engine's own source (the model class, the tokenizer) via
`pysource.collect`, plus the per-model / per-featurizer pieces in `templates`.
"""

from __future__ import annotations

import importlib
import inspect
import pprint
from pathlib import Path

import torch

from engine import atomic
from engine.predict.export import ort_script, pysource
from engine.predict.export.source import ExportError, ExportSource
from engine.predict.export.templates import SCRIPT_INPUTS, SCRIPT_MODELS, ScriptInputs, generic_image_inputs

SCRIPT_FILE = "predict.py"
WEIGHTS_FILE = "model.pt"

# Every value from the run (its id, title, settings, file names) enters the script as a repr() literal,
# never inside the docstring or a string it closes: a checkpoint named `x"+code+".pt` stays a name.
HEADER = '''#!/usr/bin/env python3
"""Predict with a model trained in NN Lab (RUN_ID and TITLE below say which).

Standalone: needs only torch and numpy. Files beside this script: WEIGHTS_FILE, the trained weights
(a state_dict; loaded with weights_only=True, so it cannot run code), and the EXTRA_FILES.

Usage:
  {usage}
Prints one JSON line per input: {{"label": ..., "probs": {{class: probability}}}}.
"""

from __future__ import annotations

{imports}

HERE = Path(__file__).resolve().parent
RUN_ID = {run_id!r}
TITLE = {title!r}
WEIGHTS_FILE = {weights_file!r}
EXTRA_FILES = {extra_files!r}
TASK = {task!r}
CLASSES = {classes!r}
TARGET_SCALE = {target_scale!r}  # [mean, std]: a regression output is mapped back to the target's units

# The settings the run was trained with (for reference; the script does not need them).
CONFIG = {config}
RESULTS = {results}
'''

MAIN = '''

# --- model: rebuild it, load the weights, predict ---------------------------------------------
def load_model():
    model = {call}
    model.load_state_dict(torch.load(HERE / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=f"Predict with the NN Lab run {{RUN_ID}} ({{TITLE}}).")
    add_input_args(parser)
    args = parser.parse_args(argv)
    items = read_inputs(args)
    model = load_model()
    with torch.no_grad():
        out = model(featurize(items)).float()
    for item, row in zip(items, out, strict=True):
        if TASK == "classification":
            probs = torch.softmax(row, dim=0)
            result = {{"label": CLASSES[int(probs.argmax())],
                      "probs": {{c: float(p) for c, p in zip(CLASSES, probs, strict=True)}}}}
        else:
            result = {{"value": float(row.reshape(-1)[0]) * TARGET_SCALE[1] + TARGET_SCALE[0]}}
        print(json.dumps({{**result, **describe(item, args)}}))


if __name__ == "__main__":
    main()
'''

USAGE = {"text": 'python {script} --text "Apple unveils a new iPhone"   (or --input-file headlines.txt)',
         "image": "python {script} --npy images.npy"}


def _kwargs_source(kwargs: dict) -> str:
    def lit(v):
        return repr(list(v)) if isinstance(v, tuple) else repr(v)

    parts = [f"{k}={lit(v)}" for k, v in kwargs.items()]
    one_line = ", ".join(parts)
    return one_line if len(one_line) <= 70 else "\n        " + ",\n        ".join(parts) + ",\n    "


def default_call(cls: type, args: dict, spec: dict) -> tuple[str, dict]:
    """Constructor keyword arguments matched by name: each __init__ parameter from the model's
    settings, else from the data spec (input_dim, num_outputs, ...), else its default."""
    kwargs = {}
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in args:
            kwargs[p.name] = args[p.name]
        elif p.name in spec:
            kwargs[p.name] = spec[p.name]
        elif p.default is p.empty:
            raise ExportError(f"cannot tell how to construct {cls.__name__}: no value for {p.name!r}")
    unused = sorted(set(args) - set(kwargs))
    if unused:
        raise ExportError(f"cannot tell how {cls.__name__} uses the setting(s) {', '.join(unused)}")
    return cls.__name__, kwargs


def model_source(src: ExportSource) -> tuple[list[str], list[str], str]:
    """(imports, definitions, constructor call) of the run's model. The call comes from SCRIPT_MODELS
    or, for a model without an entry, from `default_call`; either way it is checked by rebuilding the
    model from it and comparing outputs with the trained model."""
    cls = type(src.model)
    module = inspect.getmodule(cls)
    if not module.__name__.startswith("engine.models"):
        raise ExportError(f"model {src.config.model!r} is a {cls.__name__} from {module.__name__}; the script "
                          "export copies model classes from engine/models only. Use the onnx or torch-export export.")
    how = SCRIPT_MODELS.get(src.config.model) or (lambda args, spec: default_call(cls, args, spec))
    cls_name, kwargs = how(src.config.model_args, src.spec)
    rebuilt = getattr(module, cls_name)(**kwargs)
    hint = (f"Fix: add an entry for {src.config.model!r} to SCRIPT_MODELS in engine/predict/export/templates.py, "
            "or use the onnx export")
    try:
        rebuilt.load_state_dict(src.state_dict)
    except RuntimeError as exc:
        raise ExportError(f"{cls_name}({_kwargs_source(kwargs)}) does not take the trained weights "
                          f"({str(exc)[:200]}). {hint}") from None
    x = src.example_inputs()
    with torch.no_grad():
        if not torch.allclose(rebuilt.eval()(x), src.model.eval()(x), atol=1e-6):
            raise ExportError(f"{cls_name}({_kwargs_source(kwargs)}) computes something else than the trained "
                              f"model. {hint}")
    imports, defs = pysource.collect(module, [cls_name])
    return imports, defs, f"{cls_name}({_kwargs_source(kwargs)})"


def script_inputs(src: ExportSource) -> ScriptInputs:
    kind = src.ckpt["featurizer"]["kind"]
    if kind in SCRIPT_INPUTS:
        return SCRIPT_INPUTS[kind]
    if src.spec.get("kind") == "image":
        return generic_image_inputs(src)
    raise ExportError(f"the script export does not know the {kind!r} featurizer yet "
                      f"(supported: {', '.join(SCRIPT_INPUTS)}). Use the onnx or checkpoint export.")


def build_script(src: ExportSource, options: dict) -> str:
    inputs = script_inputs(src)
    imports = ["import argparse", "import json", "from pathlib import Path", "import numpy as np", "import torch"]
    sections = []
    for module_name, names in inputs.engine_code:
        mod_imports, defs = pysource.collect(importlib.import_module(module_name), list(names))
        imports += mod_imports
        sections.append(f"# --- copied from NN Lab's {module_name.replace('.', '/')}.py: the very code it trains "
                        "with ---\n" + "\n\n\n".join(defs))
    sections.append(inputs.source(src).strip("\n"))
    m_imports, m_defs, call = model_source(src)
    imports += m_imports
    module_path = inspect.getmodule(type(src.model)).__name__.replace(".", "/")
    sections.append(f"# --- the model (copied from NN Lab's {module_path}.py) ---\n" + "\n\n\n".join(m_defs))
    def third_party(line: str) -> bool:
        return line.split()[1].split(".")[0] in ("numpy", "torch")

    unique = list(dict.fromkeys(imports))
    stdlib = sorted((i for i in unique if not third_party(i)), key=lambda s: (s.startswith("from"), s))
    other = sorted((i for i in unique if third_party(i)), key=lambda s: (s.startswith("from"), s))
    notes = inputs.notes(src, options)
    header = HEADER.format(
        title=f"{src.config.short_name()}: predict with a model trained in NN Lab.",
        run_id=src.run_id, weights_file=WEIGHTS_FILE,
        extra_files=[notes] if notes else [],
        usage=USAGE.get(src.spec.get("kind"), "python {script} --help").format(script=SCRIPT_FILE),
        imports="\n".join(stdlib) + "\n\n" + "\n".join(other), task=src.spec.get("task", "classification"),
        target_scale=list(src.spec.get("target_scale") or (0.0, 1.0)),
        classes=list(src.spec.get("classes", [])),
        config=pprint.pformat(src.config.to_dict(), width=100, sort_dicts=True),
        results=pprint.pformat(src.summary(), width=100, sort_dicts=False),
    )
    body = "\n\n\n".join(sections)
    return header + "\n\n" + body + "\n" + MAIN.format(call=call)


def write_script(src: ExportSource, out: Path, top_words: int | None = None, **_) -> list[Path]:
    if src.ckpt["featurizer"]["kind"] in ort_script.SOURCES:  # word ids, table rows: through the ONNX export
        return ort_script.write_ort_script(src, out, top_words)
    options = {"top_words": top_words}
    text = build_script(src, options)
    compile(text, SCRIPT_FILE, "exec")  # a broken template fails here, not on the learner's machine
    script = out / SCRIPT_FILE
    with atomic.atomic_open(script, "wb") as fh:
        fh.write(text.encode("utf-8"))
    weights = out / WEIGHTS_FILE
    atomic.torch_save(src.state_dict, weights)
    return [script, weights, *script_inputs(src).files(src, out, options)]
