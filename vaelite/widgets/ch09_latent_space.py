"""Widgets and helpers of chapter 9 (book/09_latent_space.ipynb): the latent space of a VAE.

Four groups of plain functions, each tested on small made-up inputs:

- watching training: ``LatentSnapshots``, a ``fit`` callback that records the latent means of
  fixed digits (and the posteriors of a reference set) after every epoch; two measures of how
  organised a cloud of labelled codes is, ``knn_accuracy`` and ``spread_ratio``;
- the aggregate posterior q(z) = (1/N) sum_n N(z; mu_n, diag sigma_n^2) against the prior
  N(0, I): its exact mass in the cells of a grid (``cell_masses``, a 2-D latent space),
  ``grid_kl`` between two such tables, ``hole_mass`` (the prior's mass where q is far below
  it), and the pointwise ``log_aggregate_density`` for Monte Carlo checks;
- interpolation: ``lerp`` and ``slerp`` between codes, ``nearest_images`` (distance to the
  nearest training image and a nearest-neighbour vote on its label);
- the figures, and the draw functions of the chapter's two widgets: ``draw_epoch`` (the codes
  after a given epoch) and ``draw_point`` (the image decoded at (z1, z2)).
"""
import math

import numpy as np
from matplotlib.patches import Rectangle

from .. import plot
from .ch01_autoencoder import knn_vote, nearest_code

__all__ = ["LatentSnapshots", "knn_accuracy", "spread_ratio", "normal_cdf", "cell_masses",
           "prior_cell_masses", "grid_kl", "lookup_cells", "hole_mass", "log_normal_diag",
           "log_aggregate_density", "lerp", "slerp", "nearest_images", "draw_epoch",
           "draw_organisation", "draw_holes", "draw_interpolations", "draw_point"]

LOG_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------------------- training

class LatentSnapshots:
    """A ``fit`` callback: after every epoch, the latent means of fixed images and the
    posterior parameters of a reference set.

        snaps = LatentSnapshots(x_fixed, x_reference)
        snaps(0, model)                               # epoch 0: before training
        fit(model, ..., callbacks=[snaps])
        snaps.epochs[i], snaps.mu[i]                  # (n_fixed, latent): model.encode(x_fixed)[0]
        snaps.ref_mu[i], snaps.ref_logvar[i]          # (n_reference, latent) each

    The reference set (for instance the training images) defines the aggregate posterior at
    each epoch; leave it out (None) to record the fixed images only.
    """

    def __init__(self, x_fixed, x_reference=None):
        self.x_fixed = np.asarray(x_fixed)
        self.x_reference = None if x_reference is None else np.asarray(x_reference)
        self.epochs, self.mu, self.ref_mu, self.ref_logvar = [], [], [], []

    def __call__(self, epoch, model, history=None):
        self.epochs.append(int(epoch))
        self.mu.append(np.array(model.encode(self.x_fixed)[0], dtype=np.float64))
        if self.x_reference is not None:
            mu, logvar = model.encode(self.x_reference)
            self.ref_mu.append(np.array(mu, dtype=np.float64))
            self.ref_logvar.append(np.array(logvar, dtype=np.float64))


def _codes_and_labels(codes, labels):
    codes = np.asarray(codes, dtype=np.float64)
    labels = np.asarray(labels)
    if codes.ndim != 2 or labels.shape != (len(codes),):
        raise ValueError(f"codes must be (n, k) and labels (n,), got {codes.shape} and "
                         f"{labels.shape}")
    return codes, labels


