"""Training throughput of the same VAE under vaelite's NumPy and Numba backends and PyTorch (CPU).

    .venv/bin/python benchmarks/train_throughput.py            # the full table (a few minutes)
    .venv/bin/python benchmarks/train_throughput.py --quick    # one short round (under a minute)
    .venv/bin/python benchmarks/train_throughput.py --json results.json

Every implementation trains the same model on the same data in the same order:

- data: the embedded MNIST subset (``vaelite.data.load_mnist()``), minibatches drawn by one
  seeded permutation per epoch, dynamic binarization ``x_bin = (u < x)`` with ``u`` from the same
  NumPy generator, eps ~ N(0, I) from that generator too (so all three see identical numbers);
- model: encoder 784-[hidden]-2*latent, decoder latent-[hidden reversed]-784, ReLU, Bernoulli
  decoder on logits, the vaelite loss convention (sum over pixels and latents, mean over the
  batch), float32; PyTorch starts from vaelite's initial weights (vaelite's Linear uses
  PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)));
- optimizer: Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8 (``torch.optim.Adam`` defaults; the
  ``pytorch-fused`` row is the same with ``fused=True``, PyTorch's fastest CPU Adam).

A timed step includes drawing the batch, binarizing it, the forward and backward passes and the
Adam update. The implementations run back to back, alternating, in one process per thread
count (the thread count is fixed through the environment before NumPy, Numba or PyTorch load,
and ``torch.set_num_threads``); every figure is the median over the repeats.

The GEMM bound: the matrix products of one training step (forward x W; weight gradients x^T dy;
input gradients dy W^T for every layer but the first, whose input is data) are timed alone with
NumPy's BLAS on the same shapes; bound = batch / (their time). The ratio "of GEMM bound" says how
close an implementation gets to doing nothing but those products.

After the same number of steps, every trained model is scored by the same code (vaelite, NumPy
backend) on the same statically binarized test images with the same eps: the final negative
ELBO, which must agree across implementations (speed is not bought with another computation).

The last line printed is the key figure. Import this file by path to rerun it from a notebook::

    import importlib.util
    spec = importlib.util.spec_from_file_location("tt", "benchmarks/train_throughput.py")
    tt = importlib.util.module_from_spec(spec); spec.loader.exec_module(tt)
    results = tt.run_benchmark(quick=True)        # a dict, also what --json writes
    print(tt.format_table(results))
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = {"784-400-20": ((400,), 20), "784-512-256-32": ((512, 256), 32)}
IMPLS = ("numpy", "numba", "pytorch", "pytorch-fused")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
LR = 1e-3
KEY = ("784-400-20", 128, 2)  # (model, batch, threads) of the key figure


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


def time_gemms(hidden, latent, batch, repeats=7, min_time=0.2):
    """Median seconds of the matrix products of one training step, NumPy (BLAS), float32."""
    rng = np.random.default_rng(0)
    ops = []
    for i, (n_in, n_out) in enumerate(layer_shapes(hidden, latent)):
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
# Trainers: each holds a model, an optimizer and its own seeded generator; step() trains one
# minibatch. The generators are consumed in the same order by all of them.

class Batches:
    """Minibatches of the training images in a seeded random order, reshuffled every epoch."""

    def __init__(self, x, batch, rng):
        self.x, self.batch, self.rng = x, batch, rng
        self.order, self.pos = None, len(x)

    def next(self):
        if self.pos + self.batch > len(self.x):
            self.order, self.pos = self.rng.permutation(len(self.x)), 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return self.x[idx]


class VaeliteTrainer:
    def __init__(self, backend, hidden, latent, batch, x_train, seed):
        import vaelite
        from vaelite.kernels.binarize import binarize

        self.vaelite, self.backend, self.binarize = vaelite, backend, binarize
        self.model = vaelite.VAE(hidden=hidden, latent_dim=latent, seed=seed)
        self.opt = vaelite.Adam(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(seed)
        self.batches = Batches(x_train, batch, self.rng)
        self.steps = 0

    def step(self):
        x = self.batches.next()
        u = self.rng.random(x.shape, dtype=np.float32)
        parts = self.model.loss_and_grads(self.binarize(x, u), self.rng)
        self.opt.step()
        self.steps += 1
        return parts["loss"]

    def run(self, n):
        with self.vaelite.use_backend(self.backend):
            for _ in range(n):
                loss = self.step()
        return loss

    def weights(self):
        """[(W, b), ...] in vaelite's layout, encoder then decoder."""
        layers = [l for mlp in (self.model.encoder, self.model.decoder) for l in mlp.layers
                  if "W" in l.params]
        return [(l.params["W"].copy(), l.params["b"].copy()) for l in layers]


