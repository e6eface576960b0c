"""Widget and helpers of chapter 10 (book/10_measuring.ipynb): measuring a VAE.

The importance-weighted bound of Burda, Grosse & Salakhutdinov (2015) on k draws
z_1..z_k ~ q(z|x), with log-weights log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x):

    L_k = log (1/k) sum_i w_i  = log_mean_exp(log w_1, ..., log w_k)   <=  log p(x)

L_1 is a one-sample estimate of the ELBO; E[L_k] grows with k towards log p(x).

Helpers (plain functions, tested in tests/test_ch10_measuring.py):

    log_mean_exp(a, axis)       log of the mean of exp(a), without overflow or underflow
    iw_bounds(log_w, k)         L_k of each disjoint group of k draws of a pool of log-weights
    resampled_bounds(pool, k)   L_k of many groups of k draws resampled from one pool (widget)
    log_weights(model, x, n)    a pool of n log-weights per image from a vaelite VAE
    lognormal_log_mean(m, s)    log E[w] when log w ~ N(m, s^2): the toy's exact "log p(x)"
    lognormal_gap(s, k)         its large-k gap log E[w] - E[L_k] ~ (exp(s^2) - 1) / (2k)
    bits_per_dim(nats, d)       nats per image -> bits per pixel

Figures (each returns a matplotlib Figure): ``draw_bound_vs_k``, ``draw_kl_dimensions``,
``draw_log_weights`` (the chapter's widget).
"""
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..functional import logsumexp

__all__ = ["log_mean_exp", "iw_bounds", "resampled_bounds", "log_weights",
           "lognormal_log_mean", "lognormal_gap", "bits_per_dim", "standard_error",
           "draw_bound_vs_k", "draw_kl_dimensions", "draw_log_weights"]


