"""Training throughput of the same VAE under vaelite (NumPy, Numba; CuPy on a GPU) and PyTorch.

    .venv/bin/python benchmarks/train_throughput.py            # the full table (a few minutes)
    .venv/bin/python benchmarks/train_throughput.py --quick    # one short round
    .venv/bin/python benchmarks/train_throughput.py --json results.json

Every implementation runs in its own process (``benchmarks/workers.py``, started and driven by
``vaelite.benchmark.run_benchmark``); the processes take turns, one at a time, in timed blocks
whose order rotates every repeat. Reported: per implementation the median samples/s over the
repeats; per pair the median of the paired ratios (the ratio within each repeat). PyTorch runs
its ordinary way (its own torch.Generator for the noise, its default threads set to the count
being measured; plain and fused Adam), from vaelite's initial weights. With a CUDA GPU,
vaelite's "cupy" backend and "pytorch-cuda" are measured too; without one, the table says they
were not measured. See benchmarks/README.md.

The last line printed is the key figure (the median of paired ratios numba / pytorch).
From Python: ``from vaelite import benchmark; benchmark.run_benchmark(quick=True)``.
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
    p.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--models", nargs="+", default=list(bm.MODELS), choices=list(bm.MODELS))
    p.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    p.add_argument("--impls", nargs="+", choices=bm.IMPLS,
                   help="default: every implementation installed (GPU ones with a GPU)")
    p.add_argument("--repeats", type=int, help="alternating repeats (median reported)")
    p.add_argument("--no-first-call", action="store_true",
                   help="skip measuring the first-call (compile) cost in fresh processes")
    args = p.parse_args(argv)
    first = None if args.no_first_call else bm.measure_first_call()
    results = bm.run_benchmark(args.quick, tuple(args.threads), tuple(args.models),
                               tuple(args.batches), args.impls, args.repeats)
    results["first_call"] = first
    meta = results["meta"]
    print(f"CPU: {meta['processor']} ({meta['cpus']} cores); GPU: "
          f"{meta['gpu'].get('device') or 'none'}; versions: {meta['versions']}")
    print(f"data: {results['rows'][0]['data']}; float32; Adam lr {bm.LR}; one process per "
          f"implementation; median of {meta['repeats']} alternating repeats; /torch: median "
          f"of the paired ratios")
    print(bm.format_table(results))
    print(bm.isolation_line(results))
    loads = [x for r in results["rows"] for x in r["loadavg_1min"]]
    print(f"1-minute load average during the measurements: {min(loads):.2f} to {max(loads):.2f} "
          f"(the benchmark itself adds about the thread count; more means other work ran)")
    if first:
        print("\nfirst call in a fresh process (784-400-20, batch 128; numba compiles on first use):")
        print(bm.format_first_call(first))
    if args.json:
        bm.save_results(results, args.json)
        print(f"wrote {args.json}")
    print(bm.key_line(results))


if __name__ == "__main__":
    main()
