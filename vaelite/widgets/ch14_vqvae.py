"""Helpers, figures and the widget of chapter 14 (book/14_vqvae.ipynb): the VQ-VAE and an
autoregressive prior over its codes.

- **training**: ``SETTINGS`` (the same encoder width, epochs, minibatch and learning rate as
  chapter 11's Gaussian VAE, so the two get a similar budget), ``train_vqvae`` and
  ``CodeUsage`` (a ``fit`` callback recording how many codes are used, and their perplexity,
  after every epoch);
- **the straight-through estimator**: ``as_float64`` (a float64 twin of a trained model, for
  finite differences) and ``recon_at`` (the reconstruction loss for given decoder inputs);
- **the MADE prior**: ``all_codes`` (every code sequence of a tiny case, for brute-force sums),
  ``dependence`` (which output block reacts to which input position, by perturbation),
  ``independent_nll`` (the baseline prior with independent positions) and ``conditional``
  (p(c_i | c_<i) as probabilities);
- **figures**: ``draw_usage``, ``draw_masks``, ``draw_image_rows`` (chapter 8's) and the
  widget's ``sampling_steps`` / ``draw_sampling_step`` (sampling one position at a time).
"""
import itertools
import time

import numpy as np

from .. import checks
from ..backends import current
from ..models import MODELS, VQVAE
from ..optim import Adam
from ..plot import IMAGE_KW, Figure, tile_images
from ..train import fit, reinit_dead_codes
from .ch08_training import draw_image_rows
from .ch11_limits import SETTINGS as VAE_SETTINGS

__all__ = ["SETTINGS", "train_vqvae", "CodeUsage", "as_float64", "recon_at", "all_codes",
           "dependence", "independent_nll", "conditional", "sampling_steps",
           "draw_usage", "draw_masks", "draw_image_rows", "draw_sampling_step"]

# the chapter's VQ-VAE: chapter 11's encoder width, epochs, minibatch and learning rate, with
# 8 code vectors of 8 numbers per image, each snapped to one of 32 codes; its MADE prior
SETTINGS = {**{k: VAE_SETTINGS[k] for k in ("hidden", "epochs", "batch_size", "lr")},
            "positions": 8, "code_dim": 8, "n_codes": 32, "prior_hidden": (128,),
            "prior_epochs": 15}
USAGE_IMAGES = 1000  # training images on which code usage is measured and dead codes revived


# --------------------------------------------------------------------------- training

class CodeUsage:
    """A ``fit`` callback: how the images x use the codebook, before training (``start``) and
    after every epoch: ``epochs``, ``used`` (codes chosen at least once) and ``perplexity``
    (lists, epoch 0 first once ``start`` was called)."""

    def __init__(self, x):
        self.x = np.asarray(x)
        self.epochs, self.used, self.perplexity = [], [], []

    def start(self, model):
        self(0, model, None)

    def __call__(self, epoch, model, history):
        stats = model.code_statistics(self.x)
        self.epochs.append(epoch)
        self.used.append(stats["used_codes"])
        self.perplexity.append(stats["perplexity"])


def train_vqvae(x_train, *, revive=True, seed=0, test_data=None, **settings):
    """Train the chapter's VQ-VAE (``SETTINGS``, overridable by keyword) on x_train (n, 784),
    with dynamic binarization; with ``revive``, dead codes are moved onto encoder outputs after
    every epoch but the last (``vaelite.train.reinit_dead_codes``), after ``usage`` has recorded
    the epoch. The prior is not trained here.

    Returns (model, history, usage: a CodeUsage on the first USAGE_IMAGES training images,
    seconds of training).
    """
    s = {**SETTINGS, **settings}
    model = VQVAE(input_dim=np.shape(x_train)[1], hidden=s["hidden"], positions=s["positions"],
                  code_dim=s["code_dim"], n_codes=s["n_codes"],
                  prior_hidden=s["prior_hidden"], seed=seed)
    optimizer = Adam(model.parameters(), lr=s["lr"])
    usage = CodeUsage(x_train[:USAGE_IMAGES])
    usage.start(model)
    # usage first: it records what each epoch's training left, before any revival; no revival
    # after the last epoch, so the model returned is the one the last test numbers describe
    callbacks = [usage]
    if revive:
        callbacks.append(reinit_dead_codes(x_train[:USAGE_IMAGES], optimizer, seed=seed,
                                           last_epoch=s["epochs"] - 1))
    start = time.perf_counter()
    history = fit(model, x_train, s["epochs"], s["batch_size"], optimizer, seed=seed,
                  test_data=test_data, progress=False, callbacks=callbacks)
    return model, history, usage, time.perf_counter() - start


