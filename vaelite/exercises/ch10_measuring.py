"""Exercises of "Measuring a VAE" (book/10_measuring.ipynb)."""
import math

import numpy as np

from vaelite.exercises import Exercise, register


def log_mean_exp(log_w):
    """log((1/k) sum_i exp(log_w[i])) of a 1-D array, without overflow or underflow.

    log_w: (k,) log-weights (any size, e.g. -1000 or +1000). Returns a float.
    """
    m = np.max(log_w)                               # the largest term becomes exp(0) = 1
    return float(m + np.log(np.mean(np.exp(log_w - m))))


def iw_bound(log_w, k):
    """The importance-weighted bound L_k from a pool of log-weights of one image.

    log_w: (m,) log-weights of m draws z_i ~ q(z|x); k: a divisor of m. Split the draws into
    m / k disjoint groups of k consecutive draws, take L_k = log-mean-exp of each group, and
    return the mean of the m / k values (a float): an estimate of E[L_k].
    """
    groups = np.reshape(log_w, (len(log_w) // k, k))   # one row per group of k draws
    m = np.max(groups, axis=1, keepdims=True)
    bounds = m[:, 0] + np.log(np.mean(np.exp(groups - m), axis=1))
    return float(np.mean(bounds))


def paired_difference(a, b):
    """The mean of the paired differences a - b, and its standard error.

    a, b: (n,) two measurements of the same n images, n >= 2 (e.g. log p_k and the ELBO of
    each test digit). Returns (mean, standard error), floats, where the standard error is the
    standard deviation of a - b (dividing by n - 1) over sqrt(n).
    """
    d = np.asarray(a) - np.asarray(b)              # per image: the spread between images cancels
    return float(np.mean(d)), float(np.std(d, ddof=1) / np.sqrt(len(d)))


def count_active_units(mu, threshold):
    """Number of active latent units (Burda et al., 2015).

    mu: (n, d) posterior means E[z|x] of n images; a unit j is active when the variance of
    mu[:, j] over the images (divided by n, as np.var does) is greater than threshold.
    Returns an int.
    """
    activity = np.var(mu, axis=0)                  # Cov_x(E[z_j | x]) for each unit j
    return int(np.sum(activity > threshold))


register(Exercise(
    name="ch10.log_mean_exp",
    title="A stable log-mean-exp of log-weights",
    reference=log_mean_exp,
    cases=[(np.array([0.0, 0.0, 0.0]), 0.0),
           (np.array([0.0, math.log(3.0)]), math.log(2.0)),
           # log-weights of a large image: exp(-1000) is 0 in float64
           (np.array([-1000.0, -1000.0 + math.log(3.0)]), -1000.0 + math.log(2.0)),
           # and exp(1000) is inf
           (np.array([1000.0, 1000.0, 1000.0]), 1000.0)],
    random_cases=lambda rng: [(rng.normal(-200.0, 50.0, size=n),) for n in (1, 7, 100)],
    rtol=1e-9,
    hint="subtract the largest log-weight m first: log mean exp(a) = m + log mean exp(a - m); "
         "it is a mean, so divide the sum by k (or use np.mean).",
    minutes=10,
))

register(Exercise(
    name="ch10.iw_bound",
    title="The importance-weighted bound from a pool of log-weights",
    reference=iw_bound,
    cases=[((np.array([-3.0, -1.0]), 1), -2.0),                     # k = 1: the mean, the ELBO
           ((np.array([-3.0, -1.0]), 2), math.log((math.exp(-3.0) + math.exp(-1.0)) / 2)),
           # two groups: log 2 and log 6; their mean is log sqrt(12)
           ((np.log(np.array([1.0, 3.0, 5.0, 7.0])), 2), 0.5 * math.log(12.0)),
           # groups of consecutive draws, and log-weights far below 0
           ((np.array([-1000.0, -1000.0 + math.log(3.0), -500.0, -500.0 + math.log(3.0)]), 2),
            -750.0 + math.log(2.0))],
    random_cases=lambda rng: [(rng.normal(-100.0, 5.0, size=12), k) for k in (1, 3, 4, 12)],
    rtol=1e-9,
    hint="reshape the m draws into m // k rows of k consecutive draws, take a stable "
         "log-mean-exp of each row, then the mean of the rows' values.",
    minutes=15,
))

register(Exercise(
    name="ch10.paired_difference",
    title="A paired difference and its standard error",
    reference=paired_difference,
    cases=[((np.array([1.0, 2.0, 3.0]), np.zeros(3)), (2.0, 1.0 / math.sqrt(3.0))),
           # hard and easy images alike, the same difference: no uncertainty at all
           ((np.array([5.0, 6.0, 70.0]), np.array([4.0, 5.0, 69.0])), (1.0, 0.0)),
           ((np.array([0.0, 2.0]), np.array([1.0, 1.0])), (0.0, 1.0)),
           ((np.array([-120.0, -60.0, -240.0, -115.0]),
             np.array([-121.0, -61.5, -240.5, -117.0])), (1.25, math.sqrt(1.25 / 3.0) / 2.0))],
    random_cases=lambda rng: [(a, a - rng.normal(1.0, 0.5, size=n))
                              for n in (5, 100) for a in [rng.normal(-120.0, 30.0, size=n)]],
    rtol=1e-9,
    hint="subtract first, image by image: d = a - b; return (mean of d, sd of d with ddof=1 "
         "divided by sqrt(n)).",
    minutes=10,
))

register(Exercise(
    name="ch10.active_units",
    title="Count the active latent units",
    reference=count_active_units,
    cases=[((np.array([[0.0, 1.0], [0.0, -1.0]]), 0.01), 1),
           ((np.array([[1.0, 0.05, 2.0], [1.0, -0.05, -2.0]]), 0.01), 1),
           ((np.array([[1.0, 0.05, 2.0], [1.0, -0.05, -2.0]]), 0.001), 2),
           # the variance divides by n: 0.0225 here (0.045 with n - 1) is not above 0.03
           ((np.array([[0.0], [0.3]]), 0.03), 0),
           # "greater than", not "at least": a variance of exactly 1 is not above 1
           ((np.array([[0.0], [2.0]]), 1.0), 0)],
    random_cases=lambda rng: [(rng.normal(size=(n, 8)) * np.logspace(-2.5, 0, 8), 0.01)
                              for n in (20, 500)],
    hint="the activity of unit j is np.var(mu[:, j]) (over the images, axis 0); count the "
         "units whose activity is > threshold and return an int.",
    minutes=10,
))
