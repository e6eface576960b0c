"""Helpers, figures and the widget of chapter 12 (book/12_beta_vae.ipynb): beta-VAE and
disentanglement, on the shapes data of ``vaelite.synthetic`` (known factors shape, scale, x, y).

- ``train_sweep``: the chapter's small VAEs, one per beta (``train.beta_sweep``), with the
  rate (KL) and distortion (reconstruction) of each on held-out shapes;
- ``disentanglement``: how the posterior means of a model share out the factors: the
  normalized mutual information I(z_j; v_k) / H(v_k) of every latent dimension and factor,
  the mutual information gap (MIG) and the KL of each dimension;
- ``traversal_codes``, ``traverse``, ``shape_moments`` and ``traversal_effects``: vary one
  latent dimension, decode, and measure what moves (the centroid's x and y, the ink);
- figures: ``draw_mig``, ``draw_information``, ``draw_traversal``; ``draw_setting`` is the
  widget's frame. (The rate-distortion figure is chapter 11's ``draw_rate_distortion``.)

Every ``draw_*`` function returns a matplotlib Figure.
"""
import time

import numpy as np

from .. import checks, evaluate
from ..models import VAE
from ..plot import IMAGE_KW, Figure, tile_images
from ..train import beta_sweep
from .ch11_limits import USED_NATS

__all__ = ["SETTINGS", "train_sweep", "disentanglement", "traversal_codes", "traverse",
           "shape_moments", "traversal_effects", "draw_mig",
           "draw_information", "draw_traversal", "draw_setting"]

# the chapter's small VAE: 256-64-6 encoder, 6-64-256 decoder, about 470 Adam steps a model
SETTINGS = {"hidden": (64,), "latent_dim": 6, "epochs": 10, "batch_size": 64}


def train_sweep(x_train, x_test, betas, *, seed=0, **settings):
    """One of the chapter's VAEs (``SETTINGS``, overridable by keyword) per beta, trained on
    x_train: (n, d) with ``train.beta_sweep`` and measured on x_test: (m, d).

    The seed sets the initial weights, the minibatch order and the binarization noise.
    Returns (points, seconds): the sweep's list of {"beta", "rate", "distortion", "nelbo",
    "model"} (nats per image) and the wall-clock time of the whole sweep.
    """
    s = {**SETTINGS, **settings}
    d = np.shape(x_train)[1]
    start = time.perf_counter()
    points = beta_sweep(lambda beta: VAE(d, s["hidden"], s["latent_dim"], beta=beta, seed=seed),
                        betas, x_train, s["epochs"], test_data=x_test,
                        batch_size=s["batch_size"], seed=seed, progress=False,
                        eval_every=s["epochs"])
    return points, time.perf_counter() - start


def disentanglement(model, x, factors, bins=20):
    """How a model's latent code shares out known factors, on images x: (n, d) with their
    factor indices factors: (n, F).

    The codes are the posterior means mu(x). Returns a dict: info (latent, F), the normalized
    mutual information I(mu_j; v_k) / H(v_k); mig, the mutual information gap, and gaps (F,),
    each factor's gap; kl_dims (latent,), the KL of each dimension (nats); used, how many have a
    KL above chapter 11's USED_NATS.
    """
    codes = model.code(x)
    mig, gaps = evaluate.mutual_information_gap(codes, factors, bins, per_factor=True)
    kl_dims = evaluate.kl_per_dimension(model, x)
    return {"info": evaluate.factor_mutual_information(codes, factors, bins), "mig": mig,
            "gaps": gaps, "kl_dims": kl_dims, "used": int(np.sum(kl_dims > USED_NATS))}


def traversal_codes(mu, dim, values):
    """Codes that traverse one latent dimension: mu (k,) repeated for each of values (m,),
    with coordinate ``dim`` replaced by the value. Returns (m, k)."""
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 1:
        raise ValueError(f"mu must be one code (k,), got shape {mu.shape}")
    dim = checks.integer(dim, "dim", minimum=0)
    if dim >= mu.shape[0]:
        raise ValueError(f"dim must be below the latent size {mu.shape[0]}, got {dim}")
    codes = np.repeat(mu[None, :], len(values), axis=0)
    codes[:, dim] = values
    return codes


def traverse(model, x, values):
    """Decoded traversals of every latent dimension from the code mu(x) of one image x: (d,).

    values: (m,) the values each dimension takes in turn. Returns (latent, m, d): row j is
    the mean image decoded from mu(x) with coordinate j set to each value.
    """
    mu = model.code(np.asarray(x, dtype=np.float32)[None, :])[0]
    codes = np.concatenate([traversal_codes(mu, j, values) for j in range(len(mu))])
    decoded = np.asarray(model.decode(codes.astype(np.float32)), dtype=np.float64)
    return decoded.reshape(len(mu), len(values), -1)