def log_mean_exp(a, axis=0):
    """log(mean(exp(a), axis)) = logsumexp(a, axis) - log n, computed around the maximum
    (``vaelite.functional.logsumexp``): nothing overflows or underflows, and a slice that is
    all -inf gives -inf."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf slice, as meant
        return logsumexp(a, axis) - math.log(a.shape[axis])


def iw_bounds(log_w, k):
    """L_k of each disjoint group of k consecutive draws: (m, ...) -> (m // k, ...).

    log_w: log-weights with the draws along axis 0 (e.g. (m, n) for n images); m must be a
    multiple of k. The mean over the groups estimates E[L_k] with m / k independent terms:
    k = 1 gives every log w (their mean estimates the ELBO), k = m a single L_m.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    k = int(k)
    m = log_w.shape[0]
    if k < 1 or m % k:
        raise ValueError(f"k must divide the number of draws {m}, got k={k}")
    return log_mean_exp(log_w.reshape(m // k, k, *log_w.shape[1:]), axis=1)


def resampled_bounds(pool, k, repeats=300, seed=0):
    """``repeats`` values of L_k, each from k draws resampled (with replacement) from ``pool``.

    pool: (m,) log-weights of one image. A stand-in for fresh draws of q(z|x) that costs no
    decoder passes; it is faithful while k is well below m. Returns (repeats,).
    """
    pool = np.asarray(pool, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, pool.shape[0], size=(int(repeats), int(k)))
    return log_mean_exp(pool[idx], axis=1)


def log_weights(model, x, n_samples, rng, *, batch_size=10, chunk=1000):
    """A pool of log-weights log p(x|z) + log p(z) - log q(z|x), z ~ q(z|x): (n_samples, n).

    model: a vaelite VAE (anything with ``check_input`` and ``log_importance_weights``);
    x: (n, input_dim) binary images. Draws ``chunk`` codes for ``batch_size`` images at a time
    (the decoder sees batch_size * chunk codes at once), so a large pool fits in memory.
    rng: a numpy Generator or an integer seed. Returns float64 NumPy.
    """
    from ..backends import current

    backend = current()
    rng = np.random.default_rng(rng)
    x = model.check_input(x)
    n = x.shape[0]
    out = np.empty((int(n_samples), n))
    for s in range(0, n, batch_size):
        xb = x[s:s + batch_size, ...]
        for start in range(0, int(n_samples), chunk):
            m = min(chunk, int(n_samples) - start)
            w = model.log_importance_weights(xb, m, rng)
            out[start:start + m, s:s + batch_size] = backend.to_host(w)
    return out


def lognormal_log_mean(m, s):
    """log E[w] for log w ~ N(m, s^2): m + s^2 / 2 (the mean of a log-normal variable)."""
    return m + s ** 2 / 2


def lognormal_gap(s, k):
    """Large-k gap log E[w] - E[L_k] for log w ~ N(m, s^2): Var[w] / (2 k E[w]^2), which for a
    log-normal w is (exp(s^2) - 1) / (2k). A second-order Taylor (delta-method) result."""
    return math.expm1(s ** 2) / (2 * k)


def bits_per_dim(nats, n_dims=784):
    """A negative log-likelihood in nats per image -> bits per pixel: nats / (n_dims ln 2)."""
    return nats / (n_dims * math.log(2))


def standard_error(values):
    """Standard error of the mean of a 1-D sample: sd (ddof=1) / sqrt(n)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1) / np.sqrt(values.size))


# ----------------------------------------------------------------------------- figures

def draw_bound_vs_k(ks, bounds, elbo, gains=None, gain_ses=None, n_images=None):
    """The importance-weighted bound against log k, with the ELBO as a line.

    ks: the k values; bounds: mean L_k over the images for each k (nats); elbo: the mean ELBO
    on the same images. Optional right panel: ``gains`` = mean of L_k - ELBO per image, with
    ``gain_ses`` its standard errors (paired over the same images). Returns the Figure.
    """
    ks = np.asarray(ks, dtype=float)
    bounds = np.asarray(bounds, dtype=float)
    panels = 2 if gains is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    ax.semilogx(ks, bounds, "o-", color="tab:blue", label=r"$\mathcal{L}_k$ (importance weighted)")
    ax.axhline(elbo, color="tab:orange", ls="--", label="ELBO")
    ax.set(xlabel="importance samples k", ylabel="nats per image",
           title="log p(x) from below" + (f" ({n_images} test digits)" if n_images else ""))
    ax.legend(fontsize=8, loc="lower right")
    if gains is not None:
        ax = axes[0, 1]
        gains = np.asarray(gains, dtype=float)
        yerr = None if gain_ses is None else 2 * np.asarray(gain_ses, dtype=float)
        ax.errorbar(ks, gains, yerr=yerr, fmt="o-", color="tab:blue", capsize=3)
        ax.set_xscale("log")
        ax.axhline(0, color="tab:orange", ls="--")
        ax.set(xlabel="importance samples k", ylabel=r"$\mathcal{L}_k$ - ELBO (nats)",
               title="gain over the ELBO (± 2 standard errors)")
    fig.tight_layout()
    return fig


def draw_kl_dimensions(kl, activity, threshold=0.01):
    """Left: the KL of each latent dimension, sorted; right: its activity Cov_x(E[z_j|x]) in
    the same order, with the active-unit threshold. Returns the Figure."""
    kl = np.asarray(kl, dtype=float)
    activity = np.asarray(activity, dtype=float)
    order = np.argsort(kl)[::-1]
    ranks = np.arange(1, kl.size + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax1.bar(ranks, kl[order], color="tab:blue")
    ax1.set(xlabel="latent dimension (sorted by KL)", ylabel="KL (nats)",
            title=f"KL per dimension: {kl.sum():.1f} nats in all")
    active = activity[order] > threshold
    ax2.bar(ranks[active], activity[order][active], color="tab:green", label="active")
    if not np.all(active):
        ax2.bar(ranks[~active], activity[order][~active], color="tab:gray", label="inactive")
    ax2.axhline(threshold, color="black", ls=":", label=f"threshold {threshold:g}")
    ax2.set_yscale("log")
    ax2.set(xlabel="latent dimension (same order)", ylabel=r"Cov$_x$(E[$z_j$|x])",
            title=f"activity: {int(active.sum())} of {kl.size} units active")
    ax2.legend(fontsize=8, loc="lower left")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def draw_log_weights(pool, k, repeats=300, seed=0, label=""):
    """The chapter's widget: one image's log-weights, and the spread of L_k for k draws.

    Left: the histogram of the pool of log-weights, with their mean (the ELBO) and their
    log-mean-exp (the best estimate of log p(x) the pool gives). Right: ``repeats`` values of
    L_k, each from k log-weights resampled from the pool. Returns the Figure.
    """
    pool = np.asarray(pool, dtype=np.float64)
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    elbo, best = pool.mean(), float(log_mean_exp(pool))
    bounds = resampled_bounds(pool, k, repeats, seed)
    lo = min(np.percentile(pool, 0.5), bounds.min())
    hi = max(best, bounds.max()) + 0.05 * (best - lo) + 1e-9
    bins = np.linspace(lo, hi, 61)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), sharex=True)
    ax1.hist(pool, bins=bins, color="tab:gray", alpha=0.7)
    ax1.set(xlabel=r"$\log w$ (nats)", ylabel="count",
            title=f"{pool.size:,} log-weights" + (f" of {label}" if label else ""))
    ax2.hist(bounds, bins=bins, color="tab:blue", alpha=0.7)
    ax2.set(xlabel=r"$\mathcal{L}_k$ (nats)", ylabel=f"count (of {int(repeats)})",
            title=f"k = {k}: mean {bounds.mean():.2f}, sd {bounds.std():.2f}")
    for ax in (ax1, ax2):
        ax.axvline(elbo, color="tab:orange", ls="--", label=f"mean = ELBO {elbo:.1f}")
        ax.axvline(best, color="black", lw=1.2, label=f"log-mean-exp {best:.1f}")
    ax1.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
