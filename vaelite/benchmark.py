"""Training-throughput benchmark: the reusable parts (model table, GEMM bound, statistics, tables,
and the orchestration that runs every implementation in its own process).

    from vaelite import benchmark
    results = benchmark.run_benchmark(quick=True, threads=(2,), models=("784-400-20",),
                                      batches=(128,))       # a dict, what --json writes
    print(benchmark.format_table(results))
    print(benchmark.key_ratio(results))                     # numba / pytorch, paired median

The command line is ``benchmarks/train_throughput.py``; the code that trains (vaelite's trainer
and the PyTorch one) lives in ``benchmarks/workers.py``, which this module starts as
subprocesses. Importing this module imports only NumPy and the standard library: no torch, no
numba, no cupy (each is imported only inside the worker process that measures it).

How a measurement is fair:

- every implementation runs in its OWN process (a long-lived worker, driven over a pipe: one
  JSON line per command, one per reply), with the thread count fixed through the environment
  before NumPy, Numba or PyTorch load (and ``torch.set_num_threads`` in PyTorch's worker);
- only one worker runs at a time: the others block on their pipe. Workers take turns in timed
  blocks of the same number of steps, in an order that rotates every repeat, after a short pause
  (so that one framework's idle threads never spin beside another's work); the CPU time the
  idle workers used during each block is recorded (``others_cpu_share``);
- per implementation, the median of the repeats; per pair of implementations, the ratio within
  each repeat, then the median of those ratios (the paired ratio: slow phases of a shared
  machine hit both members of a pair, so it is steadier than a ratio of medians).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = {"784-400-20": ((400,), 20), "784-512-256-32": ((512, 256), 32)}
CPU_IMPLS = ("numpy", "numba", "pytorch", "pytorch-fused")
GPU_IMPLS = ("cupy", "pytorch-cuda")
IMPLS = CPU_IMPLS + GPU_IMPLS
REFERENCE = {**{i: "pytorch" for i in CPU_IMPLS}, **{i: "pytorch-cuda" for i in GPU_IMPLS}}
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
LR = 1e-3
KEY = ("784-400-20", 128, 2)  # (model, batch, threads) of the key figure
ROOT = Path(__file__).resolve().parents[1]
WORKER_SCRIPT = ROOT / "benchmarks" / "workers.py"


# ---------------------------------------------------------------------------------------------
# Arithmetic of a training step

def layer_shapes(hidden, latent, input_dim=784):
    """(in, out) of every Linear layer of the VAE, encoder then decoder."""
    enc = [input_dim, *hidden, 2 * latent]
    dec = [latent, *hidden[::-1], input_dim]
    return list(zip(enc[:-1], enc[1:])) + list(zip(dec[:-1], dec[1:]))


def gemm_flops(hidden, latent, batch):
    """FLOPs of the matrix products of one training step: forward, weight gradient, and input
    gradient of every layer except the encoder's first (its input is data)."""
    total = 0
    for i, (n_in, n_out) in enumerate(layer_shapes(hidden, latent)):
        products = 2 if i == 0 else 3
        total += products * 2 * batch * n_in * n_out
    return total


def gemm_products(hidden, latent, batch, input_dim=784):
    """A function that runs the matrix products of one training step once, with NumPy (BLAS) on
    random float32 operands of the step's shapes: forward, weight gradient and input gradient
    of every layer (no input gradient for the encoder's first)."""
    rng = np.random.default_rng(0)
    ops = []
    for i, (n_in, n_out) in enumerate(layer_shapes(hidden, latent, input_dim)):
        x = rng.standard_normal((batch, n_in), dtype=np.float32)
        w = rng.standard_normal((n_in, n_out), dtype=np.float32)
        dy = rng.standard_normal((batch, n_out), dtype=np.float32)
        gw = np.empty_like(w)
        ops.append((x, w, dy, gw, i > 0))

    def step():
        for x, w, dy, gw, need_dx in ops:
            x @ w
            np.matmul(x.T, dy, out=gw)
            if need_dx:
                dy @ w.T

    return step


