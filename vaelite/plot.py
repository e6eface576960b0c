"""Figures for the book and the command line. Every function returns a ``matplotlib`` Figure.

    from vaelite import plot
    fig = plot.image_grid(x[:64])              # (64, 784) images in [0, 1]
    fig.savefig("digits.png")

The figures are built with matplotlib's object API (``matplotlib.figure.Figure``), not with
``pyplot``: nothing is shown, nothing is registered in pyplot's list of open figures, and they
work on any backend (Agg included). In a notebook, leave the figure as the last expression of a
cell (or call ``display(fig)``) to see it, once: the figures know how to draw themselves as PNG
(``_repr_png_``), whatever backend the kernel uses.

Images: a batch ``(n, 784)`` of flattened 28x28 images (any ``(n, d)`` with d a perfect square,
or pass ``image_shape=(h, w)``), or ``(n, h, w)``; float (or bool) values, displayed in grey
with 0 black and 1 white. Values outside [0, 1] (a Gaussian decoder's mean) are displayed
clipped; NaN or Inf raise.

Functions: ``loss_curves``, ``image_grid``, ``tile_images``, ``reconstruction_grid``,
``samples_grid``, ``interpolation_strip``, ``latent_scatter``, ``latent_manifold``
(with its helpers ``normal_quantiles`` and ``manifold_codes``).
"""
import io
import math
import re
from collections.abc import Mapping
from statistics import NormalDist

import matplotlib
import numpy as np
from matplotlib.figure import Figure as _MatplotlibFigure
from matplotlib.ticker import MaxNLocator

__all__ = ["loss_curves", "image_grid", "tile_images", "reconstruction_grid", "samples_grid",
           "interpolation_strip", "latent_scatter", "latent_manifold", "normal_quantiles",
           "manifold_codes"]

PAD_VALUE = 0.5  # grey lines between the images of a grid


