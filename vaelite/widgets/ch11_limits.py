"""Helpers, figures and the widget of chapter 11 (book/11_limits.ipynb): where the basic VAE
falls short.

Three shortcomings, each with its measurement:

- **blur**: ``sharpness_scores`` (share of mid-grey pixels, mean |gradient|) and the averaging
  view of the decoder: ``log_q_matrix``, ``posterior_weights`` and ``effective_count`` give, for
  a code z, the weights w_i(z) of the training images x_i that z could stand for, and
  ``averaging_check`` compares the decoder's output with their weighted mean sum_i w_i x_i;
- **posterior collapse**: ``train_vae`` (the chapter's small VAE), ``collapse_measures`` (test
  -ELBO, KL per dimension, active units), ``KLTrace`` (a ``fit`` callback recording the KL of
  every latent dimension after each epoch), ``collapsed_nelbo`` (the cost of ignoring z) and
  ``secant_slopes`` (the rate-distortion trade-off between beta-VAEs);
- **no control over generation**: ``nearest_neighbour_labels``, ``label_shares`` and
  ``max_share_if_balanced`` (how unbalanced a balanced source can look by chance).

Every ``draw_*`` function returns a matplotlib Figure; ``draw_setting`` is the widget's frame.
"""
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import evaluate
from ..models import VAE
from ..optim import Adam
from ..plot import IMAGE_KW, Figure, tile_images
from ..train import TEST_NOISE_SEED, fit, prepare_test_images
from .ch01_autoencoder import knn_vote
from .ch08_training import draw_image_rows

__all__ = ["SETTINGS", "train_vae", "collapse_measures", "KLTrace", "collapsed_nelbo",
           "secant_slopes", "mean_abs_gradient", "midgrey_share", "sharpness_scores",
           "log_q_matrix", "posterior_weights", "effective_count", "averaging_check",
           "nearest_neighbour_labels", "label_shares", "max_share_if_balanced",
           "draw_mean_of_digits", "draw_image_rows", "draw_code_neighbours", "draw_sharpness",
           "draw_kl_per_dimension", "draw_rate_distortion", "draw_kl_traces",
           "draw_label_shares", "draw_setting"]

# the chapter's small VAE and how it is trained (about 700 Adam steps on 4,500 digits)
SETTINGS = {"hidden": (256,), "latent_dim": 16, "epochs": 10, "batch_size": 64, "lr": 3e-3}
USED_NATS = 0.1  # a latent dimension "carries information" when its KL is above this (nats)


# --------------------------------------------------------------------------- training

def train_vae(x_train, *, beta=1.0, free_bits=0.0, kl_warmup=0, seed=0, callbacks=(),
              **settings):
    """Train the chapter's VAE (``SETTINGS``, overridable by keyword) on x_train: (n, d).

    The model and the minibatch order are both seeded with ``seed``; dynamic binarization.
    Returns (model, history, seconds).
    """
    s = {**SETTINGS, **settings}
    model = VAE(input_dim=np.shape(x_train)[1], hidden=s["hidden"],
                latent_dim=s["latent_dim"], beta=beta, free_bits=free_bits, seed=seed)
    start = time.perf_counter()
    history = fit(model, x_train, s["epochs"], s["batch_size"],
                  Adam(model.parameters(), lr=s["lr"]), seed=seed, progress=False,
                  kl_warmup=kl_warmup, callbacks=callbacks)
    return model, history, time.perf_counter() - start


def collapse_measures(model, x_test, threshold=0.01, used=USED_NATS):
    """How much the latent code is used, on held-out images x_test: (n, 784) in [0, 1].

    The test images are binarized once, as ``fit`` scores them. Returns a dict:
    nelbo, recon, kl: the test -ELBO (recon + KL, whatever the model's beta) and its parts;
    kl_dims: the KL of each latent dimension (nats, they sum to kl);
    activity: Var_x E_q[z_j | x] per dimension; active: how many exceed ``threshold``
    (Burda et al.'s active units); used: how many dimensions have a KL above ``used`` nats.
    """
    x_bin = prepare_test_images(x_test, "dynamic")
    parts = evaluate.elbo(model, x_bin, np.random.default_rng(TEST_NOISE_SEED))
    kl_dims = evaluate.kl_per_dimension(model, x_bin)
    activity = evaluate.latent_activity(model, x_bin)
    return {"nelbo": parts["nelbo"], "recon": parts["recon"], "kl": parts["kl"],
            "kl_dims": kl_dims, "activity": activity,
            "active": evaluate.active_units(model, x_bin, threshold),
            "used": int(np.sum(kl_dims > used))}