def time_gemms(hidden, latent, batch, repeats=7, min_time=0.2):
    """Median seconds of the matrix products of one training step (``gemm_products``).
    Run it in a process whose BLAS has the thread count being measured."""
    step = gemm_products(hidden, latent, batch)
    step()
    n = 1
    while True:  # calibrate: each repeat lasts at least min_time
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        if time.perf_counter() - t0 >= min_time:
            break
        n *= 2
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# Profile of one training step: GEMM, each primitive of the backend, and the rest

# the backend methods a profile times (those the backend has); matmul (a weight gradient's product)
# is part of the GEMM time and is not wrapped
PROFILED = ("binarize", "standard_normal", "bias_act_forward", "bias_act_backward",
            "reparam_kl_forward", "reparam_kl_backward", "bernoulli_nll", "adam_update",
            "adam_step")


def _timed(spent, depth, name, method):
    """``method`` wrapped to add its wall time to ``spent[name]``; a call made from inside
    another wrapped call is counted once, by the outer one."""
    def wrapper(*args, **kwargs):
        depth[0] += 1
        t0 = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
    return wrapper


def profile_step(run, backend, hidden, latent, batch, steps=100, repeats=5, input_dim=784):
    """Where the time of one training step goes (seconds per step, medians over ``repeats``
    blocks of ``steps`` steps). ``run(n)`` trains n steps; ``backend`` is the backend object
    the steps use. Run it in a process whose BLAS has the thread count being profiled.

    - "total_s": the step, timed as it runs (no instrumentation);
    - "gemm_s": the matrix products of one step alone (``gemm_products``, the GEMM bound),
      timed in blocks of as many steps that alternate with the step's blocks;
    - "fraction_of_gemm_bound": the median over those pairs of blocks of GEMM / step (this
      machine's speed drifts by tens of percent within minutes: a pair, seconds apart, sees
      the same speed, two medians taken minutes apart may not);
    - "kernels_s": per primitive of the backend (``PROFILED``: bias + activation, reparameter-
      ization + KL, Bernoulli NLL, Adam, binarization with its uniform draws, the N(0, 1) draws),
      the wall time of its calls per step, Python dispatch included, timed by wrapping the
      backend object's methods in a second series of blocks;
    - "rest_s": total - GEMM - kernels: Python glue between the calls, indexing, input checks,
      and the products' extra time inside the step (e.g. cold caches);
    - "uniform_draws_s": the uniform draws of one step's binarization timed alone (part of
      "binarize"); "python_calls_per_step": function calls per step counted by cProfile.
    """
    import cProfile
    import pstats

    products = gemm_products(tuple(hidden), latent, batch, input_dim)
    run(max(3, steps // 10))  # warm
    products()
    totals, gemms = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(steps)
        totals.append((time.perf_counter() - t0) / steps)
        t0 = time.perf_counter()
        for _ in range(steps):
            products()
        gemms.append((time.perf_counter() - t0) / steps)
    spent, depth = {}, [0]
    names = [n for n in PROFILED if hasattr(backend, n)]
    per_block = {n: [] for n in names}
    for n in names:  # an instance attribute shadows the class's method until deleted
        setattr(backend, n, _timed(spent, depth, n, getattr(backend, n)))
    try:
        for _ in range(repeats):
            spent.clear()
            run(steps)
            for n in names:
                per_block[n].append(spent.get(n, 0.0) / steps)
    finally:
        for n in names:
            delattr(backend, n)
    kernels = {n: median(v) for n, v in per_block.items() if any(v)}
    profiler = cProfile.Profile()
    profiler.runcall(run, steps)
    calls = pstats.Stats(profiler).total_calls / steps
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(repeats * 10):
        t0 = time.perf_counter()
        rng.random((batch, input_dim), dtype=np.float32)
        draws.append(time.perf_counter() - t0)
    total, gemm = median(totals), median(gemms)
    return {"total_s": total, "total_s_blocks": totals, "gemm_s": gemm, "gemm_s_blocks": gemms,
            "fraction_of_gemm_bound": median(g / t for g, t in zip(gemms, totals)),
            "kernels_s": kernels,
            "rest_s": total - gemm - sum(kernels.values()), "uniform_draws_s": median(draws),
            "python_calls_per_step": calls, "steps": steps, "repeats": repeats}


PROFILE_PARTS = ("GEMM", "Adam", "binarize", "Bernoulli NLL", "bias + activation",
                 "reparameterization + KL", "N(0, 1) draws", "rest (Python, indexing)")
_PART_OF = {"adam_update": "Adam", "adam_step": "Adam", "binarize": "binarize",
            "bernoulli_nll": "Bernoulli NLL", "bias_act_forward": "bias + activation",
            "bias_act_backward": "bias + activation", "reparam_kl_forward":
            "reparameterization + KL", "reparam_kl_backward": "reparameterization + KL",
            "standard_normal": "N(0, 1) draws"}


def profile_parts(profile):
    """A profile's seconds per step grouped into ``PROFILE_PARTS`` (they add up to the total)."""
    parts = dict.fromkeys(PROFILE_PARTS, 0.0)
    parts["GEMM"] = profile["gemm_s"]
    for name, seconds in profile["kernels_s"].items():
        parts[_PART_OF[name]] += seconds
    parts["rest (Python, indexing)"] = profile["rest_s"]
    return parts


def format_profile(profile):
    """One profile as text: milliseconds per step by part, and the fraction of the bound."""
    total = profile["total_s"]
    lines = [f"{'part':<26}{'ms/step':>8}{'share':>7}"]
    for part, seconds in profile_parts(profile).items():
        lines.append(f"{part:<26}{1e3 * seconds:8.3f}{seconds / total:7.1%}")
    lines.append(f"{'total':<26}{1e3 * total:8.3f}  -> {profile['fraction_of_gemm_bound']:.2f}"
                 f" of the GEMM bound; {profile['python_calls_per_step']:.0f} Python calls")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Statistics

def median(values):
    """The median of a non-empty sequence of numbers."""
    values = list(values)
    if not values:
        raise ValueError("the median of nothing")
    return statistics.median(values)


def paired_ratios(speeds_a, speeds_b):
    """a / b within each repeat: ``speeds_a[r] / speeds_b[r]`` (speeds: samples/s, one per
    repeat, measured in the same round of the rotation)."""
    if len(speeds_a) != len(speeds_b) or not speeds_a:
        raise ValueError(f"paired ratios need as many repeats on both sides, got "
                         f"{len(speeds_a)} and {len(speeds_b)}")
    return [a / b for a, b in zip(speeds_a, speeds_b)]


def paired_ratio(speeds_a, speeds_b):
    """The median of the paired ratios a / b: the figure this benchmark reports."""
    return median(paired_ratios(speeds_a, speeds_b))


def _row_ratio(row, ref):
    """(median paired ratio, the ratios) of row to ref; a ratio of single figures when the rows
    carry no per-repeat speeds."""
    a, b = row.get("samples_per_s_repeats"), ref.get("samples_per_s_repeats")
    if a and b and len(a) == len(b):
        ratios = paired_ratios(a, b)
        return median(ratios), ratios
    return row["samples_per_s"] / ref["samples_per_s"], None


def _group(rows):
    out = {}
    for r in rows:
        out.setdefault((r["model"], r["batch"], r["threads"]), {})[r["impl"]] = r
    return out


def add_ratios(rows):
    """Fill every row's ratios: to the PyTorch row of the same configuration on the same kind of
    device (``REFERENCE``: plain PyTorch for the CPU implementations, PyTorch on CUDA for the GPU
    ones) as a ratio of medians (``ratio_to_pytorch``) and as the median of paired ratios
    (``paired_ratio_to_pytorch``, with the per-repeat ratios), and to the GEMM bound."""
    for group in _group(rows).values():
        for impl, row in group.items():
            ref = group.get(REFERENCE.get(impl, "pytorch"))
            row["ratio_reference"] = ref["impl"] if ref else None
            row["ratio_to_pytorch"] = (row["samples_per_s"] / ref["samples_per_s"]
                                       if ref else None)
            paired, ratios = _row_ratio(row, ref) if ref else (None, None)
            row["paired_ratio_to_pytorch"] = paired
            row["paired_ratios_to_pytorch"] = ratios
            if row.get("gemm_bound_samples_per_s"):
                row["ratio_to_gemm_bound"] = (row["samples_per_s"]
                                              / row["gemm_bound_samples_per_s"])
    return rows


def pair_ratio(results, a="numba", b="pytorch", config=KEY):
    """a / b at ``config`` (model, batch, threads): the median of the paired ratios, or None
    when either was not measured there."""
    group = _group(results["rows"]).get(tuple(config), {})
    if a not in group or b not in group:
        return None
    return _row_ratio(group[a], group[b])[0]


def key_ratio(results):
    """numba / pytorch samples/s at the key configuration (median of paired ratios), or None."""
    return pair_ratio(results, "numba", "pytorch", KEY)


SUMMARY_COLUMNS = ("model", "batch", "threads", "impl", "samples_per_s", "ratio_to_pytorch",
                   "paired_ratio_to_pytorch", "ratio_to_gemm_bound", "peak_mem_mib",
                   "final_neg_elbo")


def summary_rows(results, columns=SUMMARY_COLUMNS):
    """The rows with the columns a reader needs, rounded: a list of dicts (for a book table,
    e.g. ``pandas.DataFrame(summary_rows(results))``)."""
    def rnd(v):
        return round(v, 2) if isinstance(v, float) else v
    return [{c: rnd(r.get(c)) for c in columns} for r in results["rows"]]


def load_results(path):
    """A results dict written by ``--json`` (or ``save_results``)."""
    return json.loads(Path(path).read_text())


def save_results(results, path):
    Path(path).write_text(json.dumps(results, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------
# Tables

def _fmt(v, spec, missing="-"):
    return format(v, spec) if v is not None else missing


def format_table(results):
    """The results as a plain-text table (one line per implementation and configuration), then
    one line per GPU implementation that was not measured. ``/torch`` is the median of the
    paired ratios to PyTorch on the same kind of device, ``range`` their smallest and largest."""
    head = (f"{'model':<15} {'batch':>5} {'thr':>3} {'impl':<14} {'samples/s':>10} "
            f"{'step ms':>8} {'/torch':>6} {'range':>11} {'/GEMM bnd':>9} {'GEMM bnd':>9} "
            f"{'GF/s':>6} {'+MiB':>5} {'RSS MiB':>7} {'-ELBO':>8}")
    lines = [head, "-" * len(head)]
    for r in results["rows"]:
        ratios = r.get("paired_ratios_to_pytorch")
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
        paired = r.get("paired_ratio_to_pytorch", r.get("ratio_to_pytorch"))
        lines.append(
            f"{r['model']:<15} {r['batch']:>5} {r['threads']:>3} {r['impl']:<14} "
            f"{r['samples_per_s']:>10.0f} {r['step_ms']:>8.2f} {_fmt(paired, '.2f'):>6} "
            f"{spread:>11} {_fmt(r.get('ratio_to_gemm_bound'), '.2f'):>9} "
            f"{_fmt(r.get('gemm_bound_samples_per_s'), '.0f'):>9} "
            f"{_fmt(r.get('gemm_gflops'), '.1f'):>6} {_fmt(r.get('peak_mem_mib'), '.0f'):>5} "
            f"{_fmt(r.get('peak_rss_mib'), '.0f'):>7} {_fmt(r.get('final_neg_elbo'), '.2f'):>8}")
    for entry in results.get("not_measured", []):
        lines.append(f"{'(all)':<15} {'':>5} {'':>3} {entry['impl']:<14} "
                     f"not measured ({entry['reason']})")
    return "\n".join(lines)


def isolation_line(results):
    """How much CPU the idle workers used while another one was timed (they should sleep)."""
    shares = [r["others_cpu_share"] for r in results["rows"]
              if r.get("others_cpu_share") is not None]
    if not shares:
        return "idle workers' CPU during the timed blocks: not recorded"
    return (f"idle workers' CPU during the timed blocks: at most {max(shares):.1%} of a block's "
            f"wall time (median {median(shares):.1%})")


def format_first_call(first):
    lines = [f"{'backend':<22} {'import vaelite':>14} {'first step':>10} {'later step':>10}"]
    for name, r in first.items():
        lines.append(f"{name:<22} {r['import_s']:>13.2f}s {r['first_step_s']:>9.2f}s "
                     f"{1e3 * r['later_step_s']:>8.1f}ms")
    return "\n".join(lines)


def key_line(results):
    """The last line the command line prints."""
    ratio = key_ratio(results)
    m, b, t = KEY
    return (f"numba/pytorch samples/s ratio ({m}, batch {b}, {t} threads): "
            + (f"{ratio:.2f}" if ratio is not None
               else "n/a (PyTorch or that configuration was not measured)"))


# ---------------------------------------------------------------------------------------------
# Processes

def thread_env(threads, base=None):
    """The environment of a worker: every thread-count variable set to ``threads``."""
    env = dict(os.environ if base is None else base)
    env.update({k: str(threads) for k in THREAD_ENV})
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _worker_script(script=None):
    path = Path(script) if script is not None else WORKER_SCRIPT
    if not path.exists():
        raise FileNotFoundError(f"the benchmark workers live in benchmarks/workers.py of the "
                                f"vaelite repository; not found at {path}")
    return path


def _cpu_seconds(pid):
    """User + system CPU seconds of a process and all its threads so far (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class WorkerError(RuntimeError):
    pass


class Worker:
    """One implementation in its own process (``benchmarks/workers.py serve IMPL THREADS``),
    driven over its stdin/stdout: ``call(cmd, **args)`` sends one JSON line and returns the
    reply. The process's stderr goes to a temporary file, quoted when something fails."""

    def __init__(self, impl, threads, script=None, env=None):
        self.impl, self.threads = impl, threads
        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(_worker_script(script)), "serve", impl, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
            bufsize=1, env=thread_env(threads, env), cwd=str(ROOT))
        self.hello = self._reply()
        self.pid = self.proc.pid

    def _stderr_tail(self, n=4000):
        self._err.flush()
        self._err.seek(0)
        return self._err.read()[-n:]

    def _reply(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise WorkerError(f"{self.impl} worker exited ({self.proc.returncode}):\n"
                              f"{self._stderr_tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.impl} worker failed: {reply['error']}")
        return reply

    def call(self, cmd, **args):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def cpu_seconds(self):
        return _cpu_seconds(self.proc.pid)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def gpu_status():
    """{"cupy": bool, "torch_cuda": bool, "device": name or None}: whether a CUDA GPU is usable
    through CuPy and through PyTorch. Probed in a subprocess, so that this process imports
    neither; without cupy and torch installed, nothing is started."""
    import importlib.util
    has = {m: importlib.util.find_spec(m) is not None for m in ("cupy", "torch")}
    status = {"cupy": False, "torch_cuda": False, "device": None}
    if not any(has.values()):
        return status
    probe = (
        "import json\nout = {'cupy': False, 'torch_cuda': False, 'device': None}\n"
        "try:\n import cupy\n out['cupy'] = bool(cupy.cuda.is_available())\n"
        " if out['cupy']: out['device'] = cupy.cuda.runtime.getDeviceProperties(0)['name']"
        ".decode()\nexcept Exception: pass\n"
        "try:\n import torch\n out['torch_cuda'] = bool(torch.cuda.is_available())\n"
        " if out['torch_cuda']: out['device'] = torch.cuda.get_device_name(0)\n"
        "except Exception: pass\nprint(json.dumps(out))\n")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=thread_env(1))
    try:
        status.update(json.loads(res.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError):
        pass
    return status


def available_impls(gpu=None):
    """The implementations this machine can run: the vaelite CPU backends, PyTorch's when torch
    is installed, and the GPU ones when ``gpu`` (``gpu_status()``) says a GPU is usable."""
    import importlib.util
    has_numba = importlib.util.find_spec("numba") is not None
    has_torch = importlib.util.find_spec("torch") is not None
    gpu = gpu or {}
    ok = {"numpy": True, "numba": has_numba, "pytorch": has_torch, "pytorch-fused": has_torch,
          "cupy": bool(gpu.get("cupy")), "pytorch-cuda": bool(gpu.get("torch_cuda"))}
    return [i for i in IMPLS if ok[i]]


def _log(verbose, msg):
    if verbose:
        print(msg, file=sys.stderr, flush=True)


def measure_threads(threads, configs, impls, repeats, min_time, warmup, settle_s=0.3,
                    seed=0, verbose=True, script=None):
    """Rows for one thread count: one worker process per implementation, started one after the
    other (each imports its framework, loads the data, compiles or initialises lazily, alone);
    per configuration, every worker builds its model and warms up, the GEMM bound is timed in
    one of them, then the workers take turns in timed blocks, in a rotating order."""
    workers = {}
    rows = []
    try:
        for impl in impls:
            _log(verbose, f"[{threads} thread(s)] starting the {impl} worker")
            workers[impl] = Worker(impl, threads, script)
        for model_name, batch in configs:
            hidden, latent = MODELS[model_name]
            _log(verbose, f"[{threads} thread(s)] {model_name}, batch {batch}: warm-up")
            per_step = {impl: w.call("setup", hidden=list(hidden), latent=latent, batch=batch,
                                     warmup=warmup, seed=seed)["step_s"]
                        for impl, w in workers.items()}
            cpu_impl = next((i for i in impls if i in CPU_IMPLS), impls[0])
            t_gemm = workers[cpu_impl].call("gemm", hidden=list(hidden), latent=latent,
                                            batch=batch)["seconds"]
            n_steps = max(5, int(min_time / max(per_step.values())))
            times = {impl: [] for impl in impls}
            others_cpu = {impl: 0.0 for impl in impls}
            load_before = os.getloadavg()[0]
            _log(verbose, f"[{threads} thread(s)] {model_name}, batch {batch}: {repeats} "
                          f"repeats of {n_steps} steps per implementation")
            for r in range(repeats):  # alternate, in a rotating order
                order = impls[r % len(impls):] + impls[:r % len(impls)]
                for impl in order:
                    # let the previous worker's threads go to sleep: OpenBLAS's spin on for
                    # about 0.1 s after a product (measured: with a 0.05 s pause an idle numpy
                    # worker still took 7% of a core from the next block)
                    time.sleep(settle_s)
                    before = {i: w.cpu_seconds() for i, w in workers.items() if i != impl}
                    reply = workers[impl].call("run", steps=n_steps)
                    for i, w in workers.items():
                        if i != impl and before[i] is not None:
                            others_cpu[impl] += (w.cpu_seconds() or 0.0) - before[i]
                    times[impl].append(reply["seconds"] / n_steps)
            load_after = os.getloadavg()[0]
            for impl, w in workers.items():
                done = w.call("finish")
                t = median(times[impl])
                rows.append({
                    "model": model_name, "batch": batch, "threads": threads, "impl": impl,
                    "samples_per_s": batch / t, "step_ms": 1e3 * t,
                    "samples_per_s_repeats": [batch / s for s in times[impl]],
                    "steps_per_block": n_steps,
                    "gemm_bound_samples_per_s": batch / t_gemm,
                    "gemm_gflops": gemm_flops(hidden, latent, batch) / t_gemm / 1e9,
                    "gemm_flops_per_step": gemm_flops(hidden, latent, batch),
                    "steps": done["steps"], "first_call_s": w.hello["first_call_s"],
                    "final_neg_elbo": done["final_neg_elbo"], "data": w.hello["data"],
                    "pid": w.hello["pid"], "worker": w.hello["info"],
                    "others_cpu_share": others_cpu[impl] / (sum(times[impl]) * n_steps),
                    "loadavg_1min": [load_before, load_after],  # other work on the machine
                })
    finally:
        for w in workers.values():
            w.close()
    return rows


def measure_profiles(scripts=None, threads=(1, 2), model="784-400-20", batch=128, rounds=3,
                     steps=100, repeats=3, warmup=20, settle_s=0.3, impl="numba", verbose=True):
    """Profiles of vaelite's training step (``profile_step``), one worker process per library
    and thread count. ``scripts``: {label: path of a ``benchmarks/workers.py``}; each worker
    imports the vaelite tree next to its script, so an older checkout (with this file and the
    workers copied in) can be profiled beside the current one. Per thread count the libraries
    take turns, ``rounds`` times in a rotating order. Returns a JSON-ready dict: {"rows": one
    profile per label, thread count and round, "meta"}; ``summarize_profiles`` reduces it."""
    scripts = scripts or {"current": str(WORKER_SCRIPT)}
    hidden, latent = MODELS[model]
    rows = []
    for n in threads:
        workers = {}
        try:
            for label, script in scripts.items():
                _log(verbose, f"[profile {n} thread(s)] starting {label} ({script})")
                workers[label] = Worker(impl, n, script)
                workers[label].call("setup", hidden=list(hidden), latent=latent, batch=batch,
                                    warmup=warmup, seed=0)
            labels = list(workers)
            for r in range(rounds):
                for label in labels[r % len(labels):] + labels[:r % len(labels)]:
                    time.sleep(settle_s)
                    load = os.getloadavg()[0]
                    reply = workers[label].call("profile", steps=steps, repeats=repeats)
                    rows.append({"label": label, "threads": n, "round": r, "model": model,
                                 "batch": batch, "loadavg_1min": [load, os.getloadavg()[0]],
                                 **reply})
                    _log(verbose, f"  {label} round {r}: {1e3 * reply['total_s']:.2f} ms, "
                                  f"{reply['fraction_of_gemm_bound']:.2f} of the bound")
        finally:
            for w in workers.values():
                w.close()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "processor": cpu_name(),
            "cpus": os.cpu_count(), "git": git_state(), "versions": versions(),
            "scripts": dict(scripts), "rounds": rounds, "steps": steps, "repeats": repeats,
            "impl": impl, "method": "profile_step in one worker per library and thread count, "
                                    "rounds alternating in a rotating order; medians"}
    return {"rows": rows, "meta": meta}


def summarize_profiles(results):
    """{(label, threads): one profile}: per label and thread count the medians over the rounds
    (total, GEMM, each kernel and the fraction of the GEMM bound; the rest recomputed from
    total, GEMM and kernels), and "paired_total_ratio": for a second label, the median over
    rounds of (its total / the first label's total)."""
    groups = {}
    for row in results["rows"]:
        groups.setdefault((row["label"], row["threads"]), []).append(row)
    out = {}
    for key, rows in groups.items():
        names = sorted({n for r in rows for n in r["kernels_s"]})
        kernels = {n: median(r["kernels_s"].get(n, 0.0) for r in rows) for n in names}
        total, gemm = median(r["total_s"] for r in rows), median(r["gemm_s"] for r in rows)
        fractions = [r["fraction_of_gemm_bound"] for r in rows]
        out[key] = {"label": key[0], "threads": key[1], "total_s": total, "gemm_s": gemm,
                    "fraction_of_gemm_bound": median(fractions), "kernels_s": kernels,
                    "rest_s": total - gemm - sum(kernels.values()),
                    "uniform_draws_s": median(r["uniform_draws_s"] for r in rows),
                    "python_calls_per_step": median(r["python_calls_per_step"] for r in rows),
                    "fractions_by_round": fractions,
                    "loadavg_1min": [x for r in rows for x in r["loadavg_1min"]]}
    labels = list(dict.fromkeys(r["label"] for r in results["rows"]))
    for (label, n), prof in out.items():
        if label != labels[0] and (labels[0], n) in out:
            base = {r["round"]: r["total_s"] for r in groups[(labels[0], n)]}
            prof["paired_total_ratio"] = median(r["total_s"] / base[r["round"]]
                                                for r in groups[(label, n)])
    return out


def measure_memory(configs, impls, verbose=True, script=None):
    """{(model, batch, impl): {"peak_mem_mib", "peak_rss_mib"}}: the growth of the peak resident
    set while building the model and training a few steps, each in a fresh process (1 thread)."""
    out = {}
    for model_name, batch in configs:
        for impl in impls:
            _log(verbose, f"[memory] {model_name} batch {batch} {impl}")
            res = subprocess.run([sys.executable, str(_worker_script(script)), "memory", impl,
                                  model_name, str(batch)], env=thread_env(1),
                                 capture_output=True, text=True, cwd=str(ROOT))
            if res.returncode != 0:
                raise WorkerError(f"memory worker failed:\n{res.stderr[-4000:]}")
            out[(model_name, batch, impl)] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def measure_first_call(backends=("numpy", "numba"), verbose=True, script=None):
    """Seconds to import vaelite and to run the first training step (784-400-20, batch 128) in a
    fresh process: for numba once with an empty kernel cache (compiles every kernel the step
    uses) and once with the cache that run left (loads the machine code)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        runs = [(b, None) for b in backends if b != "numba"]
        if "numba" in backends:
            runs += [("numba", "cold cache"), ("numba", "warm cache")]
        for backend, label in runs:
            env = dict(thread_env(1), NUMBA_CACHE_DIR=cache, VAELITE_BACKEND="numpy")
            env.pop("PYTHONUNBUFFERED", None)
            _log(verbose, f"[first call] {backend} {label or ''}")
            res = subprocess.run([sys.executable, str(_worker_script(script)), "first-call",
                                  backend], env=env, capture_output=True, text=True,
                                 cwd=str(ROOT))
            if res.returncode != 0:
                raise WorkerError(f"first-call worker failed:\n{res.stderr[-4000:]}")
            out[backend + (f" ({label})" if label else "")] = json.loads(
                res.stdout.strip().splitlines()[-1])
    return out


def run_benchmark(quick=False, threads=(1, 2), models=tuple(MODELS), batches=(128, 512),
                  impls=None, repeats=None, min_time=None, verbose=True, measure_mem=True,
                  warmup=None, settle_s=0.3, seed=0, script=None, gpu=None):
    """Run the benchmark and return a JSON-ready dict: {"rows": [...], "meta": {...},
    "not_measured": [...]}. ``impls``: default every implementation this machine can run
    (``available_impls``); GPU implementations asked for without a GPU are listed under
    "not measured". ``quick``: fewer repeats and shorter timed blocks. ``gpu``: the result of
    ``gpu_status()`` (probed when None)."""
    gpu = gpu_status() if gpu is None else gpu
    can = available_impls(gpu)
    asked = list(can if impls is None else impls)
    unknown = [i for i in asked if i not in IMPLS]
    if unknown:
        raise ValueError(f"unknown implementations {unknown}; choose from {', '.join(IMPLS)}")
    run = [i for i in asked if i in can]
    if not run:
        raise ValueError(f"none of {asked} can run here")
    missing = [i for i in asked if i not in can and i not in GPU_IMPLS]
    if missing:
        raise ValueError(f"{missing} cannot run here (not installed)")
    not_measured = [{"impl": i, "reason": "no GPU" if not (gpu.get("cupy") or
                                                           gpu.get("torch_cuda"))
                     else "not available"} for i in GPU_IMPLS if i not in run]
    repeats = repeats or (3 if quick else 7)
    min_time = min_time or (0.3 if quick else 1.0)
    warmup = warmup if warmup is not None else (5 if quick else 20)
    configs = [(m, b) for m in models for b in batches]
    rows = []
    for n in threads:
        rows += measure_threads(n, configs, run, repeats, min_time, warmup, settle_s, seed,
                                verbose, script)
    memory = measure_memory(configs, run, verbose, script) if measure_mem else {}
    for row in rows:
        mem = memory.get((row["model"], row["batch"], row["impl"]), {})
        row["peak_mem_mib"] = mem.get("peak_mem_mib")
        row["peak_rss_mib"] = mem.get("peak_rss_mib")
    add_ratios(rows)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "processor": cpu_name(), "cpus": os.cpu_count(), "quick": quick,
            "date": time.strftime("%Y-%m-%d"), "repeats": repeats, "min_time_s": min_time,
            "warmup_steps": warmup, "settle_s": settle_s, "impls": run,
            "numpy": np.__version__, "versions": versions(), "gpu": gpu, "git": git_state(),
            "method": "one process per implementation, alternating timed blocks in a rotating "
                      "order; medians of the repeats; ratios: medians of paired ratios",
            "key": {"model": KEY[0], "batch": KEY[1], "threads": KEY[2]}}
    return {"rows": rows, "meta": meta, "not_measured": not_measured}


def git_state():
    """The commit the library ran from, "+ changes" when the working tree differs from it."""
    try:
        def git(*args):
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=str(ROOT),
                                  check=True, timeout=10).stdout.strip()
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "vaelite")
        return git("rev-parse", "--short", "HEAD") + (" + changes in vaelite/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def versions():
    """Installed versions of the packages measured (read from metadata, nothing imported)."""
    import importlib.metadata as md
    out = {}
    for pkg in ("numpy", "numba", "torch", "cupy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out