class TorchTrainer:
    """The same VAE written with torch.nn and autograd."""

    def __init__(self, hidden, latent, batch, x_train, seed, fused=False):
        import torch
        from torch import nn

        import vaelite

        self.torch, self.latent = torch, latent
        init = vaelite.VAE(hidden=hidden, latent_dim=latent, seed=seed)  # same initial weights

        def mlp(sizes):
            layers = []
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                layers.append(nn.Linear(n_in, n_out))
                if i < len(sizes) - 2:
                    layers.append(nn.ReLU())
            return nn.Sequential(*layers)

        self.encoder = mlp([784, *hidden, 2 * latent])
        self.decoder = mlp([latent, *hidden[::-1], 784])
        with torch.no_grad():
            src = [l for m in (init.encoder, init.decoder) for l in m.layers if "W" in l.params]
            dst = [l for m in (self.encoder, self.decoder) for l in m if isinstance(l, nn.Linear)]
            for s, d in zip(src, dst):
                d.weight.copy_(torch.from_numpy(s.params["W"].T.copy()))
                d.bias.copy_(torch.from_numpy(s.params["b"]))
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.opt = torch.optim.Adam(params, lr=LR, fused=fused or None)
        self.rng = np.random.default_rng(seed)
        self.batches = Batches(x_train, batch, self.rng)
        self.steps = 0

    def step(self):
        torch = self.torch
        x = self.batches.next()
        u = self.rng.random(x.shape, dtype=np.float32)
        xb = torch.from_numpy((u < x).astype(np.float32))
        eps = torch.from_numpy(self.rng.standard_normal((x.shape[0], self.latent),
                                                        dtype=np.float32))
        h = self.encoder(xb)
        mu, logvar = h[:, :self.latent], h[:, self.latent:]
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decoder(z)
        batch = x.shape[0]
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, xb,
                                                                     reduction="sum") / batch
        kl = 0.5 * torch.sum(mu * mu + torch.expm1(logvar) - logvar) / batch
        loss = recon + kl
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps += 1
        return loss

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss.detach())

    def weights(self):
        from torch import nn
        layers = [l for m in (self.encoder, self.decoder) for l in m if isinstance(l, nn.Linear)]
        return [(l.weight.detach().numpy().T.copy(), l.bias.detach().numpy().copy())
                for l in layers]


def negative_elbo(weights, hidden, latent, x_test, seed=123):
    """The negative ELBO (nats per image) of trained weights, scored by vaelite (NumPy backend)
    on statically binarized test images with a fixed eps: the same code for every trainer."""
    import vaelite

    model = vaelite.VAE(hidden=hidden, latent_dim=latent)
    layers = [l for m in (model.encoder, model.decoder) for l in m.layers if "W" in l.params]
    for layer, (w, b) in zip(layers, weights):
        layer.params["W"][...] = w
        layer.params["b"][...] = b
    rng = np.random.default_rng(seed)
    x = (rng.random(x_test.shape, dtype=np.float32) < x_test).astype(np.float32)
    eps = rng.standard_normal((len(x), latent), dtype=np.float32)
    with vaelite.use_backend("numpy"):
        return model.loss(x, eps=eps)["loss"]


# ---------------------------------------------------------------------------------------------
# Memory: the peak resident set of the process during a training run, minus the resident set
# before it (Linux: /proc/self/clear_refs resets the peak). Falls back to ru_maxrss.