class KLTrace:
    """A ``fit`` callback: the KL of every latent dimension on fixed images after each epoch.

        trace = KLTrace(x_test)
        fit(model, x_train, 10, callbacks=[trace])
        trace.kl_dims      # (epochs, latent_dim), nats
        trace.used()       # (epochs,) dimensions above USED_NATS
    """

    def __init__(self, x):
        self.x = prepare_test_images(np.asarray(x), "dynamic")
        self.epochs, self.rows = [], []

    def __call__(self, epoch, model, history):
        self.epochs.append(epoch)
        self.rows.append(evaluate.kl_per_dimension(model, self.x))

    @property
    def kl_dims(self):
        return np.array(self.rows)

    def used(self, nats=USED_NATS):
        return np.sum(self.kl_dims > nats, axis=1)


def collapsed_nelbo(x_train, x_test_binary, eps=1e-6):
    """-log p(x) of the best decoder that ignores z: independent Bernoulli pixels with the mean
    training image as their probabilities, averaged over binary test images (nats). A fully
    collapsed VAE (q(z|x) = p(z), KL = 0) with a per-pixel Bernoulli decoder can do no better."""
    p = np.clip(np.asarray(x_train, dtype=np.float64).mean(axis=0), eps, 1 - eps)
    x = np.asarray(x_test_binary, dtype=np.float64)
    return float(-np.mean(x @ np.log(p) + (1 - x) @ np.log1p(-p)))


def secant_slopes(rates, distortions):
    """Slopes (D_{k+1} - D_k) / (R_{k+1} - R_k) between neighbouring points of a
    rate-distortion curve (rate = KL, distortion = reconstruction term, nats)."""
    rates, distortions = np.asarray(rates, float), np.asarray(distortions, float)
    return np.diff(distortions) / np.diff(rates)


# --------------------------------------------------------------------------- blur

def _images(images, image_shape):
    a = np.asarray(images, dtype=np.float64)
    return a.reshape(-1, *image_shape)


def mean_abs_gradient(images, image_shape=(28, 28)):
    """Mean |difference| between neighbouring pixels (across and down), over all images:
    large for crisp strokes, small for smooth ones. images: (n, h * w) or (n, h, w)."""
    a = _images(images, image_shape)
    across, down = np.abs(np.diff(a, axis=2)), np.abs(np.diff(a, axis=1))
    return float((across.sum() + down.sum()) / (across.size + down.size))


def midgrey_share(images, low=0.2, high=0.8):
    """Share of pixels strictly between ``low`` and ``high``: neither background nor ink."""
    a = np.asarray(images, dtype=np.float64)
    return float(np.mean((a > low) & (a < high)))


def sharpness_scores(images, image_shape=(28, 28)):
    """{"midgrey": midgrey_share, "gradient": mean_abs_gradient} of a batch of images."""
    return {"midgrey": midgrey_share(images),
            "gradient": mean_abs_gradient(images, image_shape)}


def log_q_matrix(z, mu, logvar):
    """log q(z_a | x_i) = log N(z_a; mu_i, diag exp(logvar_i)) for every code z_a and every
    image i: z (m, k), mu and logvar (n, k) -> (m, n), in float64.

    Expanded so that no (m, n, k) array is built:
    sum_j (z_aj - mu_ij)^2 / v_ij = z^2 @ (1/v)^T - 2 z @ (mu/v)^T + sum_j mu_ij^2 / v_ij.
    """
    z, mu, logvar = (np.asarray(a, dtype=np.float64) for a in (z, mu, logvar))
    inv_var = np.exp(-logvar)
    quad = (z**2) @ inv_var.T - 2 * z @ (mu * inv_var).T + np.sum(mu**2 * inv_var, axis=1)
    return -0.5 * (quad + np.sum(logvar, axis=1) + z.shape[1] * np.log(2 * np.pi))


def posterior_weights(log_q):
    """Softmax over the last axis: w_i = q(z|x_i) / sum_k q(z|x_k), the share of each training
    image in what the code stands for (the data posterior q(x_i | z) of an empirical p(x))."""
    log_q = np.asarray(log_q, dtype=np.float64)
    w = np.exp(log_q - log_q.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True)


def effective_count(weights):
    """1 / sum_i w_i^2 over the last axis: how many images the weights spread over (1 when one
    image has all the weight, n when n images share it equally)."""
    w = np.asarray(weights, dtype=np.float64)
    return 1.0 / np.sum(w**2, axis=-1)


def _sq_distances(a, b):
    """Squared Euclidean distances between the rows of a (m, d) and b (n, d): (m, n)."""
    d2 = np.sum(a**2, axis=1)[:, None] - 2 * a @ b.T + np.sum(b**2, axis=1)[None, :]
    return np.maximum(d2, 0.0)


