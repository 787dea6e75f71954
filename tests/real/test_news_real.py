"""The headline lab end to end on the real split: CLI train, then CLI predict on recent headlines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECENT = [  # written after the 2014 data was collected; nobody here trained on them
    ("Nvidia becomes the world's most valuable company as AI chip demand soars", "science/tech"),
    ("Taylor Swift's Eras Tour film breaks box office records", "entertainment"),
    ("Federal Reserve holds interest rates steady as inflation cools", "business"),
    ("WHO declares mpox outbreak a global health emergency", "health"),
    ("Oil prices jump after OPEC announces surprise production cuts", "business"),
    ("Measles cases surge as vaccination rates fall", "health"),
]


def engine(home: Path, *args: str) -> list[str]:
    env = {**os.environ, "NNLAB_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout.strip().splitlines()


@pytest.mark.slow
def test_mlp_on_glove_reaches_the_exercise_accuracy_and_predicts_recent_headlines(news_home, tmp_path):
    summary = json.loads(engine(news_home, "train", "--dataset", "news", "--features", "glove", "--model", "mlp",
                                "--epochs", "30", "--seed", "1", "--json")[-1])
    print(summary)
    assert summary["status"] == "done" and summary["test_acc"] >= 0.89
    assert {"run_id", "valid_acc", "epochs", "seconds", "device"} <= set(summary)
    inputs = tmp_path / "headlines.txt"
    inputs.write_text("\n".join(t for t, _ in RECENT) + "\n")
    lines = [json.loads(line) for line in engine(news_home, "predict", summary["run_id"], "--input-file", str(inputs),
                                                 "--json")]
    assert len(lines) == len(RECENT)
    for item in lines:
        assert abs(sum(item["probs"].values()) - 1) < 1e-4 and item["label"] in item["probs"]
    right = sum(item["label"] == label for item, (_, label) in zip(lines, RECENT, strict=True))
    assert right >= 5, lines  # mostly right