def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss():
    """Reset the peak RSS counter; return the current RSS in MiB (None if unsupported)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmRSS") / 1024
    except OSError:
        return None


def peak_rss_mib():
    try:
        return _status_kib("VmHWM") / 1024
    except (OSError, KeyError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# One worker process per thread count runs every configuration.

def load_data():
    """(x_train, x_test, source): the embedded MNIST subset, or random data of the same shape."""
    try:
        from vaelite.data import load_mnist
        d = load_mnist()
        return d.x_train, d.x_test[:500], "mnist-subset (vaelite.data.load_mnist)"
    except Exception as err:  # the data module is optional for a throughput figure
        rng = np.random.default_rng(0)
        x = rng.random((5000, 784), dtype=np.float32) * (rng.random((5000, 784)) < 0.2)
        return x[:4500], x[4500:], f"random (load_mnist failed: {err})"


def make_trainer(impl, hidden, latent, batch, x_train, seed):
    if impl in ("numpy", "numba"):
        return VaeliteTrainer(impl, hidden, latent, batch, x_train, seed)
    return TorchTrainer(hidden, latent, batch, x_train, seed, fused=impl == "pytorch-fused")


def worker(threads, configs, impls, repeats, min_time, warmup, seed=0):
    """Measure every (model, batch) in ``configs`` with ``threads`` threads; returns rows."""
    x_train, x_test, source = load_data()
    if any(i.startswith("pytorch") for i in impls):
        import torch
        torch.set_num_threads(threads)
    first_call_s = {}
    for impl in impls:  # compile (numba) and lazy initialisation (torch) outside the figures
        t0 = time.perf_counter()
        make_trainer(impl, (16,), 4, 8, x_train, seed).run(2)
        first_call_s[impl] = time.perf_counter() - t0
    rows = []
    for model_name, batch in configs:
        hidden, latent = MODELS[model_name]
        t_gemm = time_gemms(hidden, latent, batch)
        flops = gemm_flops(hidden, latent, batch)
        trainers = {}
        for impl in impls:
            trainers[impl] = make_trainer(impl, hidden, latent, batch, x_train, seed)
            trainers[impl].run(warmup)
        # steps per timed block: about min_time seconds of the slowest implementation
        per_block = {}
        for impl, tr in trainers.items():
            t0 = time.perf_counter()
            tr.run(3)
            per_block[impl] = (time.perf_counter() - t0) / 3
        n_steps = max(5, int(min_time / max(per_block.values())))
        times = {impl: [] for impl in impls}
        load_before = os.getloadavg()[0]
        for r in range(repeats):  # alternate, in a rotating order
            order = impls[r % len(impls):] + impls[:r % len(impls)]
            for impl in order:
                t0 = time.perf_counter()
                trainers[impl].run(n_steps)
                times[impl].append((time.perf_counter() - t0) / n_steps)
        for impl in impls:
            tr = trainers[impl]
            t = statistics.median(times[impl])
            rows.append({
                "model": model_name, "batch": batch, "threads": threads, "impl": impl,
                "samples_per_s": batch / t, "step_ms": 1e3 * t,
                "samples_per_s_repeats": [batch / s for s in times[impl]],
                "gemm_bound_samples_per_s": batch / t_gemm,
                "gemm_gflops": flops / t_gemm / 1e9, "gemm_flops_per_step": flops,
                "steps": tr.steps,
                "first_call_s": first_call_s[impl],
                "final_neg_elbo": negative_elbo(tr.weights(), hidden, latent, x_test),
                "data": source,
                "loadavg_1min": [load_before, os.getloadavg()[0]],  # other work on the machine
            })
        del trainers
    return rows


_FIRST_STEP = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import vaelite
from vaelite.kernels.binarize import binarize
t1 = time.perf_counter()
vaelite.set_backend(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.random((128, 784), dtype=np.float32)
model = vaelite.VAE(hidden=(400,), latent_dim=20)
opt = vaelite.Adam(model.parameters())
steps = []
for _ in range(3):
    t = time.perf_counter()
    model.loss_and_grads(binarize(x, rng.random(x.shape, dtype=np.float32)), rng)
    opt.step()
    steps.append(time.perf_counter() - t)
print(json.dumps({"import_s": t1 - t0, "first_step_s": steps[0], "later_step_s": steps[-1],
                  "numba_imported": "numba" in sys.modules}))
"""


def measure_first_call(backends=("numpy", "numba"), verbose=True):
    """Seconds to import vaelite and to run the first training step (784-400-20, batch 128) in a
    fresh process: for numba once with an empty kernel cache (compiles every kernel the step
    uses) and once with the cache that run left (loads the machine code)."""
    import tempfile
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        runs = [(b, None) for b in backends if b != "numba"]
        if "numba" in backends:
            runs += [("numba", "cold cache"), ("numba", "warm cache")]
        for backend, label in runs:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, VAELITE_BACKEND="numpy")
            if verbose:
                print(f"[first call] {backend} {label or ''}", file=sys.stderr, flush=True)
            res = subprocess.run([sys.executable, "-c", _FIRST_STEP, backend], env=env,
                                 capture_output=True, text=True, cwd=str(ROOT), check=True)
            out[backend + (f" ({label})" if label else "")] = json.loads(res.stdout)
    return out


