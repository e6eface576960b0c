"""The benchmark's workers: each trains ONE implementation, in its own process.

``vaelite.benchmark`` starts this file as a subprocess (with the thread count already in the
environment, so NumPy, Numba and PyTorch load with it) in one of three modes:

    workers.py serve IMPL THREADS        a long-lived worker, driven over stdin/stdout (below)
    workers.py memory IMPL MODEL BATCH   the growth of the peak resident set of a short run
    workers.py first-call BACKEND        import vaelite and run the first training steps

IMPL: "numpy", "numba" or "cupy" (vaelite with that backend), "pytorch" (torch.optim.Adam),
"pytorch-fused" (Adam(fused=True)) or "pytorch-cuda" (PyTorch on the GPU).

The serve protocol: one JSON object per line each way. On start the worker imports its
framework, loads the data, trains a tiny model for two steps (compilation, lazy initialisation)
and says {"pid", "first_call_s", "data", "info"}. Then, per command:

    {"cmd": "setup", "hidden", "latent", "batch", "warmup", "seed"}  -> {"step_s"}  build, warm up
    {"cmd": "run", "steps"}     -> {"seconds", "loss"}     the timed block (includes the sync)
    {"cmd": "losses", "steps"}  -> {"losses"}              the loss of every step (for tests)
    {"cmd": "gemm", "hidden", "latent", "batch"} -> {"seconds"}   the GEMM bound's products
    {"cmd": "profile", "steps", "repeats"} -> vaelite.benchmark.profile_step's dict (vaelite only)
    {"cmd": "finish"}           -> {"steps", "final_neg_elbo"}
    {"cmd": "quit"}

What every trainer does per step: draw the next minibatch (a seeded random order, reshuffled
every epoch), binarize it dynamically (x_bin ~ Bernoulli(x)), draw eps ~ N(0, I), the forward
and backward passes of the VAE (encoder 784-[hidden]-2*latent, decoder latent-[hidden
reversed]-784, ReLU, Bernoulli decoder on logits; the loss summed over pixels and latents,
averaged over the batch; float32) and the Adam update (lr 1e-3, betas (0.9, 0.999), eps 1e-8).
vaelite draws its noise with NumPy's generator through ``current().binarize`` and the model;
PyTorch draws its own with a ``torch.Generator`` on its device (its ordinary way), so both start
from the same weights (vaelite's init) but see different noise: their final negative ELBOs agree
to a nat or two, not exactly. Every trained model is scored by the same code (vaelite, NumPy
backend, fixed test images and eps).
"""
import json
import os
import sys
import time

_T_START = time.perf_counter()  # for first-call: the imports below are part of that cost

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

LR = 1e-3
VAELITE_IMPLS = {"numpy": "numpy", "numba": "numba", "cupy": "cupy"}
TORCH_IMPLS = {"pytorch": ("cpu", False), "pytorch-fused": ("cpu", True),
               "pytorch-cuda": ("cuda", False)}


class Batches:
    """Minibatch indices in a seeded random order, reshuffled every epoch."""

    def __init__(self, n, batch, rng):
        self.n, self.batch, self.rng = n, batch, rng
        self.order, self.pos = None, n

    def next(self):
        if self.pos + self.batch > self.n:
            self.order, self.pos = self.rng.permutation(self.n), 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


def linear_weights(model):
    """[(W, b), ...] of a vaelite model's Linear layers as host arrays, encoder then decoder,
    W of shape (in, out); read from ``model.parameters()`` by name ("encoder.0.W")."""
    from vaelite.backends import current

    layers = {}
    for name, param, _ in model.parameters():
        prefix, kind = name.rsplit(".", 1)
        if prefix.startswith(("encoder.", "decoder.")) and kind in ("W", "b"):
            layers.setdefault(prefix, {})[kind] = current().to_host(param).copy()
    return [(p["W"], p["b"]) for p in layers.values()]


def load_linear_weights(model, weights):
    """Write [(W, b), ...] (host arrays, as ``linear_weights`` returns) into a vaelite model."""
    from vaelite.backends import current

    params = {name: param for name, param, _ in model.parameters()}
    prefixes = list(dict.fromkeys(n.rsplit(".", 1)[0] for n in params
                                  if n.startswith(("encoder.", "decoder."))))
    assert len(prefixes) == len(weights), (prefixes, len(weights))
    for prefix, (w, b) in zip(prefixes, weights):
        params[prefix + ".W"][...] = current().asarray(w)
        params[prefix + ".b"][...] = current().asarray(b)


class VaeliteTrainer:
    """vaelite's VAE and Adam under one backend (this process uses no other)."""

    def __init__(self, backend, hidden, latent, batch, x_train, seed):
        import vaelite
        from vaelite.backends import current

        vaelite.set_backend(backend)
        self.xp = current()
        self.model = vaelite.VAE(hidden=tuple(hidden), latent_dim=latent, seed=seed)
        self.opt = vaelite.Adam(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(seed)  # batch order, binarization noise and eps
        self.x = self.xp.asarray(x_train)  # on the backend's device, once
        self.batches = Batches(len(x_train), batch, self.rng)
        self.steps = 0

    def step(self):
        x = self.x[self.xp.asarray(self.batches.next())]
        parts = self.model.loss_and_grads(self.xp.binarize(x, self.rng), self.rng)
        self.opt.step()
        self.steps += 1
        return parts["loss"]  # a Python float: the step has finished, also on a GPU

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss)

    def weights(self):
        return linear_weights(self.model)


