"""Exercises of chapter 3, "Latent variable models and the intractable posterior"
(book/03_latent_variable_models.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def grid_posterior(log_joint, dz):
    """Normalise log p(x, z_k) on an equally spaced grid of z into the density p(z_k | x).

    log_joint: (K,) values of log p(x, z) at the grid points; dz: the grid spacing.
    Returns (K,) density values whose Riemann sum (sum * dz) is 1.
    """
    m = np.max(log_joint)                           # subtract the max: exp never overflows,
    unnormalised = np.exp(log_joint - m)            # and the largest term is exactly 1
    return unnormalised / (np.sum(unnormalised) * dz)


def mc_log_marginal(log_lik):
    """log p(x) from S prior samples: log((1/S) sum_s exp(log_lik[s])), computed stably.

    log_lik: (S,) values log p(x | z_s) for z_s drawn from the prior p(z).
    """
    m = np.max(log_lik)
    return m + np.log(np.mean(np.exp(log_lik - m)))


def encoder_gaussian(h):
    """Split an encoder output h: (batch, 2 * latent) into (mu, sigma) of q(z | x).

    The first half of each row is mu, the second half is logvar = log sigma^2,
    so sigma = exp(logvar / 2) is positive whatever the network outputs.
    """
    latent = h.shape[1] // 2
    mu, logvar = h[:, :latent], h[:, latent:]
    return mu, np.exp(0.5 * logvar)


def _mc_cases(rng):
    return [(rng.normal(-3.0, 2.0, size=10),), (rng.normal(-700.0, 5.0, size=1000),)]


register(Exercise(
    name="ch03.grid_posterior",
    title="Bayes' rule on a grid, in log space",
    reference=grid_posterior,
    cases=[((np.log(np.array([1.0, 3.0])), 0.5), np.array([0.5, 1.5])),
           ((np.zeros(4), 0.25), np.ones(4)),
           # log p(x, z) of a 784-pixel image is about -1000: exp underflows to 0
           ((np.array([-1000.0, -1000.0 + np.log(3.0)]), 1.0), np.array([0.25, 0.75])),
           ((np.array([800.0, 800.0]), 0.5), np.array([1.0, 1.0]))],
    random_cases=lambda rng: [(rng.normal(-500.0, 3.0, size=50), 0.1),
                              (rng.normal(0.0, 1.0, size=7), 1.0)],
    hint="subtract the largest log value before calling np.exp; the constant cancels "
         "when you normalise. Remember the factor dz: the density's sum times dz is 1.",
    minutes=15,
))

register(Exercise(
    name="ch03.mc_log_marginal",
    title="A Monte-Carlo log p(x) that does not underflow",
    reference=mc_log_marginal,
    cases=[((np.log(np.array([1.0, 2.0, 3.0])),), np.log(2.0)),
           ((np.array([-1000.0, -1000.0]),), -1000.0),
           ((np.array([-1000.0, -1000.0 + np.log(3.0)]),), -1000.0 + np.log(2.0))],
    random_cases=_mc_cases,
    hint="log((1/S) sum exp(l_s)) = m + log(mean(exp(l_s - m))) for any constant m; "
         "choose m = max(l).",
    minutes=10,
))

register(Exercise(
    name="ch03.encoder_gaussian",
    title="From encoder output to mu and sigma",
    reference=encoder_gaussian,
    cases=[((np.array([[0.5, -1.0, 0.0, np.log(4.0)]]),),
            (np.array([[0.5, -1.0]]), np.array([[1.0, 2.0]]))),
           ((np.array([[3.0, -20.0], [-3.0, 20.0]]),),
            (np.array([[3.0], [-3.0]]), np.array([[np.exp(-10.0)], [np.exp(10.0)]])))],
    random_cases=lambda rng: [(rng.normal(size=(5, 4)),), (rng.normal(size=(3, 40)),)],
    hint="mu is h[:, :latent] and logvar is h[:, latent:]; sigma = exp(logvar / 2), "
         "not exp(logvar) and not sqrt(logvar).",
    minutes=10,
))
