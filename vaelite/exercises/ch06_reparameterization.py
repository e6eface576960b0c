"""Exercises of "The reparameterization trick" (book/06_reparameterization.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def exp_pathwise_grads(mu, logvar, eps):
    """Pathwise estimates of the gradient of E[exp(z)], z = mu + exp(logvar / 2) * eps.

    mu, logvar: floats; eps: (n,) standard normal draws.
    Returns (d/dmu, d/dlogvar), each the mean over the n samples.
    """
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * eps
    df_dz = np.exp(z)                      # f(z) = exp(z), so f'(z) = exp(z)
    d_mu = np.mean(df_dz * 1.0)            # dz/dmu = 1
    d_logvar = np.mean(df_dz * eps * 0.5 * sigma)  # dz/dlogvar = eps * sigma / 2
    return d_mu, d_logvar


def reinforce_loo(f, eps, sigma):
    """REINFORCE estimate of d/dmu E[f(z)] with a leave-one-out baseline.

    f: (n,) values f(z_i); eps: (n,) the noise with z_i = mu + sigma * eps_i; sigma: float.
    The baseline of sample i is the mean of the *other* n - 1 values of f, so it does not
    depend on z_i and the estimate stays unbiased. Returns a float.
    """
    n = len(f)
    baseline = (np.sum(f) - f) / (n - 1)   # b_i = mean of f_j over j != i
    score = eps / sigma                    # d/dmu log N(z; mu, sigma^2) = (z - mu) / sigma^2
    return np.mean((f - baseline) * score)


def exponential_pathwise(lam, u):
    """Pathwise estimate of d/dlam E[z^2] for z ~ Exponential(rate lam).

    z is reparameterized by inverse-CDF sampling: z = -log(u) / lam with u uniform on (0, 1).
    lam: float > 0; u: (n,) uniform draws. Returns the mean over the n samples (a float).
    """
    z = -np.log(u) / lam
    dz_dlam = np.log(u) / lam**2           # = -z / lam
    return np.mean(2 * z * dz_dlam)        # f(z) = z^2, so f'(z) = 2 z


register(Exercise(
    name="ch06.exp_pathwise",
    title="Pathwise gradient of E[exp(z)] wrt mu and logvar",
    reference=exp_pathwise_grads,
    # each case adds one thing, so that each mistake fails first where it shows:
    cases=[((0.0, 0.0, np.array([0.0])), (1.0, 0.0)),
           # eps != 0: the 1/2 of dz/dlogvar, and a mean (not a sum) over the samples
           ((0.0, 0.0, np.array([1.0, -1.0])), (np.cosh(1.0), np.sinh(1.0) / 2)),
           # mu != 0, logvar != 0 but eps = 0: f'(z) = exp(z) at z = mu
           ((np.log(2.0), 2 * np.log(3.0), np.array([0.0, 0.0, 0.0])), (2.0, 0.0)),
           # logvar != 0 and eps != 0 (sigma = 2): sigma = exp(logvar / 2), inside z and in
           # dz/dlogvar = eps * sigma / 2
           ((0.0, 2 * np.log(2.0), np.array([1.0, -1.0])), (np.cosh(2.0), np.sinh(2.0))),
           # all of it at once, with sigma = 1/2 and a mu that is not 0
           ((1.0, -2 * np.log(2.0), np.array([2.0])), (np.exp(2.0), np.exp(2.0) / 2))],
    random_cases=lambda rng: [(float(rng.normal()), float(rng.normal(scale=0.5)),
                               rng.standard_normal(n)) for n in (1, 5, 100)],
    hint="z = mu + sigma * eps with sigma = exp(logvar / 2); dz/dmu = 1 and "
         "dz/dlogvar = eps * sigma / 2. Multiply by f'(z) = exp(z) and average.",
    minutes=10,
))

register(Exercise(
    name="ch06.reinforce_loo",
    title="REINFORCE with a leave-one-out baseline",
    reference=reinforce_loo,
    cases=[((np.array([1.0, 3.0]), np.array([1.0, -1.0]), 1.0), -2.0),
           ((np.array([5.0, 5.0, 5.0]), np.array([0.3, -2.0, 1.1]), 0.7), 0.0),
           ((np.array([0.0, 2.0, 4.0]), np.array([-1.0, 0.0, 1.0]), 2.0), 1.0)],
    random_cases=lambda rng: [(rng.normal(size=n) ** 2, rng.standard_normal(n),
                               float(rng.uniform(0.2, 2.0))) for n in (2, 10, 50)],
    rtol=1e-7,
    hint="b_i = (sum of all f - f_i) / (n - 1); the score of sample i is eps_i / sigma; "
         "return the mean over i of (f_i - b_i) * eps_i / sigma.",
    minutes=15,
))

register(Exercise(
    name="ch06.exponential_pathwise",
    title="Pathwise gradient through inverse-CDF sampling",
    reference=exponential_pathwise,
    cases=[((1.0, np.array([np.exp(-1.0)])), -2.0),
           ((2.0, np.array([np.exp(-2.0), np.exp(-4.0)])), -2.5),
           ((3.0, np.array([1.0])), 0.0)],
    random_cases=lambda rng: [(float(rng.uniform(0.3, 3.0)), rng.uniform(1e-6, 1.0, n))
                              for n in (1, 10, 1000)],
    hint="z = -log(u) / lam, so dz/dlam = log(u) / lam**2 = -z / lam; multiply by "
         "f'(z) = 2 z and average over the samples.",
    minutes=10,
))
