"""Exercises of "Where the basic VAE falls short" (book/11_limits.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def posterior_mean_decode(images, log_q):
    """The decoder output that minimizes the expected squared error (or Bernoulli
    cross-entropy) for a code z that could stand for any of the images.

    images: (n, d) the images; log_q: (n,) log q(z | x_i), the log-density of the code under
    each image's posterior (any constant may be added). Returns (d,): sum_i w_i x_i with
    w_i = q(z|x_i) / sum_k q(z|x_k), computed stably (shift by the largest log_q first).
    """
    w = np.exp(log_q - np.max(log_q))      # exp of values <= 0: no overflow
    w = w / np.sum(w)
    return w @ images


def kl_per_dimension(mu, logvar):
    """KL( N(mu, exp(logvar)) || N(0, 1) ) of each latent dimension, averaged over the batch.

    mu, logvar: (batch, latent). Returns (latent,), in nats; the entries sum to the KL term.
    """
    return np.mean(0.5 * (mu**2 + np.exp(logvar) - 1 - logvar), axis=0)


def free_bits_kl(kl_dims, lam):
    """The KL as free bits count it, and its derivative with respect to each KL_j.

    kl_dims: (latent,) KL per dimension (nats); lam: the free nats per dimension.
    Returns (sum_j max(KL_j, lam), (latent,) array: 1.0 where KL_j > lam, else 0.0).
    """
    counted = kl_dims > lam                # below lam, the objective counts lam: no gradient
    value = np.sum(np.where(counted, kl_dims, lam))
    return value, counted.astype(float)


def nearest_neighbour_labels(images, x_train, y_train):
    """The label of each image's nearest training image, by Euclidean distance.

    images: (m, d); x_train: (n, d); y_train: (n,). Returns (m,) labels.
    """
    d2 = np.sum((images[:, None, :] - x_train[None, :, :]) ** 2, axis=2)   # (m, n)
    return y_train[np.argmin(d2, axis=1)]


def _stack(*rows):
    return np.array(rows, dtype=float)


register(Exercise(
    name="ch11.posterior_mean_decode",
    title="The optimal output for an ambiguous code",
    reference=posterior_mean_decode,
    cases=[
        # equal weights: the plain pixel average of two "images"
        ((_stack([1.0, 0.0, 1.0], [0.0, 0.0, 1.0]), np.array([0.0, 0.0])),
         np.array([0.5, 0.0, 1.0])),
        # log q = log(3), log(1): weights 3/4 and 1/4
        ((_stack([1.0, 0.0], [0.0, 1.0]), np.log(np.array([3.0, 1.0]))),
         np.array([0.75, 0.25])),
        # very negative log-densities (a 784-pixel model gives such numbers): exp underflows
        # unless the largest value is subtracted first; weights e / (1 + e) and 1 / (1 + e)
        ((_stack([1.0, 0.0], [0.0, 1.0]), np.array([-1000.0, -1001.0])),
         np.array([np.e / (1 + np.e), 1 / (1 + np.e)])),
        # one image far more likely than the rest: its own pixels
        ((_stack([0.2, 0.9], [1.0, 1.0], [0.0, 0.0]), np.array([50.0, 0.0, -3.0])),
         np.array([0.2, 0.9]) * (1 / (1 + np.exp(-50) + np.exp(-53)))
         + np.array([1.0, 1.0]) * (np.exp(-50) / (1 + np.exp(-50) + np.exp(-53))))],
    random_cases=lambda rng: [(rng.random((n, 6)), rng.normal(scale=20, size=n) - 500)
                              for n in (1, 4, 30)],
    rtol=1e-7,
    hint="w_i is proportional to exp(log_q_i): subtract max(log_q) before exp, divide by the "
         "sum, then return the weighted sum of the images (w @ images).",
    minutes=10,
))

register(Exercise(
    name="ch11.kl_per_dimension",
    title="KL per latent dimension",
    reference=kl_per_dimension,
    cases=[((np.zeros((3, 2)), np.zeros((3, 2))), np.zeros(2)),
           # mu = 2 in dimension 0 only: 0.5 * mu^2 = 2 nats there
           ((np.array([[2.0, 0.0]]), np.zeros((1, 2))), np.array([2.0, 0.0])),
           # a mean over the batch, not a sum: two images with mu = 0 and mu = 2 -> 1 nat
           ((np.array([[0.0], [2.0]]), np.zeros((2, 1))), np.array([1.0])),
           # variance e instead of 1: 0.5 * (e - 1 - 1)
           ((np.zeros((2, 1)), np.ones((2, 1))), np.array([0.5 * (np.e - 2)]))],
    random_cases=lambda rng: [(rng.normal(size=(b, k)), rng.normal(scale=0.7, size=(b, k)))
                              for b, k in ((1, 3), (5, 16), (64, 2))],
    rtol=1e-7,
    hint="Per example and dimension the KL is 0.5 * (mu^2 + exp(logvar) - 1 - logvar); "
         "average over the batch (axis 0), do not sum over the dimensions.",
    minutes=5,
))

register(Exercise(
    name="ch11.free_bits_kl",
    title="Free bits: the KL as the objective counts it, and its gradient",
    reference=free_bits_kl,
    cases=[((np.array([0.05, 2.0, 0.5]), 0.25), (2.75, np.array([0.0, 1.0, 1.0]))),
           ((np.array([1.0, 3.0]), 0.0), (4.0, np.array([1.0, 1.0]))),
           ((np.array([0.1, 0.2, 0.3, 0.4]), 1.0), (4.0, np.zeros(4))),
           ((np.array([0.5, 0.7]), 0.5), (1.2, np.array([0.0, 1.0])))],
    random_cases=lambda rng: [(rng.exponential(size=k), float(rng.uniform(0.05, 1.0)))
                              for k in (1, 8, 32)],
    rtol=1e-7,
    hint="Each dimension counts max(KL_j, lam); the derivative of max(KL_j, lam) with respect "
         "to KL_j is 1 where KL_j > lam and 0 where lam wins (at a tie, lam counts: 0).",
    minutes=10,
))

register(Exercise(
    name="ch11.nearest_neighbour_labels",
    title="A nearest-neighbour classifier for generated digits",
    reference=nearest_neighbour_labels,
    cases=[((_stack([0.0, 0.1], [0.9, 1.0]), _stack([0.0, 0.0], [1.0, 1.0]), np.array([3, 7])),
            np.array([3, 7])),
           ((_stack([0.6, 0.6]), _stack([0.0, 0.0], [1.0, 1.0], [0.5, 0.5]),
             np.array([1, 2, 5])), np.array([5])),
           # distance, not dot product: the long vector [2, 2] is not the nearest to [0.9, 0]
           ((_stack([0.9, 0.0]), _stack([2.0, 2.0], [1.0, 0.0]), np.array([8, 4])),
            np.array([4]))],
    random_cases=lambda rng: [(rng.random((m, 5)), rng.random((n, 5)), rng.integers(0, 10, n))
                              for m, n in ((1, 3), (7, 20), (30, 50))],
    hint="Compute the squared distance from every image to every training image, an (m, n) "
         "array; take the argmin over the training images and look up its label.",
    minutes=10,
))
