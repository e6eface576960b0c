"""Widget and helpers of chapter 8 (book/08_training.ipynb): training a VAE on MNIST.

The helpers re-run chapter 1's measurements of a latent space on any trained model (the plain
autoencoder or a VAE): where the code cloud sits, how much of it is empty, and what a nearest-
neighbour classifier says about images decoded from random codes. The classifier
(``knn_vote``) and the distance helpers come from ``vaelite.widgets.ch01_autoencoder``.

Also here: ``MeanOverPixels``, the most common VAE bug as a likelihood (the reconstruction
averaged over pixels instead of summed), a sharpness score for images, a ``fit`` callback that
snapshots a model after every epoch, and the figures of the chapter and its widget.
"""
import numpy as np

from .. import plot
from .ch01_autoencoder import gap_fraction, knn_vote, nearest_code, neighbour_spacing

__all__ = ["cloud_measures", "generation_measures", "failure_table",
           "MeanOverPixels", "sharpness", "Snapshots", "draw_snapshot", "draw_image_rows",
           "draw_codes_and_decodes"]


def cloud_measures(codes_train, y_train, codes_test, y_test, n_grid=100):
    """Chapter 1's measurements of a cloud of 2-D codes, as a dict of numbers.

    centre, spread: the mean and standard deviation of the training codes, (2,) each;
    radius:     r, the 99th percentile of the distance from a code to its nearest other code
                (99% of codes have a neighbour closer than r);
    box_gap:    the share of an n_grid x n_grid grid over the codes' bounding box that is
                farther than r from every code ("in a gap");
    same_label: the share of test codes whose nearest training code has the same label.
    """
    codes_train = np.asarray(codes_train, dtype=np.float64)
    radius = float(np.percentile(neighbour_spacing(codes_train), 99))
    lo, hi = codes_train.min(axis=0), codes_train.max(axis=0)
    _, nearest = nearest_code(codes_test, codes_train)
    return {"centre": codes_train.mean(axis=0), "spread": codes_train.std(axis=0),
            "radius": radius, "box_gap": gap_fraction(codes_train, lo, hi, n_grid, radius),
            "same_label": float(np.mean(np.asarray(y_train)[nearest] == np.asarray(y_test)))}


def generation_measures(model, z, codes_train, radius, x_train, y_train):
    """Chapter 1's measurements of codes ``z`` used to generate, as a dict of floats.

    model: a trained model with ``decode`` and ``code`` (Autoencoder or VAE); z: (m, 2) codes;
    codes_train: the training images' codes; radius: the gap radius r of those codes.
    gap:    share of z farther than r from every training code;
    top, rarest: the largest and smallest share of decoded images that the nearest-neighbour
            classifier (``knn_vote`` on x_train, y_train) gives one label (0.1 is balanced);
    vote:   the mean share of the winning label's votes (how unambiguous the images are);
    trip:   median distance from z to the code of its decoded image (the round trip).
    """
    z = np.asarray(z, dtype=np.float64)
    dist, _ = nearest_code(z, codes_train)
    images = model.decode(z)
    labels, share = knn_vote(images, x_train, y_train)
    counts = np.bincount(labels, minlength=10) / len(z)
    trip = np.linalg.norm(model.code(images) - z, axis=1)
    return {"gap": float(np.mean(dist > radius)), "top": float(counts.max()),
            "rarest": float(counts.min()), "vote": float(share.mean()),
            "trip": float(np.median(trip))}


def failure_table(rows):
    """Chapter 1's failure measurements as a text table, one row per (model, codes) pair.

    rows: {name: measures}, each measures a dict with the keys of ``generation_measures``
    plus "trip_ratio" (the round trip divided by the one at the model's real test codes).
    """
    lines = [f"{'model: codes drawn from':34s} {'in a gap':>8s} {'top digit':>9s} "
             f"{'rarest':>7s} {'vote':>6s} {'round trip':>10s}",
             f"{'':34s} {'':>8s} {'':>9s} {'digit':>7s} {'share':>6s} {'(x real)':>10s}"]
    for name, m in rows.items():
        lines.append(f"{name:34s} {m['gap']:8.0%} {m['top']:9.0%} {m['rarest']:7.1%} "
                     f"{m['vote']:6.2f} {m['trip_ratio']:10.1f}")
    return "\n".join(lines)


class MeanOverPixels:
    """The classic VAE bug as a likelihood: the reconstruction term *averaged* over the pixels
    instead of summed. It wraps a likelihood (``model.likelihood``) and divides its negative
    log-likelihood, and the gradient, by the number of pixels; everything else (``mean``,
    ``sample``, ``log_prob``, parameters) is the wrapped likelihood's.

        model.likelihood = MeanOverPixels(model.likelihood)    # introduce the bug
        model.likelihood = model.likelihood.inner              # remove it (the weights stay)
    """

    def __init__(self, inner):
        self.inner = inner

    def nll(self, out, x):
        value, dout = self.inner.nll(out, x)   # sum over pixels, mean over the batch
        d = x.shape[1]                         # the number of pixels, 784 for MNIST
        return value / d, dout / d             # mean over pixels: the bug

    def __getattr__(self, name):               # only called for what this class lacks
        if name == "inner":                    # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)       # mean, sample, log_prob, parameters, ...


def sharpness(images, image_shape=(28, 28)):
    """Mean squared difference between neighbouring pixels (across and down), averaged over
    the images: large for crisp strokes, small for blurry ones.

    images: (n, h * w) or (n, h, w); values are clipped to [0, 1] first (a Gaussian decoder's
    mean may leave that range). Returns a float.
    """
    a = np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0).reshape(-1, *image_shape)
    across = np.diff(a, axis=2) ** 2
    down = np.diff(a, axis=1) ** 2
    return float((across.sum() + down.sum()) / (across.size + down.size))