def format_first_call(first):
    lines = [f"{'backend':<22} {'import vaelite':>14} {'first step':>10} {'later step':>10}"]
    for name, r in first.items():
        lines.append(f"{name:<22} {r['import_s']:>13.2f}s {r['first_step_s']:>9.2f}s "
                     f"{1e3 * r['later_step_s']:>8.1f}ms")
    return "\n".join(lines)


def memory_worker(impl, model_name, batch, steps=10, seed=0):
    """In a fresh process: the growth of the peak resident set while building the model and
    optimizer and training ``steps`` steps, after imports, data and compilation (MiB)."""
    x_train, _, _ = load_data()
    make_trainer(impl, (16,), 4, 8, x_train, seed).run(2)  # imports, compile, lazy init
    base = reset_peak_rss()
    hidden, latent = MODELS[model_name]
    make_trainer(impl, hidden, latent, batch, x_train, seed).run(steps)
    peak = peak_rss_mib()
    return {"peak_mem_mib": None if base is None else peak - base, "peak_rss_mib": peak}


def measure_memory(configs, impls, verbose=True):
    """{(model, batch, impl): memory_worker(...)}, each in its own process (1 thread)."""
    out = {}
    env = dict(os.environ, **{k: "1" for k in THREAD_ENV})
    for model_name, batch in configs:
        for impl in impls:
            if verbose:
                print(f"[memory] {model_name} batch {batch} {impl}", file=sys.stderr, flush=True)
            spec = json.dumps({"impl": impl, "model": model_name, "batch": batch})
            res = subprocess.run([sys.executable, __file__, "--worker-mem", spec], env=env,
                                 capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise RuntimeError(f"memory worker failed:\n{res.stderr[-4000:]}")
            out[(model_name, batch, impl)] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info()]
    except ImportError:
        return None