def averaging_check(model, z, x_train):
    """Is the decoder's output at z the weighted mean of the training images z stands for?

    z: (m, latent) codes; x_train: (n, 784) the images the model was trained on.
    Returns a dict of arrays over the m codes: decoded (m, 784); mean (m, 784) the weighted
    mean sum_i w_i(z) x_i with w = posterior_weights(log q(z|x_i)); weights (m, n);
    n_eff (m,) their effective count; and the distances from each decoded image to its
    weighted mean (to_mean), to its nearest training image (to_nearest) and to the mean of
    all training images (to_global).
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    mu, logvar = model.encode(x_train)
    weights = posterior_weights(log_q_matrix(z, mu, logvar))
    decoded = np.asarray(model.decode(z), dtype=np.float64)
    mean = weights @ x_train
    return {"decoded": decoded, "mean": mean, "weights": weights,
            "n_eff": effective_count(weights),
            "to_mean": np.linalg.norm(decoded - mean, axis=1),
            "to_nearest": np.sqrt(_sq_distances(decoded, x_train).min(axis=1)),
            "to_global": np.linalg.norm(decoded - x_train.mean(axis=0), axis=1)}


# --------------------------------------------------------------------------- generation

def nearest_neighbour_labels(images, x_train, y_train, chunk=1000):
    """The label of each image's nearest training image (Euclidean distance in pixel space):
    chapter 1's ``knn_vote`` with k = 1. images: (m, d); x_train: (n, d); y_train: (n,).
    Returns (m,) labels."""
    return knn_vote(images, x_train, y_train, k=1, chunk=chunk)[0]


def label_shares(labels, n_classes=10):
    """The share of each label 0..n_classes-1 among ``labels``: (n_classes,), sums to 1."""
    labels = np.asarray(labels)
    return np.bincount(labels, minlength=n_classes)[:n_classes] / len(labels)


def max_share_if_balanced(n, n_classes=10, runs=2000, seed=0):
    """The largest label share among n labels drawn uniformly from n_classes, in each of
    ``runs`` simulated runs: (runs,). Shows how unbalanced a balanced source looks by chance."""
    counts = np.random.default_rng(seed).multinomial(n, np.full(n_classes, 1 / n_classes),
                                                     size=runs)
    return counts.max(axis=1) / n


# --------------------------------------------------------------------------- figures

def _image_axes(ax, images, ncol, title=None):
    ax.imshow(tile_images(images, ncol), **IMAGE_KW)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def draw_mean_of_digits(images, titles):
    """One row: each image with its title, e.g. two digits and their pixel average."""
    images = np.asarray(images)
    fig = Figure(figsize=(1.6 * len(images), 2.0), layout="constrained")
    for ax, image, title in zip(fig.subplots(1, len(images)), images, titles):
        _image_axes(ax, image[None], 1, title)
    return fig


def draw_code_neighbours(check, x_train, rows, top=6):
    """For codes ``rows`` of an ``averaging_check(model, z, x_train)`` result: the decoded
    image, the weighted mean of the training images, and the ``top`` training images with the
    largest weights (each titled with its weight)."""
    fig = Figure(figsize=(1.1 * (top + 2) + 0.4, 1.35 * len(rows) + 0.3), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(rows), top + 2))
    for r, row in enumerate(rows):
        order = np.argsort(check["weights"][row])[::-1][:top]
        panels = [(check["decoded"][row], "decoder"), (check["mean"][row], "weighted mean")]
        panels += [(x_train[i], f"w = {check['weights'][row, i]:.2f}") for i in order]
        for ax, (image, title) in zip(axes[r], panels):
            _image_axes(ax, image[None], 1, title)
        axes[r, 0].set_ylabel(f"n_eff = {check['n_eff'][row]:.0f}", fontsize=9)
    return fig


def draw_sharpness(scores, reference=None):
    """Bars of the two sharpness scores. scores: {group: {kind: {"midgrey", "gradient"}}},
    e.g. {"beta = 1": {"reconstructions": {...}, "samples": {...}}}; reference: the data's
    scores, drawn as a dashed line."""
    groups = list(scores)
    kinds = list(next(iter(scores.values())))
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    for ax, key, label in zip(fig.subplots(1, 2), ["midgrey", "gradient"],
                              ["share of mid-grey pixels (0.2-0.8)", "mean |gradient|"]):
        width = 0.8 / len(kinds)
        for k, kind in enumerate(kinds):
            ax.bar(np.arange(len(groups)) + (k - (len(kinds) - 1) / 2) * width,
                   [scores[g][kind][key] for g in groups], width, label=kind)
        if reference is not None:
            ax.axhline(reference[key], color="black", ls="--", lw=1, label="test data")
        ax.set_xticks(np.arange(len(groups)), groups)
        ax.set_title(label)
        ax.legend(fontsize=8)
    return fig


def draw_kl_per_dimension(kl_by_setting, used=USED_NATS):
    """One panel per setting: the KL of each latent dimension, sorted, with the ``used`` line.
    kl_by_setting: {label: (latent,) array}."""
    labels = list(kl_by_setting)
    fig = Figure(figsize=(2.6 * len(labels) + 0.4, 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(labels), sharey=True))
    top = max(float(np.max(v)) for v in kl_by_setting.values())
    for ax, label in zip(axes, labels):
        kl = np.sort(np.asarray(kl_by_setting[label]))[::-1]
        ax.bar(np.arange(len(kl)), kl, color=np.where(kl > used, "tab:blue", "tab:gray"))
        ax.axhline(used, color="tab:red", lw=1, ls=":")
        ax.set_ylim(0, 1.1 * top)
        ax.set_title(f"{label}: {int(np.sum(kl > used))} used", fontsize=9)
        ax.set_xlabel("dimension (sorted)")
    axes[0].set_ylabel("KL per dimension (nats)")
    return fig


def draw_rate_distortion(rates, distortions, betas, collapsed=None):
    """Reconstruction term against KL for models trained at several betas, each labelled,
    with the cost of ignoring z (``collapsed``, at KL = 0) if given."""
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(rates, distortions, "o-")
    for r, d, b in zip(rates, distortions, betas):
        ax.annotate(f"β = {b:g}", (r, d), textcoords="offset points", xytext=(6, 4))
    if collapsed is not None:
        ax.plot([0], [collapsed], "s", color="tab:red")
        ax.annotate("z ignored", (0, collapsed), textcoords="offset points", xytext=(6, -12))
    ax.set(xlabel="rate: KL (nats per image)", ylabel="distortion: -log p(x|z) (nats)")
    return fig


def draw_kl_traces(traces, used=USED_NATS):
    """KL traces over the epochs, one line per setting: dimensions used and total KL.
    traces: {label: KLTrace}."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label, trace in traces.items():
        ax1.plot(trace.epochs, trace.used(used), "o-", ms=3, label=label)
        ax2.plot(trace.epochs, trace.kl_dims.sum(axis=1), "o-", ms=3, label=label)
    ax1.set(xlabel="epoch", ylabel=f"dimensions with KL > {used:g} nats",
            title="latent dimensions in use")
    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set(xlabel="epoch", ylabel="KL (nats per image)", title="total KL")
    ax1.legend(fontsize=8)
    return fig


