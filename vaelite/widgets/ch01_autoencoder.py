"""Widget and helpers of chapter 1 (book/01_autoencoder.ipynb): what a plain autoencoder
decodes at any point of its 2-D latent space.

The widget draws the latent codes of test digits with a marker at a point (z1, z2), next to
the image the decoder produces there, and says how far that point is from the nearest code.
The helpers measure the latent space: distances to the nearest code, the fraction of a box
that no code is near, points along a path; and what a model draws there: the labels a
nearest-neighbour classifier gives images (``knn_vote``) and how far the encoder puts a
decoded image from the code it was decoded from (``round_trip``).
"""
import matplotlib.pyplot as plt
import numpy as np

from .. import plot

__all__ = ["nearest_code", "neighbour_spacing", "gap_fraction", "path_points", "knn_vote",
           "round_trip", "draw_decoded"]


def nearest_code(points, codes, chunk=1024):
    """Distance from each point to its nearest code, and that code's index.

    points: (m, k); codes: (n, k). Returns (distances (m,), indices (m,)). Works in chunks
    of ``chunk`` points so that the (chunk, n) table of squared distances stays small.
    """
    points = np.asarray(points, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.float64)
    if points.ndim != 2 or codes.ndim != 2 or points.shape[1] != codes.shape[1]:
        raise ValueError(f"points and codes must be (m, k) and (n, k), got {points.shape} "
                         f"and {codes.shape}")
    sq_codes = np.sum(codes**2, axis=1)
    dist = np.empty(len(points))
    index = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), chunk):
        p = points[start:start + chunk]
        # |p - c|^2 = |p|^2 - 2 p.c + |c|^2, clipped at 0 against rounding
        d2 = np.sum(p**2, axis=1)[:, None] - 2 * p @ codes.T + sq_codes[None, :]
        i = np.argmin(d2, axis=1)
        index[start:start + chunk] = i
        dist[start:start + chunk] = np.sqrt(np.maximum(d2[np.arange(len(p)), i], 0.0))
    return dist, index


def neighbour_spacing(codes, chunk=1024):
    """Distance from each code to its nearest *other* code: (n,) for codes (n, k)."""
    codes = np.asarray(codes, dtype=np.float64)
    sq = np.sum(codes**2, axis=1)
    out = np.empty(len(codes))
    for start in range(0, len(codes), chunk):
        p = codes[start:start + chunk]
        d2 = sq[start:start + chunk, None] - 2 * p @ codes.T + sq[None, :]
        d2[np.arange(len(p)), np.arange(start, start + len(p))] = np.inf  # not itself
        out[start:start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def gap_fraction(codes, lo, hi, n_grid, radius):
    """Fraction of an n_grid x n_grid grid over the box [lo, hi] (2-D) whose nearest code is
    farther than ``radius``: how much of the box is empty."""
    g0 = np.linspace(lo[0], hi[0], int(n_grid))
    g1 = np.linspace(lo[1], hi[1], int(n_grid))
    grid = np.stack(np.meshgrid(g0, g1), axis=-1).reshape(-1, 2)
    return float(np.mean(nearest_code(grid, codes)[0] > radius))


def path_points(waypoints, steps):
    """``steps`` points evenly spaced (by arc length) along the polyline through ``waypoints``.

    waypoints: (w, k) with w >= 2. Returns (steps, k).
    """
    waypoints = np.asarray(waypoints, dtype=np.float64)
    if waypoints.ndim != 2 or len(waypoints) < 2:
        raise ValueError(f"waypoints must be (w, k) with w >= 2, got {waypoints.shape}")
    seg = np.linalg.norm(np.diff(waypoints, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], int(steps))
    return np.stack([np.interp(t, s, waypoints[:, j]) for j in range(waypoints.shape[1])], 1)


def knn_vote(images, x_train, y_train, k=10, chunk=1000):
    """Majority label of the k nearest training images (Euclidean, in pixel space), and the
    winner's share of the k votes: how unambiguous each image is.

    images: (m, d); x_train: (n, d); y_train: (n,) integer labels 0..9. Returns
    (labels (m,), shares (m,)); a tie goes to the smaller label. Works ``chunk`` images at a
    time, so that the (chunk, n) table of distances stays small.
    """
    images = np.asarray(images, dtype=np.float64)
    x_train = np.asarray(x_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    if images.ndim != 2 or x_train.ndim != 2 or images.shape[1] != x_train.shape[1]:
        raise ValueError(f"images and x_train must be (m, d) and (n, d), got {images.shape} "
                         f"and {x_train.shape}")
    if not 0 < k <= len(x_train):
        raise ValueError(f"k must lie in 1..{len(x_train)}, got {k}")
    train_sq = np.sum(x_train**2, axis=1)
    labels = np.empty(len(images), dtype=np.int64)
    shares = np.empty(len(images))
    for start in range(0, len(images), chunk):
        block = images[start:start + chunk]
        # squared distances up to |image|^2, which is the same for every neighbour
        d2 = train_sq[None, :] - 2 * block @ x_train.T
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = np.stack([np.sum(y_train[nearest] == c, axis=1) for c in range(10)], axis=1)
        labels[start:start + chunk] = votes.argmax(axis=1)
        shares[start:start + chunk] = votes.max(axis=1) / k
    return labels, shares


def round_trip(model, z):
    """Distance from each code to the code of the image decoded there: |code(decode(z)) - z|.

    model: anything with ``decode`` and ``code`` (an Autoencoder, or a VAE, whose code is the
    mean of q(z|x)); z: (m, k). Returns (m,). Small where the encoder recognises what the
    decoder drew.
    """
    z = np.asarray(z, dtype=np.float64)
    return np.linalg.norm(model.code(model.decode(z)) - z, axis=1)


def draw_decoded(model, codes, labels, z1, z2, path=None, radius=None):
    """Left: the codes coloured by label, a marker at (z1, z2) (and an optional path);
    right: the image decoded at (z1, z2), titled with the distance to the nearest code.

    model: a trained 2-D Autoencoder (anything with ``decode``); codes: (n, 2); labels: (n,).
    radius: if given, a distance above which the point is called "in a gap".
    Returns a matplotlib Figure.
    """
    z = np.array([[z1, z2]], dtype=np.float64)
    image = model.decode(z)[0].reshape(28, 28)
    dist, index = nearest_code(z, codes)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.4, 3.2),
                                   gridspec_kw={"width_ratios": [1.6, 1]})
    plot.latent_scatter(codes, labels, ax=ax1, s=5, alpha=0.5)
    if path is not None:
        ax1.plot(path[:, 0], path[:, 1], color="black", lw=0.8, alpha=0.6)
    ax1.plot([z1], [z2], marker="X", ms=13, color="black", mec="white", mew=1.5)
    ax1.set_title(f"z = ({z1:.2f}, {z2:.2f})", fontsize=10)
    ax2.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax2.set_xticks([])
    ax2.set_yticks([])
    where = ""
    if radius is not None:
        where = ": in a gap" if dist[0] > radius else ": among the codes"
    ax2.set_title(f"decoded; nearest code {dist[0]:.2f} away{where}\n"
                  f"(a {labels[index[0]]})", fontsize=9)
    fig.tight_layout()
    return fig
