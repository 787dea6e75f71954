"""Lab commands: `gradcheck` (four gradients compared) and `timing` (one epoch per batch size)."""

from __future__ import annotations

import json

from engine.cli import emit


def register(sub) -> None:
    g = sub.add_parser("gradcheck", help="numerical (loop, vectorised), backprop and autograd gradients compared")
    g.add_argument("--dataset", default="mnist", choices=("mnist", "digits"),
                   help="mnist (784-50-10) when fetched, else falls back to the 8x8 digits (64-50-10)")
    g.add_argument("--batch", type=int, default=100, help="examples in the loss")
    g.add_argument("--hidden", type=int, default=50)
    g.add_argument("--loop-params", default="2000",
                   help="parameters the per-parameter loop times (a random sample), or 'all'")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: two busy threads on a shared 2-core machine are far slower)")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=run_gradcheck)

    t = sub.add_parser("timing", help="seconds per training epoch for each batch size")
    t.add_argument("--dataset", default="news")
    t.add_argument("--model", default="linear")
    t.add_argument("--batch-sizes", default="1,2,4,8,16,32,64,128,256,512,1024")
    t.add_argument("--device", default="cpu", help="cpu, cuda, mps, a comma-separated list, or 'all' (every available device)")
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--max-examples", type=int, default=None,
                   help="time an epoch over only this many training examples (seconds are scaled to the full epoch)")
    t.add_argument("--threads", type=int, default=1, help="torch CPU threads (the page uses the same default)")
    t.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    t.add_argument("--json", action="store_true", help="one JSON line per batch size")
    t.add_argument("--out", default=None,
                   help="also append each row as a JSON line to this file, flushed as it comes (the page polls it)")
    t.set_defaults(func=run_timing)


def run_gradcheck(args) -> int:
    import torch

    from engine.labs import gradcheck
    from engine.labs.lab_data import image_batch

    if args.batch < 1:
        raise ValueError("--batch must be ≥ 1")
    torch.set_num_threads(max(1, args.threads))
    loop = None if args.loop_params == "all" else int(args.loop_params)
    x, t, used = image_batch(args.dataset, args.batch, args.home)
    torch.manual_seed(args.seed)
    net = gradcheck.TwoLayerNet(x.shape[1], args.hidden, 10, seed=args.seed)
    result = gradcheck.check(net, x, t, loop_params=loop, seed=args.seed)
    out = {"dataset": used, "requested_dataset": args.dataset, "batch": len(t),
           "architecture": f"{x.shape[1]}-{args.hidden}-10", **result.summary()}
    if args.json:
        emit(out, True)
    else:
        print(f"{used} {out['architecture']}, batch {len(t)}, {out['params']} parameters, float64, h=1e-4")
        for pair, err in out["max_rel_err"].items():
            print(f"  max rel err {pair:<24} {err:.2e}")
        for method, sec in out["seconds"].items():
            print(f"  seconds {method:<28} {sec:.3f}")
        print(f"  loop timed on {out['loop_params_timed']} parameters; vectorised is "
              f"{out['speedup_vectorised_vs_loop']:.0f}x faster than the loop")
    return 0


def run_timing(args) -> int:
    import torch

    from engine.labs import timing

    torch.set_num_threads(max(1, args.threads))
    sizes = [int(b) for b in args.batch_sizes.replace(" ", "").split(",") if b]
    out = open(args.out, "a", encoding="utf-8") if args.out else None  # noqa: SIM115 (closed below)
    try:
        for row in timing.time_epochs(args.dataset, args.model, sizes, devices=args.device, repeats=args.repeats,
                                      home=args.home, max_examples=args.max_examples, precision=args.precision):
            if out is not None:
                out.write(json.dumps(row) + "\n")
                out.flush()
            if args.json:
                emit(row, True)
            else:
                print(f"{row['device']:>5} B={row['batch_size']:>5}  {row['seconds']:.3f} s/epoch  "
                      f"{row['examples_per_s']:.0f} examples/s")
    finally:
        if out is not None:
            out.close()
    return 0