# --------------------------------------------------------------------------- straight-through

def as_float64(model):
    """A float64 twin of a model (same config, its parameters copied): for finite differences,
    which need float64 (see ``vaelite.gradcheck``). For a VQ-VAE the prior is not copied."""
    config = dict(model.config())
    twin = MODELS[config.pop("model")](**{**config, "dtype": np.float64})
    backend = current()
    for (name, p, _), (other, q, _) in zip(twin.parameters(), model.parameters()):
        assert name == other, (name, other)
        p[...] = backend.asarray(backend.to_host(q), dtype=np.float64)
    return twin


def recon_at(model, x, z):
    """The reconstruction loss -log p(x | z) (nats per image, mean over the batch) for decoder
    inputs z (batch, positions, code_dim) or (batch, positions * code_dim): a float."""
    z = current().xp.reshape(z, (np.shape(x)[0], -1))
    return float(model.likelihood.nll(model.decoder.forward(z), x)[0])


# --------------------------------------------------------------------------- the MADE prior

def all_codes(n_positions, n_codes):
    """Every code sequence: (n_codes ** n_positions, n_positions) int64, in lexicographic
    order (the first position varies slowest)."""
    n_positions = checks.integer(n_positions, "n_positions")
    n_codes = checks.integer(n_codes, "n_codes")
    return np.array(list(itertools.product(range(n_codes), repeat=n_positions)),
                    dtype=np.int64)


def dependence(prior, codes, rng):
    """Which output block depends on which input position, found by perturbation.

    For every position j, each code of ``codes`` (batch, D) gets a different random index at
    position j; entry [i, j] of the result (D, D) is the largest change, over the batch, of the
    logits of output block i (the conditional p(c_i | ...)). For a MADE it is exactly 0 for
    j >= i: output i depends only on positions before i.
    """
    codes = prior.check_codes(codes)
    rng = checks.generator(rng)
    backend = current()
    base = backend.to_host(prior.logits(codes)).astype(np.float64)
    n_positions = codes.shape[1]
    out = np.zeros((n_positions, n_positions))
    for j in range(n_positions):
        changed = codes.copy()
        shift = rng.integers(1, prior.n_codes, size=len(codes))  # never 0: a different code
        changed[:, j] = (codes[:, j] + shift) % prior.n_codes
        moved = backend.to_host(prior.logits(changed)).astype(np.float64)
        out[:, j] = np.abs(moved - base).max(axis=(0, 2))
    return out


def independent_nll(codes_train, codes_test, n_codes, pseudo=1.0):
    """The baseline prior with independent positions, p(c) = prod_i p_i(c_i), each p_i the
    code frequencies at position i in codes_train (with ``pseudo`` counts added to every code,
    so an unseen code is not impossible). Returns the mean -log p(c) of codes_test (nats)."""
    codes_train, codes_test = np.asarray(codes_train), np.asarray(codes_test)
    counts = np.stack([np.bincount(col, minlength=n_codes) for col in codes_train.T]) + pseudo
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))  # (positions, n_codes)
    return float(-np.mean(log_p[np.arange(codes_test.shape[1]), codes_test].sum(axis=1)))