class Snapshots:
    """A ``fit`` callback that records, after every epoch, the codes of a fixed batch of images
    (``model.code(x)``), their reconstructions, and the images decoded at fixed codes ``z``
    (samples from the prior, the same codes every epoch), with the test loss if there is one.

        snapshots = Snapshots(z=rng.standard_normal((16, 2)), x=mnist.x_test)
        fit(model, ..., callbacks=[snapshots])
        snapshots.epochs, snapshots.codes[i], snapshots.samples[i], snapshots.recons[i]
    """

    def __init__(self, z, x, n_recon=8):
        self.z, self.x, self.n_recon = np.asarray(z), np.asarray(x), int(n_recon)
        self.epochs, self.codes, self.samples, self.recons, self.test_loss = [], [], [], [], []

    def __call__(self, epoch, model, history):
        self.epochs.append(int(epoch))
        self.codes.append(np.asarray(model.code(self.x)))
        self.samples.append(np.asarray(model.decode(self.z)))
        self.recons.append(np.asarray(model.reconstruct(self.x[:self.n_recon])))
        test = getattr(history, "test", {}).get("loss", [])
        self.test_loss.append(float(test[-1]) if test else float("nan"))


def draw_snapshot(snapshots, index, labels, lim=4.0):
    """The widget of chapter 8: a VAE after epoch ``snapshots.epochs[index]``.

    Left: the codes of the fixed images coloured by ``labels``, with circles at 1 and 2
    standard deviations of the prior N(0, I); middle: the images decoded at the fixed prior
    codes; right: the first fixed images over their reconstructions. Returns a Figure.
    """
    codes, samples = snapshots.codes[index], snapshots.samples[index]
    fig = plot.Figure(figsize=(10.5, 3.6))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.1, 1, 1]})
    # fixed margins, not layout="constrained": the book renders many frames of this figure
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.12, top=0.82, wspace=0.12)
    plot.latent_scatter(codes, labels, ax=axes[0], s=4, alpha=0.5)
    if axes[0].get_legend() is not None:
        axes[0].get_legend().remove()
    t = np.linspace(0, 2 * np.pi, 200)
    for radius in (1, 2):
        axes[0].plot(radius * np.cos(t), radius * np.sin(t), color="black", lw=0.8, ls="--")
    axes[0].set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    axes[0].set_title("codes of test digits;\nprior at 1 and 2 standard deviations", fontsize=9)
    ncol = int(np.ceil(np.sqrt(len(samples))))
    axes[1].imshow(plot.tile_images(samples, ncol), **plot.IMAGE_KW)
    axes[1].set_title("decoded at the same\nrandom codes z ~ N(0, I)", fontsize=9)
    n = len(snapshots.recons[index])
    ncol = max(1, -(-n // 2))
    top = plot.tile_images(snapshots.x[:n], ncol)
    bottom = plot.tile_images(snapshots.recons[index], ncol)
    mosaic = np.concatenate([top, np.ones((2, top.shape[1])), bottom])   # a white line between
    axes[2].imshow(mosaic, **plot.IMAGE_KW)
    axes[2].set_title("test digits (top) and\ntheir reconstructions (bottom)", fontsize=9)
    for ax in axes[1:]:
        ax.set(xticks=[], yticks=[])
    loss = snapshots.test_loss[index]
    fig.suptitle(f"after epoch {snapshots.epochs[index]}"
                 + (f": test -ELBO {loss:.1f} nats per image" if np.isfinite(loss) else ""),
                 fontsize=11)
    return fig


def draw_image_rows(rows, ncol=12, scale=0.55):
    """One row of images per entry of ``rows`` ({label: images (n, 784)}), the label at the
    left; the first ``ncol`` images of each. Returns a Figure."""
    width = scale * ncol + 2.8
    fig = plot.Figure(figsize=(width, scale * len(rows) + 0.2))
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    for ax, (label, images) in zip(axes, rows.items()):
        ax.imshow(plot.tile_images(np.asarray(images)[:ncol], ncol), **plot.IMAGE_KW)
        ax.set(xticks=[], yticks=[])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(left=2.7 / width, right=0.99, top=0.98, bottom=0.02, hspace=0.08)
    return fig


def draw_codes_and_decodes(panels, ncol=8):
    """One column per panel (title, codes, labels, z, decoded): on top the codes coloured by
    label with the first ``ncol**2`` points of z marked +, below the images decoded at them.

    panels: a list of (title, codes (n, 2), labels (n,), z (m, 2), decoded (m, 784)).
    Returns a Figure with two Axes per panel.
    """
    fig = plot.Figure(figsize=(3.8 * len(panels), 7.6), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for (title, codes, labels, z, decoded), ax1, ax2 in zip(panels, axes[0], axes[1]):
        m = min(ncol * ncol, len(z))
        plot.latent_scatter(codes, labels, ax=ax1, s=4, alpha=0.4)
        if ax1.get_legend() is not None:
            ax1.get_legend().remove()
        ax1.scatter(*np.asarray(z)[:m].T, s=14, marker="+", color="black")
        ax1.set_title(f"{title}\n{len(codes)} codes (dots), {m} random codes (+)", fontsize=9)
        ax2.imshow(plot.tile_images(np.asarray(decoded)[:m], ncol), **plot.IMAGE_KW)
        ax2.set(xticks=[], yticks=[])
        ax2.set_title("decoded at the + codes", fontsize=9)
    return fig