class Figure(_MatplotlibFigure):
    """A ``matplotlib.figure.Figure`` that Jupyter can display without pyplot: IPython calls
    ``_repr_png_`` when the figure is a cell's result (the inline backend, when it is active,
    draws it instead; either way it appears once)."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()

IMAGE_KW = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0, "interpolation": "nearest"}


# --------------------------------------------------------------------------- images

def _image_shape(d, image_shape, name):
    if image_shape is not None:
        h, w = (int(s) for s in image_shape)
        if h * w != d:
            raise ValueError(f"{name}: image_shape {tuple(image_shape)} holds {h * w} pixels, "
                             f"but each image has {d}")
        return h, w
    side = math.isqrt(d)
    if side * side != d:
        raise ValueError(f"{name}: images of {d} pixels are not square; pass image_shape=(h, w)")
    return side, side


def _as_images(images, name="images", image_shape=None):
    """Images as an (n, h, w) float array, or a clear error.

    Accepts (n, d) flattened images, (n, h, w) images, or one flattened image (d,).
    """
    if isinstance(images, (str, bytes)) or images is None:
        raise TypeError(f"{name} must be an array of images, got {type(images).__name__}")
    a = np.asarray(images)
    if a.dtype == bool:
        a = a.astype(np.float64)
    if a.dtype.kind not in "f":
        hint = " (divide 0..255 pixels by 255)" if a.dtype.kind in "iu" else ""
        raise TypeError(f"{name} must hold floats in [0, 1], got dtype {a.dtype}{hint}")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim == 2:
        if a.shape[0] == 0 or a.shape[1] == 0:
            raise ValueError(f"{name} is empty: shape {a.shape}")
        h, w = _image_shape(a.shape[1], image_shape, name)
        a = a.reshape(a.shape[0], h, w)
    elif a.ndim == 3:
        if 0 in a.shape:
            raise ValueError(f"{name} is empty: shape {a.shape}")
        if image_shape is not None and tuple(a.shape[1:]) != tuple(image_shape):
            raise ValueError(f"{name}: images of shape {a.shape[1:]} do not match "
                             f"image_shape {tuple(image_shape)}")
    else:
        raise ValueError(f"{name} must have shape (n, pixels) or (n, height, width), "
                         f"got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf values")
    return a


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def tile_images(images, ncol, pad=1, pad_value=PAD_VALUE, image_shape=None):
    """Arrange images in a mosaic, row by row.

    images: (n, d) or (n, h, w); ncol: images per row. Returns a 2-D array of shape
    (rows * (h + pad) - pad, ncol * (w + pad) - pad) with rows = ceil(n / ncol);
    the gaps and the empty cells of the last row hold ``pad_value``.
    """
    a = _as_images(images, image_shape=image_shape)
    ncol = _positive_int(ncol, "ncol")
    pad = _positive_int(pad, "pad", minimum=0)
    n, h, w = a.shape
    ncol = min(ncol, n)
    rows = -(-n // ncol)
    mosaic = np.full((rows * (h + pad) - pad, ncol * (w + pad) - pad), pad_value, dtype=float)
    for i, image in enumerate(a):
        r, c = divmod(i, ncol)
        mosaic[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return mosaic


def _show(ax, mosaic, title=None):
    ax.imshow(mosaic, **IMAGE_KW)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def image_grid(images, nrow=None, title=None, *, image_shape=None, scale=0.6):
    """One grid of images in one Axes.

    images: (n, 784) in [0, 1] (or (n, d) / (n, h, w), see the module docstring).
    nrow: images per row, as in torchvision's ``make_grid`` (default ceil(sqrt(n)), a square).
    scale: inches per image. Returns a Figure with 1 Axes holding 1 image.
    """
    a = _as_images(images, image_shape=image_shape)
    n = len(a)
    ncol = math.ceil(math.sqrt(n)) if nrow is None else min(_positive_int(nrow, "nrow"), n)
    rows = -(-n // ncol)
    fig = Figure(figsize=(max(2.0, scale * ncol), max(2.0, scale * rows) + (0.3 if title else 0)),
                 layout="constrained")
    _show(fig.add_subplot(), tile_images(a, ncol), title)
    return fig


def samples_grid(images, nrow=None, title="samples from the prior", *, image_shape=None):
    """A grid of generated images, e.g. ``model.sample(64, rng)``: (n, 784) in [0, 1].

    Same as ``image_grid`` with a default title. Returns a Figure with 1 Axes.
    """
    return image_grid(images, nrow, title, image_shape=image_shape)


def reconstruction_grid(x, x_hat, n=10, *, image_shape=None, scale=0.6):
    """Originals over their reconstructions.

    x, x_hat: (batch, 784) with the same shape (x_hat = model.reconstruct(x)); the first
    ``n`` images of each are shown (all of them if the batch is smaller).
    Returns a Figure with 2 Axes: "original" on top, "reconstruction" below, one image each.
    """
    a = _as_images(x, "x", image_shape)
    b = _as_images(x_hat, "x_hat", image_shape)
    if a.shape != b.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {np.shape(x)} and "
                         f"{np.shape(x_hat)}")
    n = min(_positive_int(n, "n"), len(a))
    fig = Figure(figsize=(max(2.0, scale * n), 2 * max(0.8, scale) + 0.6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    _show(top, tile_images(a[:n], n), "original")
    _show(bottom, tile_images(b[:n], n), "reconstruction")
    return fig


def interpolation_strip(images, title=None, *, image_shape=None, scale=0.8):
    """Images decoded along a path in latent space, left to right, e.g.
    ``model.interpolate(x1, x2, steps=10)``: (steps, 784).

    The x ticks give the position t in [0, 1] of each image on the path.
    Returns a Figure with 1 Axes holding 1 image.
    """
    a = _as_images(images, image_shape=image_shape)
    steps, h, w = a.shape
    fig = Figure(figsize=(max(2.0, scale * steps), max(1.2, scale) + (0.7 if title else 0.4)),
                 layout="constrained")
    ax = fig.add_subplot()
    _show(ax, tile_images(a, steps), title)
    t = np.linspace(0, 1, steps) if steps > 1 else np.zeros(1)
    shown = range(steps) if steps <= 12 else [0, steps - 1]
    ax.set_xticks([i * (w + 1) + (w - 1) / 2 for i in shown], [f"{t[i]:.2g}" for i in shown])
    ax.set_xlabel("t")
    return fig


# --------------------------------------------------------------------------- latent space

def _check_dims(dims, k, name):
    try:
        i, j = (int(d) for d in dims)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two coordinate indices like (0, 1), "
                         f"got {dims!r}") from None
    if not (0 <= i < k and 0 <= j < k) or i == j:
        raise ValueError(f"{name} must be two different indices in [0, {k}), got {dims!r}")
    return i, j


def latent_scatter(z, labels=None, ax=None, *, dims=None, title=None, s=6, alpha=0.6):
    """Codes in a 2-D latent space, coloured by their label.

    z: (n, 2) codes (``model.code(x)``); labels: (n,) digit labels or None.
    A latent space with more than 2 dimensions is not projected silently: pass ``dims=(i, j)``
    to plot two of its coordinates (or project z yourself, e.g. with PCA, and pass (n, 2)).
    Integer labels with at most 20 classes get one colour each and a legend; float labels
    (or more classes) get a continuous colour map and a colorbar.
    ax: draw into this Axes (its figure is returned); default a new Figure with 1 Axes.
    Returns the Figure.
    """
    z = np.asarray(z)
    if z.dtype.kind not in "fiu" or z.ndim != 2 or len(z) == 0:
        raise ValueError(f"z must be a non-empty (n, latent) array of numbers, got shape "
                         f"{z.shape} and dtype {z.dtype}")
    k = z.shape[1]
    if dims is None:
        if k != 2:
            raise ValueError(f"z has {k} latent dimension(s) and latent_scatter draws 2: pass "
                             "dims=(i, j) to plot two coordinates, or project z to (n, 2) first")
        dims = (0, 1)
    i, j = _check_dims(dims, k, "dims")
    if not np.all(np.isfinite(z[:, [i, j]])):
        raise ValueError("z contains NaN or Inf values")
    if ax is None:
        fig = Figure(figsize=(5.4, 4.6), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    x, y = z[:, i], z[:, j]
    if labels is None:
        ax.scatter(x, y, s=s, alpha=alpha, color="C0", linewidths=0)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(z),):
            raise ValueError(f"labels must have shape ({len(z)},), one per code, got "
                             f"{labels.shape}")
        classes = np.unique(labels)
        if labels.dtype.kind in "iub" and len(classes) <= 20:
            cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
            for c, label in enumerate(classes):
                keep = labels == label
                ax.scatter(x[keep], y[keep], s=s, alpha=alpha, color=cmap(c), linewidths=0,
                           label=str(label))
            legend = ax.legend(title="label", loc="center left", bbox_to_anchor=(1.0, 0.5),
                               markerscale=12 / max(s, 1) ** 0.5, frameon=False)
            for handle in legend.legend_handles:
                handle.set_alpha(1)
        else:
            points = ax.scatter(x, y, c=labels.astype(float), s=s, alpha=alpha, cmap="viridis",
                                linewidths=0)
            fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(f"z[{i}]")
    ax.set_ylabel(f"z[{j}]")
    if title:
        ax.set_title(title)
    return fig


def normal_quantiles(probs):
    """Inverse CDF of the standard normal at each probability in (0, 1): an array like probs.

    normal_quantiles([0.05, 0.5, 0.95]) ~ [-1.645, 0, 1.645]. (statistics.NormalDist, no scipy.)
    """
    p = np.asarray(probs, dtype=float)
    if not np.all((p > 0) & (p < 1)):
        raise ValueError(f"probabilities must lie strictly between 0 and 1, got {probs!r}")
    inv = NormalDist().inv_cdf
    return np.vectorize(inv, otypes=[float])(p)


def manifold_codes(n=15, latent_dim=2, dims=(0, 1), quantiles=(0.05, 0.95)):
    """The latent codes of ``latent_manifold``, in display order: (n * n, latent_dim).

    The probabilities linspace(quantiles[0], quantiles[1], n) go through the inverse normal CDF
    (as in Kingma & Welling's manifold figure), so the grid covers the prior evenly in
    probability. Code r * n + c sits in row r, column c: z[dims[0]] grows left to right,
    z[dims[1]] grows bottom to top; the other coordinates stay 0 (the prior mean).
    Returns (codes, values) with values the n quantiles, increasing.
    """
    n = _positive_int(n, "n", minimum=2)
    latent_dim = _positive_int(latent_dim, "latent_dim", minimum=2)
    i, j = _check_dims(dims, latent_dim, "dims")
    try:
        lo, hi = (float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise ValueError(f"quantiles must be two probabilities (lo, hi), "
                         f"got {quantiles!r}") from None
    if not 0 < lo < hi < 1:
        raise ValueError(f"quantiles must satisfy 0 < lo < hi < 1, got {quantiles!r}")
    values = normal_quantiles(np.linspace(lo, hi, n))
    codes = np.zeros((n * n, latent_dim))
    rows, cols = np.divmod(np.arange(n * n), n)
    codes[:, i] = values[cols]
    codes[:, j] = values[::-1][rows]
    return codes, values


def latent_manifold(model, n=15, *, quantiles=(0.05, 0.95), dims=(0, 1), image_shape=None,
                    title=None, scale=0.45):
    """The learned manifold: decoded images on an n x n grid of latent codes.

    model: anything with ``latent_dim`` and ``decode(z) -> (batch, pixels)`` (a trained VAE or
    Autoencoder). The grid is ``manifold_codes(n, model.latent_dim, dims, quantiles)``: evenly
    spaced probabilities through the inverse normal CDF, like the manifold figure of
    Kingma & Welling (2013).
    With more than 2 latent dimensions, ``dims`` picks the two that vary; the others are 0.
    Returns a Figure with 1 Axes holding 1 image of (n * h, n * w) pixels; the ticks give z.
    """
    if not hasattr(model, "decode") or not hasattr(model, "latent_dim"):
        raise TypeError(f"model must have latent_dim and decode(z), got {type(model).__name__}")
    if model.latent_dim < 2:
        raise ValueError(f"latent_manifold needs a latent space of at least 2 dimensions, "
                         f"the model has {model.latent_dim}")
    codes, values = manifold_codes(n, model.latent_dim, dims, quantiles)
    i, j = _check_dims(dims, model.latent_dim, "dims")
    images = _as_images(model.decode(codes), "decoded images", image_shape)
    _, h, w = images.shape
    fig = Figure(figsize=(max(3.0, scale * n) + 0.6, max(3.0, scale * n) + 0.6),
                 layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(tile_images(images, n, pad=0), **IMAGE_KW)
    ticks = sorted({0, n // 2, n - 1})
    label = [f"{v:.2f}" for v in np.round(values, 2) + 0.0]  # + 0.0 turns -0.00 into 0.00
    ax.set_xticks([c * w + (w - 1) / 2 for c in ticks], [label[c] for c in ticks])
    ax.set_yticks([r * h + (h - 1) / 2 for r in ticks], [label[n - 1 - r] for r in ticks])
    ax.set_xlabel(f"z[{i}]")
    ax.set_ylabel(f"z[{j}]")
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- training curves

_SPLIT = re.compile(r"^(train|test|val|valid|validation)_(.+)$")
_TITLES = {"nelbo": "negative ELBO", "loss": "loss", "recon": "reconstruction  -log p(x|z)",
           "kl": "KL(q(z|x) || p(z))"}
_ORDER = ["nelbo", "loss", "recon", "kl"]


def _history_dict(history):
    if hasattr(history, "as_dict") and callable(history.as_dict):
        history = history.as_dict()
    if not isinstance(history, Mapping):
        raise TypeError("history must be a dict of per-epoch lists (keys like 'train_loss', "
                        f"'test_kl') or have as_dict(), got {type(history).__name__}")
    return history


def _series(values, key):
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"history[{key!r}] must be a list of numbers, got {values!r:.60}")
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        raise ValueError(f"history[{key!r}] must be a list of numbers, "
                         f"got {values!r:.60}") from None


def loss_curves(history, title=None):
    """Training curves: the negative ELBO and its parts, per epoch, train and test.

    history: a dict of lists, keys ``"{split}_{part}"`` with split train/test/val and part
    e.g. loss, nelbo, recon, kl (nats per image, one value per epoch); the x values come from
    ``"epoch"`` (train) and ``"{split}_epoch"`` (e.g. ``"test_epoch"``) when their lengths
    match, else 1, 2, ... Or an object with ``as_dict()`` returning such a dict (``fit``'s
    ``History``). Other keys (``"seconds"``) are ignored.
    One Axes per part, ordered nelbo, loss, recon, kl, then the rest; ``loss`` is left out when
    it equals ``nelbo`` (beta = 1). Returns the Figure.
    """
    h = _history_dict(history)
    parts = {}  # part -> {split: (x, y)}
    for key, values in h.items():
        m = _SPLIT.match(str(key))
        if m is None or m.group(2) == "epoch":
            continue
        split, part = m.groups()
        y = _series(values, key)
        if len(y) == 0:
            continue
        epochs = h.get("epoch") if split == "train" else h.get(f"{split}_epoch")
        x = (np.asarray(epochs, dtype=float) if epochs is not None and np.ndim(epochs) == 1
             and len(epochs) == len(y) else np.arange(1, len(y) + 1, dtype=float))
        parts.setdefault(part, {})[split] = (x, y)
    if not parts:
        raise ValueError("history has no per-epoch losses: expected lists under keys like "
                         f"'train_loss', 'test_loss', 'train_kl'; got keys {sorted(map(str, h))}")
    if "nelbo" in parts and "loss" in parts and parts["nelbo"].keys() == parts["loss"].keys() \
            and all(np.allclose(parts["nelbo"][s][1], parts["loss"][s][1], equal_nan=True)
                    for s in parts["loss"]):
        del parts["loss"]  # beta = 1: the loss is the negative ELBO
    names = sorted(parts, key=lambda p: (_ORDER.index(p) if p in _ORDER else len(_ORDER), p))
    fig = Figure(figsize=(3.6 * len(names) + 0.4, 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, part in zip(axes, names):
        for split, (x, y) in sorted(parts[part].items(), key=lambda s: s[0] != "train"):
            style = {"marker": "o", "markersize": 3} if len(y) <= 30 else {}
            ax.plot(x, y, ls="-" if split == "train" else "--", label=split, **style)
        ax.set_title(_TITLES.get(part, part))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("nats per image")
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig
