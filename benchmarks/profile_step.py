"""Where the time of one training step goes: GEMM, each backend primitive, and the rest.

    .venv/bin/python benchmarks/profile_step.py                      # numba, 1 and 2 threads
    .venv/bin/python benchmarks/profile_step.py --json benchmarks/results/profile-X.json
    .venv/bin/python benchmarks/profile_step.py --compare before=/tmp/old after=.

The step is the benchmark's (784-400-20, batch 128, float32, ``benchmarks/workers.py``), in its
own worker process per thread count. Printed per thread count: milliseconds per step of the
matrix products alone (the GEMM bound), of each primitive of the backend (Adam, binarization
with its uniform draws, the Bernoulli NLL, bias + activation, reparameterization + KL, the
N(0, 1) draws), and of the rest (Python between the calls, indexing, input checks), and the
fraction of the GEMM bound the step reaches. ``--compare LABEL=ROOT ...`` profiles several
library trees side by side in alternating rounds (each ROOT needs this repository's
``benchmarks/workers.py`` and ``vaelite/benchmark.py``; copy them into an older checkout).
See ``vaelite.benchmark.profile_step``.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vaelite import benchmark as bm  # noqa: E402  (NumPy and the standard library only)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (median reported)")
    p.add_argument("--steps", type=int, default=100, help="steps per timed block")
    p.add_argument("--repeats", type=int, default=3, help="timed blocks per round")
    p.add_argument("--compare", nargs="+", metavar="LABEL=ROOT",
                   help="library trees to profile side by side (default: this repository)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    scripts = None
    if args.compare:
        try:
            pairs = [item.split("=", 1) for item in args.compare]
            scripts = {label: str(Path(root).resolve() / "benchmarks" / "workers.py")
                       for label, root in pairs}
        except ValueError:
            p.error("--compare takes LABEL=ROOT pairs, e.g. before=/tmp/old after=.")
    results = bm.measure_profiles(scripts, tuple(args.threads), rounds=args.rounds,
                                  steps=args.steps, repeats=args.repeats)
    summary = bm.summarize_profiles(results)
    for (label, threads), prof in summary.items():
        loads = prof["loadavg_1min"]
        print(f"\n{label}, {threads} thread(s), 1-minute load {min(loads):.2f}-{max(loads):.2f}")
        print(bm.format_profile(prof))
        if "paired_total_ratio" in prof:
            print(f"step time / {next(iter(summary))[0]}'s (median of paired rounds): "
                  f"{prof['paired_total_ratio']:.3f}")
    if args.json:
        bm.save_results(results, args.json)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
