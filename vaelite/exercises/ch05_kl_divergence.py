"""Exercises of chapter 5, "KL divergence" (book/05_kl_divergence.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def kl_discrete(p, q):
    """KL(p || q) = sum_i p_i log(p_i / q_i) of two discrete distributions p, q: (n,).

    Terms with p_i = 0 contribute 0 (the limit of t log t as t -> 0); where p_i > 0 and
    q_i = 0 the divergence is +inf.
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    support = p > 0
    if np.any(q[support] == 0):
        return np.inf
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def moment_match(weights, means, sds):
    """The Gaussian N(m, s^2) that minimises KL(p || q) for a 1-D Gaussian mixture
    p = sum_k weights_k N(means_k, sds_k^2). Returns (m, s).

    Setting the derivatives of KL(p || q) = -H(p) - E_p[log q] to zero matches the moments:
    m = E_p[z] = sum_k w_k mu_k and s^2 = Var_p[z] = sum_k w_k (sigma_k^2 + mu_k^2) - m^2.
    """
    weights, means, sds = (np.asarray(a, dtype=float) for a in (weights, means, sds))
    weights = weights / np.sum(weights)
    m = np.sum(weights * means)
    second_moment = np.sum(weights * (sds**2 + means**2))
    return float(m), float(np.sqrt(second_moment - m**2))


def kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p):
    """KL( N(mu_q, diag exp(logvar_q)) || N(mu_p, diag exp(logvar_p)) ), one per example.

    Inputs: (batch, d). Returns (batch,): the 1-D formula, summed over the d independent
    coordinates.
    """
    return 0.5 * np.sum(logvar_p - logvar_q
                        + (np.exp(logvar_q) + (mu_q - mu_p) ** 2) / np.exp(logvar_p) - 1,
                        axis=-1)


def _random_discrete(rng, n):
    p, q = rng.random(n) ** 2, rng.random(n) + 0.01
    return p / p.sum(), q / q.sum()


register(Exercise(
    name="ch05.kl_discrete",
    title="KL divergence of two discrete distributions",
    reference=kl_discrete,
    cases=[
        ((np.array([0.5, 0.5]), np.array([0.5, 0.5])), 0.0),
        ((np.array([1.0, 0.0]), np.array([0.5, 0.5])), np.log(2.0)),
        ((np.array([0.0, 1.0]), np.array([0.25, 0.75])), np.log(4.0 / 3.0)),  # 0 log 0 = 0
        ((np.array([0.5, 0.5]), np.array([1.0, 0.0])), np.inf),  # p > 0 where q = 0
    ],
    random_cases=lambda rng: [_random_discrete(rng, n) for n in (3, 10, 100)],
    rtol=1e-9,
    hint="skip the terms where p_i = 0 (their limit is 0, not nan); a term with p_i > 0 "
         "and q_i = 0 makes the divergence infinite.",
    minutes=10,
))

def _random_mixture(rng, k):
    return rng.random(k) + 0.1, rng.normal(scale=3, size=k), rng.uniform(0.2, 2, k)


register(Exercise(
    name="ch05.moment_match",
    title="The mass-covering Gaussian fit of a mixture (moment matching)",
    reference=moment_match,
    cases=[
        # a single Gaussian is its own best fit
        ((np.array([1.0]), np.array([1.5]), np.array([0.3])), (1.5, 0.3)),
        # the chapter's bimodal mixture: mean 0, variance 0.5^2 + 2^2 = 4.25
        ((np.array([0.5, 0.5]), np.array([-2.0, 2.0]), np.array([0.5, 0.5])),
         (0.0, np.sqrt(4.25))),
        # weights that do not sum to one are normalised
        ((np.array([1.0, 3.0]), np.array([0.0, 4.0]), np.array([1.0, 1.0])),
         (3.0, 2.0)),
    ],
    random_cases=lambda rng: [_random_mixture(rng, k) for k in (2, 3, 6)],
    rtol=1e-9,
    hint="return the mean and the standard deviation (not the variance) of the mixture. "
         "The second moment of component k is sigma_k^2 + mu_k^2. Normalise the weights.",
    minutes=15,
))


def _random_diag(rng, batch, d):
    return (rng.normal(size=(batch, d)), rng.normal(size=(batch, d)),
            rng.normal(size=(batch, d)), rng.normal(size=(batch, d)))


register(Exercise(
    name="ch05.kl_diag_gaussians",
    title="KL divergence of two diagonal Gaussians, one value per example",
    reference=kl_diag_gaussians,
    cases=[
        # against N(0, I): 0.5 * (mu^2 + exp(logvar) - 1 - logvar), summed
        ((np.array([[2.0, 0.0]]), np.array([[0.0, 2.0]]), np.zeros((1, 2)), np.zeros((1, 2))),
         np.array([2.0 + (np.e**2 - 3) / 2])),
        # equal distributions, batch of 2
        ((np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3))), np.zeros(2)),
        # logvar_p != 0 and mu_q != mu_p: the mean term is divided by p's variance (4),
        # not q's; the second row has equal means and q's variance half of p's
        ((np.array([[1.0], [0.5]]), np.array([[0.0], [np.log(2.0)]]),
          np.array([[0.0], [0.5]]), np.array([[np.log(4.0)], [np.log(4.0)]])),
         np.array([0.5 * (np.log(4.0) + 2.0 / 4.0 - 1.0),
                   0.5 * (np.log(2.0) + 0.5 - 1.0)])),
    ],
    random_cases=lambda rng: [_random_diag(rng, b, d) for b, d in [(1, 1), (4, 3), (16, 20)]],
    rtol=1e-9,
    hint="apply the 1-D formula to each coordinate (with sigma^2 = exp(logvar)), then sum "
         "over the last axis only: the answer has one value per example.",
    minutes=15,
))
