"""Widget of chapter 6 (book/06_reparameterization.ipynb): two gradient estimators side by side.

The toy problem of the chapter: z ~ N(mu, sigma^2), f(z) = (z - c)^2, so

    E[f(z)] = (mu - c)^2 + sigma^2,   d/dmu E[f] = 2 (mu - c),   d/dsigma E[f] = 2 sigma.

Each estimator averages n single-sample estimates, with eps ~ N(0, 1) and z = mu + sigma * eps:

    pathwise (reparameterized):  d/dmu ~ f'(z)                    d/dsigma ~ f'(z) * eps
    score function (REINFORCE):  d/dmu ~ (f(z) - b) eps / sigma   d/dsigma ~ (f(z) - b)(eps^2 - 1) / sigma

where b is a baseline (0 for plain REINFORCE). The widget repeats each estimate many times and
shows the histograms of the estimates around the true gradient.
"""
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["C", "expected_f", "true_grads", "estimates", "single_sample_variances",
           "draw_estimators"]

C = 2.0  # the target c of f(z) = (z - c)^2 used throughout the chapter


def expected_f(mu, sigma, c=C):
    """E[(z - c)^2] for z ~ N(mu, sigma^2): the squared bias plus the variance."""
    return (mu - c) ** 2 + sigma ** 2


def true_grads(mu, sigma, c=C):
    """The exact gradient (d/dmu, d/dsigma) of E[(z - c)^2]."""
    return 2.0 * (mu - c), 2.0 * sigma


def estimates(mu, sigma, eps, c=C, baseline=0.0):
    """Gradient estimates from the noise eps: (..., n) -> each estimator averaged over the last axis.

    Returns a dict of arrays of shape eps.shape[:-1]: "pathwise_mu", "pathwise_sigma",
    "score_mu", "score_sigma" (REINFORCE, minus ``baseline`` from f).
    """
    eps = np.asarray(eps, dtype=np.float64)
    z = mu + sigma * eps
    f = (z - c) ** 2
    df = 2.0 * (z - c)  # f'(z)
    return {
        "pathwise_mu": df.mean(axis=-1),
        "pathwise_sigma": (df * eps).mean(axis=-1),
        "score_mu": ((f - baseline) * eps / sigma).mean(axis=-1),
        "score_sigma": ((f - baseline) * (eps ** 2 - 1) / sigma).mean(axis=-1),
    }


def single_sample_variances(mu, sigma, c=C):
    """Closed-form variances of one-sample estimates (derived in the chapter).

    With a = mu - c: keys "pathwise_mu", "score_mu", "score_baseline_mu" (b = E[f]),
    "pathwise_sigma", "score_sigma", "score_baseline_sigma". Divide by n for an n-sample mean.
    """
    a, s = mu - c, sigma
    return {
        "pathwise_mu": 4 * s**2,
        "score_mu": a**4 / s**2 + 14 * a**2 + 15 * s**2,
        "score_baseline_mu": 8 * a**2 + 10 * s**2,
        "pathwise_sigma": 4 * a**2 + 8 * s**2,
        "score_sigma": 2 * a**4 / s**2 + 60 * a**2 + 74 * s**2,
        "score_baseline_sigma": 40 * a**2 + 56 * s**2,
    }


def draw_estimators(mu=0.5, sigma=0.8, n=10, baseline=False, c=C, repeats=2000, seed=0):
    """Histograms of ``repeats`` independent n-sample estimates of d/dmu E[(z - c)^2].

    baseline: subtract b = E[f] in REINFORCE. Returns a matplotlib Figure.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((int(repeats), n))
    b = expected_f(mu, sigma, c) if baseline else 0.0
    est = estimates(mu, sigma, eps, c, baseline=b)
    exact = true_grads(mu, sigma, c)[0]
    path, score = est["pathwise_mu"], est["score_mu"]
    # a common range that shows most of both distributions
    lo = min(np.percentile(path, 0.5), np.percentile(score, 0.5), exact)
    hi = max(np.percentile(path, 99.5), np.percentile(score, 99.5), exact)
    pad = 0.05 * (hi - lo) + 1e-9
    bins = np.linspace(lo - pad, hi + pad, 61)
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    name = "REINFORCE" + (" with baseline" if baseline else "")
    ax.hist(score, bins=bins, histtype="stepfilled", alpha=0.55, color="tab:orange",
            label=f"{name}: sd {score.std():.2f}")
    ax.hist(path, bins=bins, histtype="stepfilled", alpha=0.55, color="tab:blue",
            label=f"pathwise: sd {path.std():.2f}")
    ax.axvline(exact, color="black", lw=1.5, label=f"true gradient {exact:.2f}")
    ax.set_xlabel(r"estimate of $\partial\,\mathbb{E}[f(z)]/\partial\mu$")
    ax.set_ylabel(f"count (of {int(repeats)})")
    ax.set_title(rf"$\mu$={mu:g}, $\sigma$={sigma:g}, n={n} samples per estimate", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