def draw_label_shares(shares, n_samples, balanced_max=None):
    """Bars of the share of each predicted label among generated images, the balanced 10%
    line, and (optional) the 99.9th percentile of the largest share of a balanced source."""
    shares = np.asarray(shares)
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(np.arange(len(shares)), shares)
    ax.axhline(1 / len(shares), color="black", ls="--", lw=1, label="balanced")
    if balanced_max is not None:
        ax.axhline(balanced_max, color="tab:red", ls=":", lw=1,
                   label="largest share, balanced, 1 run in 1000")
    ax.set_xticks(np.arange(len(shares)))
    ax.set(xlabel="label of the nearest training digit", ylabel="share of samples",
           title=f"{n_samples} samples from the prior")
    ax.legend(fontsize=8)
    return fig


def draw_setting(results, setting, n=24):
    """The widget's frame: samples from the prior and the sorted KL per dimension of the model
    trained with ``setting``. results: {setting: {"samples": (>= n, 784), "kl_dims",
    "nelbo", "kl", "midgrey"}}."""
    r = results[setting]
    fig = Figure(figsize=(9.5, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.15, 1])
    _image_axes(ax1, r["samples"][:n], 8,
                f"samples (mean images), mid-grey share {r['midgrey']:.2f}")
    kl = np.sort(np.asarray(r["kl_dims"]))[::-1]
    ax2.bar(np.arange(len(kl)), kl, color=np.where(kl > USED_NATS, "tab:blue", "tab:gray"))
    ax2.axhline(USED_NATS, color="tab:red", lw=1, ls=":")
    ax2.set_ylim(0, max(1.8, 1.1 * float(kl.max())))
    ax2.set(xlabel="latent dimension (sorted)", ylabel="KL (nats)",
            title=f"{setting}: test -ELBO {r['nelbo']:.1f}, KL {r['kl']:.1f}, "
                  f"{int(np.sum(kl > USED_NATS))} dims used")
    ax2.title.set_fontsize(9)
    return fig
