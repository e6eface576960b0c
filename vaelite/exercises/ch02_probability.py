"""Exercises of chapter 2, "A probability toolkit" (book/02_probability.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def normal_log_pdf(x, mu, sigma):
    """log N(x; mu, sigma^2), elementwise, finite even where the density underflows to 0."""
    # log of (2 pi sigma^2)^(-1/2) exp(-(x - mu)^2 / (2 sigma^2)), simplified by hand:
    # never compute the density first and take its log (exp(-800) is 0.0 in float64).
    return -0.5 * np.log(2 * np.pi * sigma**2) - (x - mu) ** 2 / (2 * sigma**2)


def discrete_posterior(prior, likelihood):
    """Bayes' rule for a discrete z: posterior[k] = prior[k] * likelihood[k] / evidence.

    prior:      (K,) probabilities p(z = k), summing to 1
    likelihood: (K,) values p(x | z = k) for the one observed x
    """
    joint = prior * likelihood          # p(x, z = k)
    evidence = np.sum(joint)            # p(x) = sum_k p(x, z = k)
    return joint / evidence


def gaussian_posterior(prior_mean, prior_var, noise_var, x):
    """Posterior (mean, variance) of mu, for mu ~ N(prior_mean, prior_var) and
    x_i ~ N(mu, noise_var) independently, i = 1..n; x: (n,)."""
    n = len(x)
    post_var = 1.0 / (1.0 / prior_var + n / noise_var)          # precisions add
    post_mean = post_var * (prior_mean / prior_var + np.sum(x) / noise_var)
    return post_mean, post_var


register(Exercise(
    name="ch02.normal_log_pdf",
    title="The log-density of a Gaussian",
    reference=normal_log_pdf,
    cases=[((0.0, 0.0, 1.0), -0.5 * np.log(2 * np.pi)),
           ((np.array([1.0, 3.0]), 1.0, 2.0),
            np.array([-0.5 * np.log(8 * np.pi), -0.5 * np.log(8 * np.pi) - 0.5])),
           # far in the tail: the density is exp(-800.9...) = 0.0, its log is not
           ((np.array([40.0]), 0.0, 1.0), np.array([-800.0 - 0.5 * np.log(2 * np.pi)]))],
    random_cases=lambda rng: [(rng.normal(size=6), rng.normal(), rng.uniform(0.1, 3.0))
                              for _ in range(3)],
    hint="expand log of the formula by hand: log((2 pi sigma^2)^(-1/2)) + (the exponent). "
         "np.log(np.exp(-800.9)) is -inf, because exp(-800.9) underflows to 0.",
    minutes=10,
))

register(Exercise(
    name="ch02.discrete_posterior",
    title="Bayes' rule for a discrete latent variable",
    reference=discrete_posterior,
    cases=[((np.array([0.5, 0.5]), np.array([0.2, 0.6])), np.array([0.25, 0.75])),
           # the disease test: 1% prevalence, 95% sensitivity, 5% false positives
           ((np.array([0.01, 0.99]), np.array([0.95, 0.05])),
            np.array([0.0095, 0.0495]) / 0.059),
           # a likelihood that is not a probability vector (it need not sum to 1)
           ((np.array([0.2, 0.3, 0.5]), np.array([2.0, 2.0, 2.0])), np.array([0.2, 0.3, 0.5]))],
    random_cases=lambda rng: [(rng.dirichlet(np.ones(k)), rng.uniform(0.01, 1.0, size=k))
                              for k in (3, 10)],
    hint="multiply prior and likelihood entry by entry (that is the joint p(x, z)), "
         "then divide by the sum over z (that is the evidence p(x)).",
    minutes=10,
))

register(Exercise(
    name="ch02.gaussian_posterior",
    title="The posterior of a Gaussian mean (conjugate prior)",
    reference=gaussian_posterior,
    cases=[((0.0, 1.0, 1.0, np.array([2.0])), (1.0, 0.5)),
           ((1.0, 4.0, 2.0, np.array([])), (1.0, 4.0)),      # no data: posterior = prior
           ((0.0, 1.0, 0.5, np.array([1.0, 2.0, 3.0])), (6.0 / 7.0 / 0.5, 1.0 / 7.0))],
    random_cases=lambda rng: [(rng.normal(), rng.uniform(0.2, 4.0), rng.uniform(0.2, 4.0),
                               rng.normal(1.0, 1.0, size=n)) for n in (1, 5, 50)],
    hint="precisions (1 / variance) add: 1/post_var = 1/prior_var + n/noise_var. "
         "The posterior mean is post_var * (prior_mean/prior_var + sum(x)/noise_var).",
    minutes=15,
))