class TorchTrainer:
    """The same VAE with torch.nn and autograd, started from vaelite's initial weights."""

    def __init__(self, hidden, latent, batch, x_train, seed, fused=False, device="cpu"):
        import torch
        from torch import nn

        import vaelite
        from vaelite.backends import use_backend

        self.torch, self.latent, self.batch, self.device = torch, latent, batch, device
        with use_backend("numpy"):
            init = linear_weights(vaelite.VAE(hidden=tuple(hidden), latent_dim=latent,
                                              seed=seed))

        def mlp(sizes):
            layers = []
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                layers.append(nn.Linear(n_in, n_out))
                if i < len(sizes) - 2:
                    layers.append(nn.ReLU())
            return nn.Sequential(*layers)

        self.encoder = mlp([784, *hidden, 2 * latent]).to(device)
        self.decoder = mlp([latent, *hidden[::-1], 784]).to(device)
        with torch.no_grad():
            for (w, b), d in zip(init, self.linears()):
                d.weight.copy_(torch.from_numpy(w.T.copy()))
                d.bias.copy_(torch.from_numpy(b))
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.opt = torch.optim.Adam(params, lr=LR, fused=True if fused else None)
        self.gen = torch.Generator(device=device).manual_seed(seed)  # batch order and noise
        self.x = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32)).to(device)
        self.order, self.pos = None, len(x_train)
        self.steps = 0

    def linears(self):
        from torch import nn
        return [l for m in (self.encoder, self.decoder) for l in m if isinstance(l, nn.Linear)]

    def step(self):
        torch, F = self.torch, self.torch.nn.functional
        n = self.x.shape[0]
        if self.pos + self.batch > n:
            self.order = torch.randperm(n, generator=self.gen, device=self.device)
            self.pos = 0
        x = self.x[self.order[self.pos:self.pos + self.batch]]
        self.pos += self.batch
        # dynamic binarization; on the CPU about twice as fast as torch.bernoulli(x, generator)
        xb = (torch.rand(x.shape, generator=self.gen, device=self.device) < x).to(x.dtype)
        eps = torch.randn((self.batch, self.latent), generator=self.gen, device=self.device)
        h = self.encoder(xb)
        mu, logvar = h[:, :self.latent], h[:, self.latent:]
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decoder(z)
        recon = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / self.batch
        kl = 0.5 * torch.sum(mu * mu + torch.expm1(logvar) - logvar) / self.batch
        loss = recon + kl
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps += 1
        return loss

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss.detach())  # waits for the device

    def weights(self):
        return [(l.weight.detach().cpu().numpy().T.copy(), l.bias.detach().cpu().numpy().copy())
                for l in self.linears()]


def make_trainer(impl, hidden, latent, batch, x_train, seed):
    if impl in VAELITE_IMPLS:
        return VaeliteTrainer(VAELITE_IMPLS[impl], hidden, latent, batch, x_train, seed)
    if impl in TORCH_IMPLS:
        device, fused = TORCH_IMPLS[impl]
        return TorchTrainer(hidden, latent, batch, x_train, seed, fused=fused, device=device)
    raise ValueError(f"unknown implementation {impl!r}")


def negative_elbo(weights, hidden, latent, x_test, seed=123):
    """The negative ELBO (nats per image) of trained weights, scored by vaelite (NumPy backend)
    on statically binarized test images with a fixed eps: the same code for every trainer."""
    import vaelite
    from vaelite.backends import use_backend

    with use_backend("numpy"):
        model = vaelite.VAE(hidden=tuple(hidden), latent_dim=latent)
        load_linear_weights(model, weights)
        rng = np.random.default_rng(seed)
        x = (rng.random(x_test.shape, dtype=np.float32) < x_test).astype(np.float32)
        eps = rng.standard_normal((len(x), latent), dtype=np.float32)
        return float(model.loss(x, eps=eps)["loss"])


def load_data():
    """(x_train, x_test, source): the embedded MNIST subset, or random data of the same shape."""
    try:
        from vaelite.data import load_mnist
        d = load_mnist()
        return (np.ascontiguousarray(d.x_train, dtype=np.float32), d.x_test[:500],
                "mnist-subset (vaelite.data.load_mnist)")
    except Exception as err:  # the data module is optional for a throughput figure
        rng = np.random.default_rng(0)
        x = rng.random((5000, 784), dtype=np.float32) * (rng.random((5000, 784)) < 0.2)
        return x[:4500], x[4500:], f"random (load_mnist failed: {err})"


def _info(impl, threads):
    info = {"impl": impl, "threads": threads,
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}}
    if impl in TORCH_IMPLS:
        import torch
        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
        if TORCH_IMPLS[impl][0] == "cuda":
            info["device"] = torch.cuda.get_device_name(0)
    return info


def serve(impl, threads):
    """The long-lived worker: replies on the real stdout; everything else printed (by Python or
    by a library's C code) goes to stderr, so it cannot break the protocol."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        if impl in TORCH_IMPLS:
            import torch
            torch.set_num_threads(threads)  # what the environment says too; no other setting
        x_train, x_test, source = load_data()
        t0 = time.perf_counter()
        make_trainer(impl, (16,), 4, 8, x_train, 0).run(2)  # compile / lazy init, untimed
        first_call_s = time.perf_counter() - t0
    except Exception as err:
        import traceback
        reply({"error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}"})
        return
    reply({"pid": os.getpid(), "first_call_s": first_call_s, "data": source,
           "info": _info(impl, threads)})
    trainer = spec = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg.pop("cmd")
        try:
            if cmd == "quit":
                break
            if cmd == "setup":
                spec = msg
                trainer = None
                trainer = make_trainer(impl, msg["hidden"], msg["latent"], msg["batch"],
                                       x_train, msg.get("seed", 0))
                trainer.run(max(1, msg.get("warmup", 5)))
                t0 = time.perf_counter()
                trainer.run(3)
                reply({"step_s": (time.perf_counter() - t0) / 3})
            elif cmd == "run":
                t0 = time.perf_counter()
                loss = trainer.run(msg["steps"])
                reply({"seconds": time.perf_counter() - t0, "loss": loss})
            elif cmd == "losses":
                reply({"losses": [trainer.run(1) for _ in range(msg["steps"])]})
            elif cmd == "gemm":
                from vaelite.benchmark import time_gemms
                reply({"seconds": time_gemms(tuple(msg["hidden"]), msg["latent"], msg["batch"],
                                             repeats=msg.get("repeats", 7))})
            elif cmd == "profile":
                if not isinstance(trainer, VaeliteTrainer):
                    raise ValueError(f"the profile times vaelite's backend primitives; {impl} "
                                     "has none")
                import vaelite
                from vaelite.benchmark import profile_step
                reply({**profile_step(trainer.run, trainer.xp, spec["hidden"], spec["latent"],
                                      spec["batch"], msg.get("steps", 100),
                                      msg.get("repeats", 5)),
                       "library": os.path.dirname(vaelite.__file__)})
            elif cmd == "finish":
                reply({"steps": trainer.steps,
                       "final_neg_elbo": negative_elbo(trainer.weights(), spec["hidden"],
                                                       spec["latent"], x_test)})
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as err:
            import traceback
            reply({"error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}"})


# ---------------------------------------------------------------------------------------------
# Memory: the peak resident set during a short training run minus the resident set before it
# (Linux: /proc/self/clear_refs resets the peak). Falls back to ru_maxrss.

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


def memory(impl, model_name, batch, steps=10, seed=0):
    """In this fresh process: the growth of the peak resident set while building the model and
    optimizer and training ``steps`` steps, after imports, data and compilation (MiB)."""
    from vaelite.benchmark import MODELS

    x_train, _, _ = load_data()
    make_trainer(impl, (16,), 4, 8, x_train, seed).run(2)  # imports, compile, lazy init
    base = reset_peak_rss()
    hidden, latent = MODELS[model_name]
    make_trainer(impl, hidden, latent, batch, x_train, seed).run(steps)
    peak = peak_rss_mib()
    return {"peak_mem_mib": None if base is None else peak - base, "peak_rss_mib": peak}


def first_call(backend):
    """In this fresh process: seconds to import vaelite (with NumPy), and of the first three
    training steps (784-400-20, batch 128) under ``backend``."""
    import vaelite
    from vaelite.backends import current

    t1 = time.perf_counter()
    vaelite.set_backend(backend)
    rng = np.random.default_rng(0)
    x = current().asarray(rng.random((128, 784), dtype=np.float32))
    model = vaelite.VAE(hidden=(400,), latent_dim=20)
    opt = vaelite.Adam(model.parameters())
    steps = []
    for _ in range(3):
        t = time.perf_counter()
        model.loss_and_grads(current().binarize(x, rng), rng)
        opt.step()
        steps.append(time.perf_counter() - t)
    return {"import_s": t1 - _T_START, "first_step_s": steps[0], "later_step_s": steps[-1],
            "numba_imported": "numba" in sys.modules}


def main(argv):
    mode, args = argv[0], argv[1:]
    if mode == "serve":
        serve(args[0], int(args[1]))
    elif mode == "memory":
        print(json.dumps(memory(args[0], args[1], int(args[2]))))
    elif mode == "first-call":
        print(json.dumps(first_call(args[0])))
    else:
        raise SystemExit(f"unknown mode {mode!r}; see the docstring of {__file__}")


if __name__ == "__main__":
    main(sys.argv[1:])