def conditional(prior, codes, i):
    """p(c_i | c_<i) for each row of codes (batch, D): (batch, n_codes) float64 NumPy."""
    logits = current().to_host(prior.logits(codes)[:, i, :]).astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def sampling_steps(model, n=8, seed=0):
    """The widget's frames: one code drawn from model.prior position by position, and at every
    step s = 0..D the state of the draw. Returns a list of D + 1 dicts: "step" s, "prefix" (the
    first s positions of the drawn code), "completions" (n images: the prefix completed by the
    prior, decoded), "p" (p(c_s | prefix), (n_codes,), None at s = D) and "chosen" (the drawn
    c_s, None at s = D)."""
    rng = np.random.default_rng(seed)
    prior = model.prior
    code = prior.sample(1, rng)[0]
    frames = []
    for s in range(prior.n_positions + 1):
        done = s == prior.n_positions
        frames.append({
            "step": s, "prefix": code[:s],
            "completions": model.decode_indices(prior.sample(n, rng, prefix=code[:s])),
            "p": None if done else conditional(prior, code[None, :], s)[0],
            "chosen": None if done else int(code[s])})
    return frames


# --------------------------------------------------------------------------- figures

def draw_usage(usages):
    """Codes in use and perplexity over the epochs, one line per run. usages: {label:
    CodeUsage}."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label, u in usages.items():
        ax1.plot(u.epochs, u.used, "o-", ms=3, label=label)
        ax2.plot(u.epochs, u.perplexity, "o-", ms=3, label=label)
    ax1.set(xlabel="epoch", ylabel="codes used (of the codebook)",
            title="codes chosen at least once")
    ax2.set(xlabel="epoch", ylabel="perplexity", title="perplexity of the code usage")
    ax1.legend(fontsize=8)
    return fig


def draw_masks(masks, dependence_matrix):
    """A tiny MADE: its masks (one panel per layer, white = connected) and, last, the
    dependence of each output block on each input position found by perturbation."""
    fig = Figure(figsize=(3.0 * (len(masks) + 1), 3.2), layout="constrained")
    axes = fig.subplots(1, len(masks) + 1)
    for k, (ax, m) in enumerate(zip(axes, masks)):
        ax.imshow(np.asarray(m).T, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        last = k == len(masks) - 1
        ax.set(xlabel="input unit" if k == 0 else "hidden unit",
               ylabel="output unit" if last else "hidden unit",
               title="output mask" if last else f"mask {k + 1}")
    d = np.asarray(dependence_matrix) > 0
    ax = axes[-1]
    ax.imshow(d, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ticks = np.arange(d.shape[0])
    ax.set_xticks(ticks, ticks + 1)
    ax.set_yticks(ticks, ticks + 1)
    ax.set(xlabel="changed input position j", ylabel="output block i",
           title="output i moves when c_j changes")
    return fig


def draw_sampling_step(frames, step):
    """The widget's frame at ``step``: the completions of the prefix drawn so far (decoded) and
    the distribution of the next position with the drawn code marked."""
    f = frames[step]
    n_positions = len(frames) - 1
    fig = Figure(figsize=(9.5, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.2])
    ax1.imshow(tile_images(f["completions"], -(-len(f["completions"]) // 2)), **IMAGE_KW)
    ax1.set(xticks=[], yticks=[])
    prefix = " ".join(str(c) for c in f["prefix"]) or "nothing yet"
    ax1.set_title(f"{step} of {n_positions} positions drawn ({prefix}):\n"
                  "completed by the prior", fontsize=9)
    if f["p"] is None:
        ax2.axis("off")
        ax2.text(0.5, 0.5, "every position drawn:\nall completions are the same image",
                 ha="center", va="center")
    else:
        colors = np.where(np.arange(len(f["p"])) == f["chosen"], "tab:red", "tab:blue")
        ax2.bar(np.arange(len(f["p"])), f["p"], color=colors)
        ax2.set(xlabel="code index", ylabel="probability",
                title=f"p(c_{step + 1} | first {step}), drawn: {f['chosen']}")
        ax2.title.set_fontsize(9)
    return fig
