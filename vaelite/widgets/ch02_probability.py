"""Pictures and small computations for chapter 2, "A probability toolkit".

Every function here is plain: numbers in, numbers (or a matplotlib Figure) out, so the tests
can check them and the chapter can show them live (``vaelite.widgets.live``) or as a
precomputed slider (``vaelite.widgets.slider_frames``).

    normal_pdf(x, mu, sigma)                   density of N(mu, sigma^2), elementwise
    disease_posterior(prevalence, ...)         Bayes' rule for a yes/no test
    conjugate_gaussian_posterior(...)          closed-form posterior of a Gaussian mean
    bayes_curves(mu_grid, ...)                 prior, likelihood and posterior on a grid
    draw_disease_test(prevalence)              Figure: prior and posterior bars
    draw_bayes_update(prior_mean, ...)         Figure: prior, likelihood, posterior curves
"""
import matplotlib.pyplot as plt
import numpy as np

from ..losses import gaussian_log_prob

# The chapter's running example: observations of an unknown mean, generated once with a
# fixed seed. Scaling the same standard-normal draws by noise_std keeps the data "the same"
# while a slider changes the noise, so the picture moves smoothly.
TRUE_MEAN = 1.5
_EPS = np.random.default_rng(2).standard_normal(64)


def normal_pdf(x, mu=0.0, sigma=1.0):
    """The density of N(mu, sigma^2) at x, elementwise (x, mu, sigma broadcast together),
    via the library's ``gaussian_log_prob`` so there is one formula in the project."""
    x, mu, sigma = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, mu, sigma)))
    return np.exp(gaussian_log_prob(x[..., None], mu[..., None], 2 * np.log(sigma[..., None])))


def observations(n, noise_std=1.0):
    """The first n observations x_i = TRUE_MEAN + noise_std * eps_i of the running example."""
    if not 0 <= n <= len(_EPS):
        raise ValueError(f"n must be in 0..{len(_EPS)}, got {n}")
    return TRUE_MEAN + noise_std * _EPS[:n]


def disease_posterior(prevalence, sensitivity=0.95, false_positive=0.05):
    """P(sick | positive test) by Bayes' rule.

    prior p(z):        P(sick) = prevalence
    likelihood p(x|z): P(+ | sick) = sensitivity, P(+ | healthy) = false_positive
    evidence p(x):     P(+) = P(+|sick) P(sick) + P(+|healthy) P(healthy)
    Returns (posterior P(sick | +), evidence P(+)).
    """
    evidence = sensitivity * prevalence + false_positive * (1 - prevalence)
    return sensitivity * prevalence / evidence, evidence


def conjugate_gaussian_posterior(prior_mean, prior_std, noise_std, x):
    """Posterior of mu for x_i ~ N(mu, noise_std^2) (independent), mu ~ N(prior_mean, prior_std^2).

    Precisions add:  1/s_n^2 = 1/s_0^2 + n/sigma^2;
    means average:   m_n = s_n^2 (m_0/s_0^2 + sum(x)/sigma^2).
    Returns (posterior mean, posterior std).
    """
    x = np.asarray(x, dtype=float)
    precision = 1 / prior_std**2 + x.size / noise_std**2
    var = 1 / precision
    return var * (prior_mean / prior_std**2 + x.sum() / noise_std**2), np.sqrt(var)


def bayes_curves(mu_grid, prior_mean, prior_std, noise_std, x):
    """Prior, likelihood and posterior of the mean mu, evaluated on mu_grid (equally spaced).

    Returns a dict of arrays of the grid's shape:
      prior       p(mu)
      likelihood  p(x | mu) as a function of mu, rescaled to area 1 so it fits on the same axes
                  (a likelihood is not a density in mu: its own area means nothing)
      posterior   prior * likelihood, divided by its Riemann sum: Bayes' rule on the grid
      exact       the closed-form conjugate posterior density
    and the floats evidence_grid (the Riemann sum of prior * likelihood, i.e. p(x)).
    """
    mu_grid = np.asarray(mu_grid, dtype=float)
    x = np.asarray(x, dtype=float)
    dmu = mu_grid[1] - mu_grid[0]
    prior = normal_pdf(mu_grid, prior_mean, prior_std)
    # log p(x | mu) = sum_i log N(x_i; mu, sigma^2), for every mu on the grid at once
    log_lik = gaussian_log_prob(x[None, :], mu_grid[:, None], 2 * np.log(noise_std))
    lik = np.exp(log_lik)
    unnormalised = prior * lik
    evidence = np.sum(unnormalised) * dmu
    lik_area = np.sum(lik) * dmu
    m, s = conjugate_gaussian_posterior(prior_mean, prior_std, noise_std, x)
    return {"prior": prior,
            "likelihood": lik / lik_area if lik_area > 0 else lik,
            "posterior": unnormalised / evidence,
            "exact": normal_pdf(mu_grid, m, s),
            "evidence_grid": float(evidence)}


def draw_disease_test(prevalence=0.01, sensitivity=0.95, false_positive=0.05):
    """Figure: P(sick) before the test and P(sick | positive) after it."""
    post, evidence = disease_posterior(prevalence, sensitivity, false_positive)
    fig, ax = plt.subplots(figsize=(6, 2.6))
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.2, top=0.88)  # fixed: fast to redraw
    labels = ["before the test\np(sick)", "after a positive test\np(sick | +)"]
    bars = ax.barh(labels, [prevalence, post], color=["#999999", "#c0392b"])
    for bar, value in zip(bars, [prevalence, post]):
        ax.text(min(value + 0.01, 0.86), bar.get_y() + bar.get_height() / 2,
                f"{value:.1%}", va="center")
    ax.set(xlim=(0, 1), xlabel="probability of being sick",
           title=f"prevalence {prevalence:.1%}, sensitivity {sensitivity:.0%}, "
                 f"false positives {false_positive:.0%}")
    ax.invert_yaxis()
    return fig


def draw_bayes_update(prior_mean=0.0, prior_std=1.0, noise_std=1.0, n_obs=3):
    """Figure: prior, likelihood and posterior of a Gaussian mean after n_obs observations."""
    x = observations(n_obs, noise_std)
    mu = np.linspace(-4, 5, 901)
    curves = bayes_curves(mu, prior_mean, prior_std, noise_std, x)
    m, s = conjugate_gaussian_posterior(prior_mean, prior_std, noise_std, x)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.9)  # fixed: fast to redraw
    ax.plot(mu, curves["prior"], color="#7f7f7f", label="prior $p(\\mu)$")
    if n_obs:
        ax.plot(mu, curves["likelihood"], color="#1f77b4", ls="--",
                label="likelihood $p(x\\mid\\mu)$ (rescaled)")
    ax.plot(mu, curves["posterior"], color="#c0392b", lw=2.5, label="posterior $p(\\mu\\mid x)$")
    ax.plot(x, np.zeros_like(x), "|", color="k", ms=14, mew=1.5, label="observations $x_i$")
    ax.axvline(TRUE_MEAN, color="k", lw=0.8, ls=":", label=f"true mean {TRUE_MEAN:g}")
    ax.set(xlim=(mu[0], mu[-1]), ylim=(0, max(2.0, 1.1 * curves["posterior"].max())),
           xlabel="$\\mu$ (the unknown mean)", ylabel="density",
           title=f"n = {n_obs}: posterior mean {m:.2f}, posterior std {s:.2f}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig
