"""Exercises of "Why a plain autoencoder cannot generate" (book/01_autoencoder.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def bce_and_mse(x, p):
    """Two reconstruction losses of a batch, each summed over pixels and averaged over images.

    x: (batch, d) pixels in [0, 1]; p: (batch, d) the decoder's pixel probabilities in (0, 1).
    Returns (bce, mse): bce = mean_b sum_d -[x log p + (1 - x) log(1 - p)] (the Bernoulli
    negative log-likelihood) and mse = mean_b sum_d (x - p)^2.
    """
    bce = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / len(x)
    mse = np.sum((x - p) ** 2) / len(x)
    return bce, mse


def nearest_code_distance(points, codes):
    """For each point, the Euclidean distance to the nearest code.

    points: (m, k); codes: (n, k). Returns (m,).
    """
    diff = points[:, None, :] - codes[None, :, :]      # (m, n, k), every pair
    return np.sqrt(np.sum(diff**2, axis=2)).min(axis=1)


def gap_fraction(codes, lo, hi, n_grid, radius):
    """Fraction of a grid over a 2-D box that is farther than ``radius`` from every code.

    codes: (n, 2); lo, hi: the box's lower-left and upper-right corners, (2,) each;
    n_grid: points per side, spaced evenly from lo to hi inclusive (np.linspace);
    radius: float. Returns a float in [0, 1].
    """
    g0 = np.linspace(lo[0], hi[0], n_grid)
    g1 = np.linspace(lo[1], hi[1], n_grid)
    grid = np.array([(a, b) for a in g0 for b in g1])   # (n_grid**2, 2)
    dist = np.sqrt(((grid[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(np.mean(dist > radius))


register(Exercise(
    name="ch01.bce_and_mse",
    title="Bernoulli and squared-error reconstruction losses",
    reference=bce_and_mse,
    cases=[((np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])), (2 * np.log(2.0), 0.5)),
           ((np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.9, 0.1], [0.1, 0.9]])),
            (-2 * np.log(0.9), 0.02)),
           ((np.array([[0.5]]), np.array([[0.5]])), (np.log(2.0), 0.0))],
    random_cases=lambda rng: [(rng.random((b, d)), rng.uniform(0.01, 0.99, (b, d)))
                              for b, d in ((1, 5), (4, 784), (16, 3))],
    hint="Sum over pixels, then divide by the number of images (len(x)); "
         "the Bernoulli loss is -(x log p + (1 - x) log(1 - p)) per pixel.",
    minutes=10,
))

register(Exercise(
    name="ch01.nearest_code_distance",
    title="Distance to the nearest code",
    reference=nearest_code_distance,
    cases=[((np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 8.0]]), np.array([[0.0, 0.0], [3.0, 4.0]])),
            np.array([0.0, 3.0, 5.0])),
           ((np.array([[1.0, 1.0, 1.0]]), np.array([[1.0, 1.0, 3.0], [0.0, 0.0, 0.0]])),
            np.array([np.sqrt(3.0)]))],
    random_cases=lambda rng: [(rng.normal(size=(m, k)), rng.normal(size=(n, k)))
                              for m, n, k in ((1, 1, 2), (7, 30, 2), (50, 200, 3))],
    hint="Broadcast points[:, None, :] - codes[None, :, :] to get every pair, take the norm "
         "over the last axis, then the minimum over the codes.",
    minutes=10,
))

register(Exercise(
    name="ch01.gap_fraction",
    title="How much of the box is empty?",
    reference=gap_fraction,
    cases=[((np.array([[0.0, 0.0]]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]), 3, 1.0),
            4 / 9),
           ((np.array([[0.0, 0.0], [10.0, 10.0]]), np.array([0.0, 0.0]), np.array([10.0, 10.0]),
             2, 5.0), 0.5),
           ((np.array([[0.0, 0.0]]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]), 5, 10.0),
            0.0)],
    random_cases=lambda rng: [(rng.normal(size=(n, 2)), np.array([-2.0, -2.0]),
                               np.array([2.0, 2.0]), g, r)
                              for n, g, r in ((5, 4, 0.5), (40, 20, 0.3), (200, 30, 0.1))],
    rtol=0, atol=1e-12,
    hint="Build the n_grid * n_grid grid with np.linspace on each axis, compute each grid "
         "point's distance to its nearest code, and return the fraction above radius.",
    minutes=15,
))