def knn_accuracy(codes, labels, k=5):
    """Leave-one-out k-nearest-neighbour accuracy of labelled codes.

    Each code gets the majority label of its k nearest *other* codes (Euclidean; a tie goes to
    the smallest label); returns the share of codes whose vote is their own label. Near
    1/(number of classes) for codes that ignore the label, near 1 for separated clusters.
    It does not change when every code is shifted, rotated or scaled by the same amount.
    codes: (n, k_latent); labels: (n,) integers.
    """
    codes, labels = _codes_and_labels(codes, labels)
    if not 1 <= k < len(codes):
        raise ValueError(f"k must lie in 1..{len(codes) - 1}, got {k}")
    d2 = np.sum((codes[:, None, :] - codes[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(d2, np.inf)  # a code is not its own neighbour
    nearest = np.argsort(d2, axis=1, kind="stable")[:, :k]
    classes = np.unique(labels)
    votes = np.stack([np.sum(labels[nearest] == c, axis=1) for c in classes], axis=1)
    return float(np.mean(classes[votes.argmax(axis=1)] == labels))


def spread_ratio(codes, labels):
    """Between-class spread over within-class spread of labelled codes (a Fisher ratio).

    between = sum over classes c of n_c |m_c - m|^2, within = sum over codes |z_i - m_{c_i}|^2,
    with m_c the mean code of class c and m the mean of all codes. 0 when every class has the
    same mean; large when classes are tight clusters far apart. Unchanged by a common shift,
    rotation or scaling of the codes.
    """
    codes, labels = _codes_and_labels(codes, labels)
    centre = codes.mean(axis=0)
    between = within = 0.0
    for c in np.unique(labels):
        members = codes[labels == c]
        mean_c = members.mean(axis=0)
        between += len(members) * np.sum((mean_c - centre) ** 2)
        within += np.sum((members - mean_c) ** 2)
    return float(between / within)


# --------------------------------------------------------------------------- q(z) on a grid

_ERFC = np.vectorize(math.erfc, otypes=[float])


def normal_cdf(x):
    """The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, elementwise, in float64.

    Beyond |x| > 9 it returns exactly 0 or 1 (the true values differ from them by less than
    1e-18); in between it calls math.erfc, which is accurate in the far lower tail too.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.atleast_1d((x > 0).astype(np.float64))
    near = np.atleast_1d(np.abs(x) <= 9)
    out[near] = 0.5 * _ERFC(-np.atleast_1d(x)[near] / math.sqrt(2))
    return out.reshape(x.shape)


def _check_edges(edges):
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError("edges must be an increasing 1-D array of at least 2 numbers")
    return edges


def cell_masses(mu, logvar, edges):
    """The aggregate posterior's exact probability in each cell of a square grid.

    q(z) = (1/N) sum_n N(z; mu_n, diag exp(logvar_n)) in 2 dimensions; the grid's cells are
    [edges[i], edges[i+1]) x [edges[j], edges[j+1]). A diagonal Gaussian factorises, so the
    mass of component n in cell (i, j) is a product of two 1-D masses,
    (Phi((e_{i+1} - mu_n1)/s_n1) - Phi((e_i - mu_n1)/s_n1)) * (the same for dimension 2),
    and the table is one matrix product A^T B / N. Returns (G, G) with G = len(edges) - 1;
    row i is z[0] in cell i, column j is z[1] in cell j. Its sum is the mass inside the box.
    """
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    if mu.ndim != 2 or mu.shape[1] != 2 or logvar.shape != mu.shape:
        raise ValueError(f"mu and logvar must both be (n, 2), got {mu.shape} and {logvar.shape}")
    edges = _check_edges(edges)
    sigma = np.exp(0.5 * logvar)
    a = np.diff(normal_cdf((edges[None, :] - mu[:, :1]) / sigma[:, :1]), axis=1)  # (n, G)
    b = np.diff(normal_cdf((edges[None, :] - mu[:, 1:]) / sigma[:, 1:]), axis=1)
    return a.T @ b / len(mu)


def prior_cell_masses(edges):
    """The prior N(0, I)'s probability in each cell of the grid (see ``cell_masses``): (G, G)."""
    a = np.diff(normal_cdf(_check_edges(edges)))
    return np.outer(a, a)


def grid_kl(q_cells, p_cells):
    """KL(Q || P) in nats between two distributions given by their masses in the same cells.

    The mass outside the grid (1 - sum) is counted as one more cell, so both tables are whole
    distributions. This is the KL of the *coarse-grained* q and p: never more than the true
    KL(q || p) (a data-processing inequality), and it grows towards it as the cells are split.
    """
    q = np.append(np.ravel(q_cells), 1.0 - np.sum(q_cells))
    p = np.append(np.ravel(p_cells), 1.0 - np.sum(p_cells))
    if q.shape != p.shape:
        raise ValueError("q_cells and p_cells must have the same shape")
    q, p = np.clip(q, 0.0, None), np.clip(p, 0.0, None)  # rounding can leave -1e-17 outside
    keep = q > 0  # 0 log 0 = 0
    if np.any(p[keep] == 0):
        return float("inf")
    return float(np.sum(q[keep] * np.log(q[keep] / p[keep])))


def lookup_cells(table, edges, z):
    """The entries of a (G, G) grid table at the cells that hold the points z (m, 2):
    table[i, j] with edges[i] <= z[0] < edges[i+1] and edges[j] <= z[1] < edges[j+1].
    Points outside the grid get NaN. Returns (m,)."""
    edges = _check_edges(edges)
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    i = np.searchsorted(edges, z[:, 0], side="right") - 1
    j = np.searchsorted(edges, z[:, 1], side="right") - 1
    inside = (i >= 0) & (i < len(edges) - 1) & (j >= 0) & (j < len(edges) - 1)
    out = np.full(len(z), np.nan)
    out[inside] = np.asarray(table, dtype=np.float64)[i[inside], j[inside]]
    return out


def hole_mass(q_cells, p_cells, fraction=0.1):
    """The prior's mass in the "holes": the cells where q has less than ``fraction`` times
    the prior's mass. A sample z ~ p(z) lands in such a cell with this probability."""
    q_cells, p_cells = np.asarray(q_cells), np.asarray(p_cells)
    if q_cells.shape != p_cells.shape:
        raise ValueError("q_cells and p_cells must have the same shape")
    return float(np.sum(p_cells[q_cells < fraction * p_cells]))


def log_normal_diag(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)), summed over the last axis (broadcasting)."""
    z, mu, logvar = (np.asarray(a, dtype=np.float64) for a in (z, mu, logvar))
    return -0.5 * np.sum(LOG_2PI + logvar + (z - mu) ** 2 / np.exp(logvar), axis=-1)


def log_aggregate_density(z, mu, logvar, chunk=500):
    """log q(z) for the aggregate posterior q(z) = (1/N) sum_n N(z; mu_n, diag exp(logvar_n)).

    z: (m, k) points; mu, logvar: (N, k). A log-mean-exp over the N components, ``chunk``
    points at a time. Returns (m,).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    out = np.empty(len(z))
    for start in range(0, len(z), chunk):
        lp = log_normal_diag(z[start:start + chunk, None, :], mu[None], logvar[None])
        top = lp.max(axis=1, keepdims=True)
        out[start:start + chunk] = top[:, 0] + np.log(np.mean(np.exp(lp - top), axis=1))
    return out


# --------------------------------------------------------------------------- interpolation

def lerp(z1, z2, t):
    """Points (1 - t) z1 + t z2 on the straight line: (len(t), k) for z1, z2 of shape (k,)."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (1 - t) * np.asarray(z1, dtype=np.float64) + t * np.asarray(z2, dtype=np.float64)


def slerp(z1, z2, t):
    """Spherical interpolation (Shoemake, 1985; White, 2016): with cos W = <z1, z2>/(|z1||z2|),

        slerp(t) = sin((1 - t) W) / sin W * z1 + sin(t W) / sin W * z2,

    an arc from z1 (t = 0) to z2 (t = 1) that keeps the norm when |z1| = |z2|. Falls back to
    ``lerp`` when z1 and z2 point the same way or opposite ways (sin W = 0).
    Returns (len(t), k).
    """
    z1, z2 = np.asarray(z1, dtype=np.float64), np.asarray(z2, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[:, None]
    cos = np.dot(z1, z2) / (np.linalg.norm(z1) * np.linalg.norm(z2))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-8:
        return lerp(z1, z2, t[:, 0])
    return (np.sin((1 - t) * omega) * z1 + np.sin(t * omega) * z2) / np.sin(omega)


def nearest_images(images, x_train, y_train, k=10, chunk=500):
    """For each image: the Euclidean distance (in pixels) to the nearest training image, and
    the majority label of the k nearest with its share of the k votes (chapter 1's helpers).

    images: (m, d); x_train: (n, d); y_train: (n,) integers 0..9.
    Returns (distance (m,), label (m,), share (m,)); a tie goes to the smaller label.
    """
    distance, _ = nearest_code(images, x_train, chunk)
    label, share = knn_vote(images, x_train, y_train, k, chunk)
    return distance, label, share


# --------------------------------------------------------------------------- figures

def _prior_circles(ax, radii=(1, 2)):
    t = np.linspace(0, 2 * np.pi, 200)
    for r in radii:
        ax.plot(r * np.cos(t), r * np.sin(t), color="black", lw=0.7, ls="--")


def _scatter(ax, codes, labels, lim):
    plot.latent_scatter(codes, labels, ax=ax, s=5, alpha=0.6)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def draw_epoch(snapshots, epoch, labels, measures=None, lim=4.0):
    """The epoch widget: the latent means of the fixed digits after ``epoch``.

    snapshots: a ``LatentSnapshots``; labels: (n_fixed,) their labels; measures: optional
    {"knn": [...], "ratio": [...]} one value per snapshot, shown in the title.
    Dashed circles: 1 and 2 standard deviations of the prior. Returns a Figure.
    """
    if epoch not in snapshots.epochs:
        raise ValueError(f"no snapshot of epoch {epoch}; have {snapshots.epochs}")
    index = snapshots.epochs.index(epoch)
    fig = plot.Figure(figsize=(5.6, 4.4))
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.82, bottom=0.11, top=0.88)
    _scatter(ax, snapshots.mu[index], labels, lim)
    _prior_circles(ax)
    title = f"latent means of {len(labels)} test digits after epoch {epoch}"
    if measures:
        title += (f"\nkNN accuracy {measures['knn'][index]:.2f}, "
                  f"between/within spread {measures['ratio'][index]:.2f}")
    ax.set_title(title, fontsize=9)
    return fig


def draw_organisation(epochs, curves, ncols=3):
    """One small panel per curve ({title: values per epoch}), ``ncols`` to a row.
    Returns a Figure."""
    rows = -(-len(curves) // ncols)
    fig = plot.Figure(figsize=(3.3 * min(ncols, len(curves)), 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, min(ncols, len(curves)))).ravel()
    for ax, (name, values) in zip(axes, curves.items()):
        ax.plot(epochs, values, "o-", ms=3)
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[len(curves):]:
        ax.set_visible(False)
    return fig


def draw_holes(q_cells, p_cells, edges, codes=None, fraction=0.1, fractions=None):
    """Left: log10 of q/p over the grid (cells with q < fraction * p outlined as holes);
    right: the prior's mass in cells with q < f p, as a function of f.

    q_cells, p_cells: (G, G) from ``cell_masses`` and ``prior_cell_masses``; codes: optional
    (n, 2) latent means drawn as dots. Returns a Figure with 2 Axes.
    """
    q_cells, p_cells = np.asarray(q_cells), np.asarray(p_cells)
    fractions = np.logspace(-3, 1, 41) if fractions is None else np.asarray(fractions)
    with np.errstate(divide="ignore"):
        log_ratio = np.log10(q_cells / p_cells)
    fig = plot.Figure(figsize=(10, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    image = ax1.imshow(np.clip(log_ratio, -3, 2).T, origin="lower", cmap="RdBu_r", vmin=-3,
                       vmax=3, extent=(edges[0], edges[-1], edges[0], edges[-1]))
    fig.colorbar(image, ax=ax1, label=r"$\log_{10}\, q(z)/p(z)$ (cell masses)")
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax1.contour(centres, centres, (q_cells < fraction * p_cells).T.astype(float), levels=[0.5],
                colors="black", linewidths=0.8)
    if codes is not None:
        ax1.scatter(codes[:, 0], codes[:, 1], s=1, color="black", alpha=0.3, linewidths=0)
    _prior_circles(ax1)
    ax1.set(xlabel="z[0]", ylabel="z[1]", aspect="equal",
            title=f"aggregate posterior over prior; holes (q < {fraction:g} p) outlined")
    ax1.title.set_fontsize(9)
    ax2.semilogx(fractions, [hole_mass(q_cells, p_cells, f) for f in fractions])
    ax2.axvline(fraction, color="gray", ls=":", lw=0.8)
    ax2.set(xlabel="f", ylabel="prior mass where q < f p", ylim=(0, 1),
            title="how much of the prior lies in holes")
    ax2.title.set_fontsize(9)
    ax2.grid(alpha=0.3)
    return fig


def draw_interpolations(rows, ncol=None, scale=0.55):
    """Rows of images, one row per entry of ``rows`` ({label: (steps, 784)}), the label at the
    left. Returns a Figure."""
    ncol = ncol or max(len(v) for v in rows.values())
    width = scale * ncol + 2.4
    fig = plot.Figure(figsize=(width, scale * len(rows) + 0.2))
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    for ax, (label, images) in zip(axes, rows.items()):
        ax.imshow(plot.tile_images(np.asarray(images), ncol), **plot.IMAGE_KW)
        ax.set(xticks=[], yticks=[])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(left=2.3 / width, right=0.99, top=0.98, bottom=0.02, hspace=0.08)
    return fig


def draw_point(model, z1, z2, codes, labels, log_q=None, lim=3.5, steps=9):
    """The latent-slider widget: the image a 2-latent model decodes at z = (z1, z2).

    Left: the codes (n, 2) coloured by their labels, a cross at z, and the two lines through
    z along which the sliders move. Right, top: the decoded image; below it, two strips: the
    images decoded along z[0] (z[1] held) and along z[1] (z[0] held), the current one framed.
    log_q: optional function (m, 2) -> log q(z) (the aggregate posterior's log density), to
    print q(z)/p(z) at the point. Returns a Figure.
    """
    z = np.array([[z1, z2]], dtype=np.float64)
    grid = np.linspace(-lim, lim, steps)
    along0 = np.column_stack([grid, np.full(steps, z2)])
    along1 = np.column_stack([np.full(steps, z1), grid])
    decoded = model.decode(np.concatenate([z, along0, along1]))
    image, strip0, strip1 = decoded[0], decoded[1:1 + steps], decoded[1 + steps:]
    fig = plot.Figure(figsize=(8.4, 4.2))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.92, wspace=0.12)
    outer = fig.add_gridspec(1, 2, width_ratios=[1, 1])
    ax = fig.add_subplot(outer[0])
    _scatter(ax, codes, labels, lim + 0.5)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.axhline(z2, color="gray", lw=0.8)
    ax.axvline(z1, color="gray", lw=0.8)
    ax.plot([z1], [z2], marker="X", ms=12, color="black", mec="white", mew=1.5)
    ax.set_title(f"z = ({z1:.2f}, {z2:.2f})", fontsize=10)
    right = outer[1].subgridspec(3, 1, height_ratios=[2.6, 1, 1], hspace=0.5)
    ax_img = fig.add_subplot(right[0])
    ax_img.imshow(image.reshape(28, 28), **plot.IMAGE_KW)
    title = "decoded at z"
    if log_q is not None:
        log_p = -0.5 * (z1 ** 2 + z2 ** 2) - LOG_2PI
        ratio = float(np.exp(np.asarray(log_q(z))[0] - log_p))
        title += f";  q(z)/p(z) = {ratio:.2g}" + ("  (a hole)" if ratio < 0.1 else "")
    ax_img.set_title(title, fontsize=9)
    for row, (strip, name, value) in enumerate([(strip0, "z[0]", z1), (strip1, "z[1]", z2)]):
        ax_s = fig.add_subplot(right[row + 1])
        ax_s.imshow(plot.tile_images(strip, steps), **plot.IMAGE_KW)
        k = int(np.argmin(np.abs(grid - value)))
        ax_s.add_patch(Rectangle((k * 29 - 0.5, -0.5), 28, 28, fill=False, edgecolor="tab:red",
                                 lw=2, clip_on=False))
        ax_s.set_title(f"along {name} from {-lim:g} to {lim:g}", fontsize=8)
        for a in (ax_img, ax_s):
            a.set(xticks=[], yticks=[])
    return fig
