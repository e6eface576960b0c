"""Widget of chapter 5, "KL divergence": a Gaussian q = N(mu, sigma^2) against N(0, 1).

    KL(q || N(0, 1)) = mu^2 / 2  +  (sigma^2 - 1 - log sigma^2) / 2
                       mean term    variance term

The plain functions here are what the sliders call (and what the tests check).
"""
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["kl_parts", "draw"]


def kl_parts(mu, sigma):
    """The two parts of KL(N(mu, sigma^2) || N(0, 1)) and their sum, as a dict of floats.

    mean: mu^2 / 2 (the price of moving away from 0);
    variance: (sigma^2 - 1 - log sigma^2) / 2 (the price of a width other than 1; >= 0,
    zero only at sigma = 1, since t - 1 - log t >= 0 for t > 0).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    mean = 0.5 * mu**2
    variance = 0.5 * (sigma**2 - 1 - 2 * np.log(sigma))
    return {"mean": float(mean), "variance": float(variance), "total": float(mean + variance)}


def draw(mu, sigma):
    """Left: q = N(mu, sigma^2) and the prior N(0, 1). Right: the KL and its two parts."""
    parts = kl_parts(mu, sigma)
    z = np.linspace(-5, 5, 500)
    prior = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    q = np.exp(-0.5 * ((z - mu) / sigma) ** 2) / np.sqrt(2 * np.pi * sigma**2)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3),
                                 gridspec_kw={"width_ratios": [2, 1]})
    # fixed margins, not layout="constrained": the book renders many frames of this figure
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.25)
    ax.plot(z, prior, color="k", label="prior N(0, 1)")
    ax.plot(z, q, color="C0", label=f"q = N({mu:g}, {sigma:g}²)")
    ax.fill_between(z, q, color="C0", alpha=0.2)
    ax.set(xlim=(-5, 5), ylim=(0, 1.7), xlabel="z", ylabel="density")
    ax.legend(loc="upper left", fontsize=8, frameon=False)

    bx.bar([0], [parts["mean"]], width=0.6, color="C1", label="mean term  μ²/2")
    bx.bar([0], [parts["variance"]], bottom=parts["mean"], width=0.6, color="C2",
           label="variance term  (σ² − 1 − log σ²)/2")
    bx.set(xlim=(-0.8, 0.8), ylim=(0, 9), xticks=[], ylabel="nats")
    bx.set_title(f"KL = {parts['mean']:.3f} + {parts['variance']:.3f}\n= {parts['total']:.3f} nats",
                 fontsize=10)
    bx.legend(loc="upper center", fontsize=7, frameon=False)
    return fig