def shape_moments(images, image_shape=(16, 16)):
    """What a shape image shows, measured: (n, 3) columns x and y of the centroid of the ink
    (pixels from the left and top edges) and the ink, the sum of the grey values (the shape's
    area in pixels). images: (n, h * w) in [0, 1]."""
    a = np.asarray(images, dtype=np.float64).reshape(-1, *image_shape)
    rows, cols = np.indices(image_shape) + 0.5
    ink = a.sum(axis=(1, 2))
    safe = np.where(ink > 0, ink, 1.0)
    return np.stack([(a * cols).sum(axis=(1, 2)) / safe, (a * rows).sum(axis=(1, 2)) / safe,
                     ink], axis=1)


def traversal_effects(frames, image_shape=(16, 16)):
    """How far each traversal moves the measured picture: frames (latent, m, d) from
    ``traverse``. Returns (latent, 3): for each dimension the range (max - min) over the
    traversal of the centroid's x, its y (pixels) and the ink (pixels of area)."""
    frames = np.asarray(frames)
    moments = shape_moments(frames.reshape(-1, frames.shape[-1]), image_shape)
    moments = moments.reshape(frames.shape[0], frames.shape[1], 3)
    return moments.max(axis=1) - moments.min(axis=1)


# --------------------------------------------------------------------------- figures

def draw_mig(betas, migs):
    """MIG against beta, one line per seed. migs: {label: [MIG for each beta]}."""
    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.add_subplot()
    for label, values in migs.items():
        ax.plot(betas, values, "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(betas, [f"{b:g}" for b in betas])
    ax.set(xlabel="β", ylabel="mutual information gap", ylim=(0, None))
    ax.legend(fontsize=8)
    return fig


def _information_axes(ax, info, factor_names, title):
    ax.imshow(info, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (j, k), v in np.ndenumerate(info):
        ax.text(k, j, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="black" if v > 0.5 else "white")
    ax.set_xticks(np.arange(len(factor_names)), factor_names)
    ax.set_yticks(np.arange(info.shape[0]))
    ax.set(ylabel="latent dimension", title=title)
    ax.title.set_fontsize(9)


def draw_information(infos, factor_names):
    """Heat maps of I(z_j; v_k) / H(v_k), one panel per model. infos: {title: (latent, F)}."""
    fig = Figure(figsize=(2.7 * len(infos) + 0.4, 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(infos)))
    for ax, (title, info) in zip(axes, infos.items()):
        _information_axes(ax, np.asarray(info), factor_names, title)
    return fig


def _traversal_axes(ax, frames, values, labels, image_shape):
    latent, m = frames.shape[:2]
    ax.imshow(tile_images(frames.reshape(latent * m, -1), m, image_shape=image_shape),
              **IMAGE_KW)
    step, centre = image_shape[0] + 1, (image_shape[0] - 1) / 2  # tiles have 1 pixel of padding
    ax.set_yticks(np.arange(latent) * step + centre, labels, fontsize=8)
    ax.set_xticks(np.arange(m) * step + centre, [f"{v:.1f}" for v in values], fontsize=7)
    ax.set_xlabel("value of the traversed dimension")


def draw_traversal(frames, values, labels=None, title=None, image_shape=(16, 16)):
    """Latent traversals: row j shows the images decoded along dimension j (frames from
    ``traverse``: (latent, m, d)), one column per value; labels: a label for each row."""
    frames = np.asarray(frames)
    labels = labels or [f"z{j}" for j in range(frames.shape[0])]
    fig = Figure(figsize=(0.5 * frames.shape[1] + 1.4, 0.5 * frames.shape[0] + 1.0),
                 layout="constrained")
    ax = fig.add_subplot()
    _traversal_axes(ax, frames, values, labels, image_shape)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def draw_setting(results, beta, factor_names, values, image_shape=(16, 16)):
    """The widget's frame for one beta: the latent traversals and the information heat map.
    results: {beta: {"frames", "labels", "info", "mig", "rate", "distortion"}}."""
    r = results[beta]
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    _traversal_axes(ax1, np.asarray(r["frames"]), values, r["labels"], image_shape)
    ax1.set_title(f"β = {beta:g}: rate {r['rate']:.1f} nats, distortion "
                  f"{r['distortion']:.1f} nats", fontsize=9)
    _information_axes(ax2, np.asarray(r["info"]), factor_names,
                      f"I(z_j; v_k) / H(v_k), MIG {r['mig']:.2f}")
    return fig
