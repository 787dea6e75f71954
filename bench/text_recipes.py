"""Recipes for the news rnn and textcnn, judged on the valid split over several seeds.

Each recipe is the acceptance command of issue 8 for its model plus some flags:
  rnn      python -m engine train --dataset news --model rnn --cell gru --bidirectional --init-vectors glove
  textcnn  python -m engine train --dataset news --model textcnn --init-vectors glove
run through the CLI (`--json`) once per seed, two runs at a time at one thread each, each in its own
data home. It prints valid accuracy (which chooses: the mean over the seeds), test accuracy (recorded,
never choosing), the epochs run and seconds per run.

Measured on a 2-core Xeon at 2.5 GHz, seeds 1 / 2 / 3, valid accuracy (test, recorded only). Each recipe's
flags went on top of the defaults of its time: the rnn lines up to pat5 ran with dropout 0.3, the default until
drop0.4 replaced it; the lines after pat5 up to adamw0.05 ran with dropout 0.4 and Adam; the lines after
adamw0.05 ran with dropout 0.4 and AdamW (weight decay 0.01), against 0.9364 / 0.9341 / 0.9274.
  textcnn, 20 epochs (the default then)  0.9304 / 0.9319 / 0.9311 (0.9192 / 0.9184 / 0.9162): runs ended at
                                 the 20-epoch cap with the valid loss still falling
  textcnn e40=--epochs 40        0.9356 / 0.9319 / 0.9311 (0.9251 / 0.9214 / 0.9162), lower or equal valid loss
                                 on every seed, stopped early after 24 / 27 / 21 epochs: now the default
  textcnn ch512=--channels 512   0.9326 / 0.9304 / 0.9251 (0.9266 / 0.9237 / 0.9169)
  textcnn emb300=--emb-size 300  0.9237 / 0.9319 / 0.9296 (0.9222 / 0.9162 / 0.9229), 2.5-3x the time
  textcnn lr2e-3=--lr 2e-3       0.9251 / 0.9259 / 0.9266 (0.9192 / 0.9132 / 0.9184)
  rnn default (dropout 0.3 then)  0.9296 / 0.9251 / 0.9251 (0.9244 / 0.9237 / 0.9147), valid loss 0.2230 / 0.2229 /
                                 0.2242
  rnn lr1e-3b32=--lr 1e-3 --batch-size 32  0.9229 / 0.9259 / 0.9222 (0.9207 / 0.9207 / 0.9259)
  rnn hid256=--hidden 256        0.9266 / 0.9214 / 0.9222 (0.9229 / 0.9169 / 0.9139)
  rnn drop0.5=--dropout 0.5      0.9356 / 0.9319 / 0.9244 (0.9207 / 0.9237 / 0.9274), lower valid loss on every
                                 seed but behind on seed 3 by one title: not the default
  rnn wdrop0.5=--word-dropout 0.5  0.9237 / 0.9259 / 0.9251 (0.9199 / 0.9266 / 0.9177)
  rnn drop0.4=--dropout 0.4      0.9341 / 0.9311 / 0.9266 (0.9184 / 0.9229 / 0.9259), valid loss 0.2189 / 0.2190 /
                                 0.2219: ahead on valid accuracy and loss on every seed, now the default
  rnn cosine=--schedule cosine   0.9296 / 0.9319 / 0.9274 (0.9251 / 0.9274 / 0.9229), valid loss 0.2226 / 0.2209 /
                                 0.2211: ties the default on seed 1, so not ahead on every seed; valid mean 0.9296
                                 against drop0.4's 0.9306
  rnn drop0.4-cos=--dropout 0.4 --schedule cosine  0.9319 / 0.9319 / 0.9266 (0.9222 / 0.9229 / 0.9222): behind
                                 drop0.4 on seed 1, tied on seed 3
  rnn drop0.5-cos=--dropout 0.5 --schedule cosine  0.9274 / 0.9319 / 0.9259 (0.9192 / 0.9199 / 0.9222)
  rnn layers2=--layers 2         0.9296 / 0.9229 / 0.9244 (0.9207 / 0.9237 / 0.9237), 1.7-2x the time
  rnn pat5=--patience 5          0.9296 / 0.9251 / 0.9251 (0.9244 / 0.9237 / 0.9147): the default's runs, as none
                                 of them had a better epoch within 5 after its best
  rnn maxmean=--pool maxmean     0.9274 / 0.9304 / 0.9229 (0.9184 / 0.9199 / 0.9207): max and mean over time side
                                 by side, behind the max alone (0.9341 / 0.9311 / 0.9266) on every seed
  rnn adamw=--optimizer adamw --weight-decay 0.01  0.9364 / 0.9341 / 0.9274 (0.9207 / 0.9222 / 0.9259), valid
                                 loss 0.2182 / 0.2177 / 0.2215 against 0.2189 / 0.2190 / 0.2219: ahead on valid
                                 accuracy and loss on every seed, now the default. Seeds 4 / 5, not used to choose:
                                 0.9304 / 0.9274 (loss 0.2251 / 0.2267) against Adam's 0.9304 / 0.9266 (0.2256 /
                                 0.2287); test 0.9214 / 0.9259 against 0.9207 / 0.9237
  rnn adamw0.05=--optimizer adamw --weight-decay 0.05  0.9349 / 0.9281 / 0.9304 (0.9229 / 0.9184 / 0.9274): behind
                                 weight decay 0.01 on seeds 1 and 2
  rnn wdrop0.3=--word-dropout 0.3  0.9244 / 0.9274 / 0.9319 (0.9222 / 0.9229 / 0.9207)
  rnn emb100=--emb-size 100  0.9311 / 0.9207 / 0.9296 (0.9162 / 0.9259 / 0.9177)
  rnn lr3e-3=--lr 3e-3  0.9319 / 0.9311 / 0.9296 (0.9199 / 0.9154 / 0.9207)
  rnn hid96=--hidden 96          0.9251 / 0.9251 / 0.9237 (0.9222 / 0.9177 / 0.9169)
  rnn cosine=--schedule cosine   0.9311 / 0.9296 / 0.9304 (0.9214 / 0.9244 / 0.9244), valid loss 0.2208 / 0.2150 /
                                 0.2223 (on AdamW; the cosine line above ran on Adam with dropout 0.3)
                                 these five: each behind the default on valid accuracy on seeds 1 and 2
  rnn rdrop1=--rdrop 1.0         0.9222 / 0.9244 / 0.9266 (0.9237 / 0.9244 / 0.9177), valid loss 0.2450 / 0.2442 /
                                 0.2551: R-Drop (engine/models/rdrop.py) on top of dropout 0.4 and word dropout 0.4,
                                 behind on every seed; seed 2 ran into the 20-epoch cap; 192-296 s a run
  rnn rdrop1-d0.2=--rdrop 1.0 --dropout 0.2 --word-dropout 0.2  0.9237 / 0.9237 / 0.9289 (0.9222 / 0.9266 /
                                 0.9229), valid loss 0.2244 / 0.2150 / 0.2141: lower loss on seeds 2 and 3, but
                                 behind on valid accuracy on seeds 1 and 2
  rnn attn=--pool attn           0.9214 / 0.9251 / 0.9259 (0.9169 / 0.9237 / 0.9259), valid loss 0.2247 / 0.2349 /
                                 0.2279: an attention-weighted mean of the outputs in place of the max, behind on
                                 every seed
  rnn freeze=--freeze-embeddings  0.9124 / 0.9117 / 0.9072 (0.8930 / 0.8937 / 0.8982): GloVe kept fixed, behind on
                                 every seed; all three ran into the 20-epoch cap with valid loss 0.27
  rnn b32=--batch-size 32        0.9251 / 0.9281 / 0.9251 (0.9199 / 0.9192 / 0.9214), behind on every seed
  rnn adv1=--adversarial 1.0     0.9341 / 0.9311 / 0.9296 (0.9222 / 0.9244 / 0.9251), valid loss 0.2152 / 0.2088 /
                                 0.2132: adversarial training on the word vectors (engine/models/adversarial.py),
                                 lower valid loss on every seed but behind on valid accuracy on seeds 1 and 2;
                                 229-292 s a run
  rnn adv2.5=--adversarial 2.5   seed 1 0.9289 (0.9229), loss 0.2201, 18 epochs: behind, so seeds 2-3 were not run
  rnn unk=--unknown-vectors      0.9326 / 0.9289 / 0.9274 (0.9319 / 0.9296 / 0.9281), valid loss 0.2016 / 0.2033 /
                                 0.2049: words without an id (11 % of the valid and test words; GloVe knows 96-97 % of
                                 those) read through their fixed GloVe vectors. Lower valid loss on every seed by
                                 0.014-0.017, but behind on valid accuracy on seeds 1 and 2 and tied on seed 3, so
                                 not the default, though test rose on every seed; 98-133 s a run
  textcnn unk=--unknown-vectors  0.9349 / 0.9319 / 0.9289 (0.9289 / 0.9274 / 0.9177), valid loss 0.1980 / 0.2045 /
                                 0.2074 against e40's 0.2217 / 0.2197 / 0.2198: the same picture, lower valid loss
                                 on every seed, valid accuracy behind on seeds 1 and 3 and tied on seed 2
  On top of --unknown-vectors (rnn, against the default of the time, 0.9364 / 0.9341 / 0.9274, loss 0.2182 / 0.2177 /
  0.2215):
  rnn unk-d0.5=--dropout 0.5     0.9311 / 0.9289 / 0.9259 (0.9311 / 0.9229 / 0.9237), loss 0.2085 / 0.2088 / 0.2087
  rnn unk-wd0.3=--word-dropout 0.3  0.9326 / 0.9304 / 0.9319 (0.9326 / 0.9334 / 0.9251), loss 0.2045 / 0.2026 / 0.2018
  rnn unk-wd0.5=--word-dropout 0.5  0.9349 / 0.9274 / 0.9319 (0.9304 / 0.9237 / 0.9222), loss 0.2059 / 0.2086 / 0.2106
  rnn unk-adv0.5=--adversarial 0.5  0.9334 / 0.9334 / 0.9341 (0.9311 / 0.9319 / 0.9311), loss 0.1922 / 0.1920 / 0.1956
  rnn unk-adv1=--adversarial 1.0  0.9371 / 0.9319 / 0.9379 (0.9334 / 0.9326 / 0.9304), loss 0.1928 / 0.1918 / 0.1953:
                                 behind on seed 2 by three titles
  rnn unk-adv2=--adversarial 2.0  0.9394 / 0.9371 / 0.9334 (0.9334 / 0.9274 / 0.9334), loss 0.1949 / 0.1973 / 0.1973:
                                 ahead on valid accuracy (by 4 / 4 / 8 titles) and loss on every seed, now the rnn's
                                 default (unknown_vectors on, adversarial 2.0); 17 / 17 / 17 epochs, 182-193 s a run
                                 (an epoch about twice as long: the adversarial pass). Seeds 4 / 5, run after the
                                 choice and not used for it: 0.9364 / 0.9319 (loss 0.1928 / 0.1976) against 0.9304 /
                                 0.9274 (0.2251 / 0.2267); test 0.9296 / 0.9296 against 0.9214 / 0.9259. Three
                                 adversarial sizes were tried on top of --unknown-vectors (0.5, 1, 2) and the one ahead
                                 on every seed was taken: seeds 4-5 are the check that it was not the luck of three
                                 draws

Usage: .venv/bin/python bench/text_recipes.py [--seeds 1,2,3] [--lanes 2] MODEL RECIPE [RECIPE ...]
A recipe is `name=flags`, e.g. `default=` or 'ch512=--channels 512'.
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shlex
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common

BASE = {
    "rnn": "--dataset news --model rnn --cell gru --bidirectional --init-vectors glove",
    "textcnn": "--dataset news --model textcnn --init-vectors glove",
}


def train(model: str, flags: str, seed: int, home: Path) -> dict:
    cmd = [sys.executable, "-m", "engine", "train", *shlex.split(BASE[model]), *shlex.split(flags),
           "--seed", str(seed), "--json"]
    env = {**os.environ, "NNLAB_HOME": str(home), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, cwd=_common.ROOT, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"error": done.stderr[-500:]}
    if "test_acc" not in result:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(BASE))
    parser.add_argument("recipes", nargs="+", help="name=flags")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if bad := [r for r in args.recipes if "=" not in r]:
        parser.error(f"a recipe is name=flags (e.g. default= or 'ch512=--channels 512'), not {bad[0]!r}")
    recipes = dict(r.split("=", 1) for r in args.recipes)
    homes: queue.Queue[Path] = queue.Queue()
    for _ in range(args.lanes):  # a data home per lane: no two runs at once share one
        homes.put(_common.news_home())

    def lane(job: tuple[str, int]) -> dict:
        home = homes.get()
        try:
            return train(args.model, recipes[job[0]], job[1], home)
        finally:
            homes.put(home)

    jobs = [(name, seed) for name in recipes for seed in seeds]
    by_recipe: dict[str, list[dict]] = {name: [] for name in recipes}
    with ThreadPoolExecutor(args.lanes) as pool:  # each line as soon as its run (and those before it) ends
        for (name, seed), r in zip(jobs, pool.map(lane, jobs), strict=True):
            by_recipe[name].append(r)
            print(f"{args.model} {name:12s} seed {seed}: valid acc {r['valid_acc']:.4f} loss {r['valid_loss']:.4f} "
                  f"| test acc {r['test_acc']:.4f} | {r['epochs']} epochs, {r['seconds']:.0f} s", flush=True)
    print(f"\nmeans over seeds {args.seeds} (valid chooses; test is the record):")
    for name, rs in by_recipe.items():
        print(f"{args.model} {name:12s}: valid acc {statistics.mean(r['valid_acc'] for r in rs):.4f} "
              f"| test acc {statistics.mean(r['test_acc'] for r in rs):.4f}  [{recipes[name] or 'defaults'}]")


if __name__ == "__main__":
    main()