def run_benchmark(quick=False, threads=(1, 2), models=tuple(MODELS), batches=(128, 512),
                  impls=None, repeats=None, min_time=None, verbose=True, measure_mem=True):
    """Run the benchmark (one subprocess per thread count) and return a JSON-ready dict:
    {"rows": [...], "meta": {...}}. ``quick``: fewer repeats and shorter timed blocks."""
    if impls is None:
        try:
            import importlib.util
            has_torch = importlib.util.find_spec("torch") is not None
        except ValueError:
            has_torch = False
        impls = [i for i in IMPLS if has_torch or not i.startswith("pytorch")]
    repeats = repeats or (3 if quick else 7)
    min_time = min_time or (0.3 if quick else 1.0)
    warmup = 5 if quick else 20
    configs = [(m, b) for m in models for b in batches]
    rows = []
    for n in threads:
        env = dict(os.environ)
        env.update({k: str(n) for k in THREAD_ENV})
        spec = json.dumps({"threads": n, "configs": configs, "impls": list(impls),
                           "repeats": repeats, "min_time": min_time, "warmup": warmup})
        if verbose:
            print(f"[{n} thread(s)] measuring {len(configs)} configurations x {len(impls)} "
                  f"implementations ...", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--worker", spec], env=env,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"benchmark worker failed ({n} threads):\n{out.stderr[-4000:]}")
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    memory = measure_memory(configs, impls, verbose) if measure_mem else {}
    for row in rows:
        mem = memory.get((row["model"], row["batch"], row["impl"]), {})
        row["peak_mem_mib"] = mem.get("peak_mem_mib")
        row["peak_rss_mib"] = mem.get("peak_rss_mib")
        ref = [r for r in rows if (r["model"], r["batch"], r["threads"], r["impl"])
               == (row["model"], row["batch"], row["threads"], "pytorch")]
        row["ratio_to_pytorch"] = row["samples_per_s"] / ref[0]["samples_per_s"] if ref else None
        row["ratio_to_gemm_bound"] = row["samples_per_s"] / row["gemm_bound_samples_per_s"]
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "processor": _cpu_name(), "cpus": os.cpu_count(), "quick": quick,
            "repeats": repeats, "min_time_s": min_time, "impls": list(impls),
            "numpy": np.__version__, "versions": _versions(), "blas": _blas_info(),
            "key": {"model": KEY[0], "batch": KEY[1], "threads": KEY[2]}}
    return {"rows": rows, "meta": meta}


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _versions():
    import importlib.metadata as md
    out = {}
    for pkg in ("numpy", "numba", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def key_ratio(results):
    """numba / pytorch samples/s at the key configuration, or None."""
    m, b, t = KEY
    get = {r["impl"]: r for r in results["rows"]
           if (r["model"], r["batch"], r["threads"]) == (m, b, t)}
    if "numba" in get and "pytorch" in get:
        return get["numba"]["samples_per_s"] / get["pytorch"]["samples_per_s"]
    return None


SUMMARY_COLUMNS = ("model", "batch", "threads", "impl", "samples_per_s", "ratio_to_pytorch",
                   "ratio_to_gemm_bound", "peak_mem_mib", "final_neg_elbo")


def summary_rows(results, columns=SUMMARY_COLUMNS):
    """The rows with the columns a reader needs, rounded: a list of dicts (for a book table,
    e.g. ``pandas.DataFrame(summary_rows(results))``)."""
    def rnd(v):
        return round(v, 2) if isinstance(v, float) else v
    return [{c: rnd(r.get(c)) for c in columns} for r in results["rows"]]


def format_table(results):
    """The results as a plain-text table (one line per implementation and configuration)."""
    head = (f"{'model':<15} {'batch':>5} {'thr':>3} {'impl':<14} {'samples/s':>10} "
            f"{'step ms':>8} {'/pytorch':>8} {'/GEMM bnd':>9} {'GEMM bnd':>9} {'GF/s':>6} "
            f"{'+MiB':>5} {'RSS MiB':>7} {'-ELBO':>8}")
    lines = [head, "-" * len(head)]
    for r in results["rows"]:
        ratio = f"{r['ratio_to_pytorch']:.2f}" if r.get("ratio_to_pytorch") else "-"
        mem = f"{r['peak_mem_mib']:.0f}" if r.get("peak_mem_mib") is not None else "-"
        rss = f"{r['peak_rss_mib']:.0f}" if r.get("peak_rss_mib") is not None else "-"
        lines.append(f"{r['model']:<15} {r['batch']:>5} {r['threads']:>3} {r['impl']:<14} "
                     f"{r['samples_per_s']:>10.0f} {r['step_ms']:>8.2f} {ratio:>8} "
                     f"{r['ratio_to_gemm_bound']:>9.2f} {r['gemm_bound_samples_per_s']:>9.0f} "
                     f"{r['gemm_gflops']:>6.1f} {mem:>5} {rss:>7} {r['final_neg_elbo']:>8.2f}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one short round (about a minute)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    p.add_argument("--impls", nargs="+", choices=IMPLS, help="default: all installed")
    p.add_argument("--repeats", type=int, help="alternating repeats (median reported)")
    p.add_argument("--no-first-call", action="store_true",
                   help="skip measuring the first-call (compile) cost in fresh processes")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-mem", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker_mem:
        spec = json.loads(args.worker_mem)
        print(json.dumps(memory_worker(spec["impl"], spec["model"], spec["batch"])))
        return
    if args.worker:
        spec = json.loads(args.worker)
        rows = worker(spec["threads"], [tuple(c) for c in spec["configs"]], spec["impls"],
                      spec["repeats"], spec["min_time"], spec["warmup"])
        print(json.dumps(rows))
        return
    first = None if args.no_first_call else measure_first_call()
    results = run_benchmark(args.quick, tuple(args.threads), tuple(args.models),
                            tuple(args.batches), args.impls, args.repeats)
    results["first_call"] = first
    meta = results["meta"]
    print(f"CPU: {meta['processor']} ({meta['cpus']} cores); versions: {meta['versions']}")
    print(f"data: {results['rows'][0]['data']}; float32; Adam lr {LR}; "
          f"median of {meta['repeats']} alternating repeats")
    print(format_table(results))
    if first:
        print("\nfirst call in a fresh process (784-400-20, batch 128; numba compiles on first use):")
        print(format_first_call(first))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")
    ratio = key_ratio(results)
    m, b, t = KEY
    print(f"numba/pytorch samples/s ratio ({m}, batch {b}, {t} threads): "
          + (f"{ratio:.2f}" if ratio is not None else "n/a (PyTorch or that configuration "
                                                       "was not measured)"))


if __name__ == "__main__":
    main()
