"""Exercises of "Training a VAE on MNIST" (book/08_training.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def negative_elbo(logits, x, mu, logvar):
    """The negative ELBO of a batch in the library's convention, and its two parts.

    logits: (batch, d) decoder outputs for one sample z per image; x: (batch, d) pixels in
    [0, 1]; mu, logvar: (batch, k) the encoder's q(z|x). Sum over pixels and over latent
    dimensions, mean over the batch. Returns (loss, recon, kl) in nats per image.
    """
    softplus = np.logaddexp(0.0, logits)                      # log(1 + e^l), no overflow
    recon = np.mean(np.sum(softplus - x * logits, axis=1))    # Bernoulli -log p(x|z)
    kl = np.mean(0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1))
    return recon + kl, recon, kl


def gaussian_vae_loss(x_mean, x, mu, logvar):
    """The negative ELBO, in nats per image, of a VAE whose decoder is a Gaussian with mean
    ``x_mean`` and standard deviation 1 (``VAE(likelihood="gaussian")``).

    x_mean, x: (batch, d); mu, logvar: (batch, k). Sum over pixels and latent dimensions,
    mean over the batch. Returns a float.
    """
    d = x.shape[1]
    recon = np.mean(0.5 * np.sum((x - x_mean) ** 2, axis=1) + 0.5 * d * np.log(2 * np.pi))
    kl = np.mean(0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1))
    return recon + kl


def bits_per_pixel(nats_per_image, n_pixels):
    """A loss in nats per image as bits per pixel: divide by the pixels, convert nats to bits
    (1 nat = 1 / ln 2 bits). Works for a number or an array of numbers."""
    return np.asarray(nats_per_image) / (n_pixels * np.log(2.0))


def effective_beta(recon_reduction, kl_reduction, n_pixels, n_latents):
    """The beta a loss really trains with when it reduces the reconstruction over the pixels and
    the KL over the latent dimensions with "sum" or "mean" (both terms: mean over the batch).

    The loss is then a * R + b * K, with R, K the sums (a = 1 or 1 / n_pixels,
    b = 1 or 1 / n_latents); that is a * (R + (b / a) * K), a VAE with beta = b / a.
    Returns a float.
    """
    a = 1.0 if recon_reduction == "sum" else 1.0 / n_pixels
    b = 1.0 if kl_reduction == "sum" else 1.0 / n_latents
    return b / a


def _elbo_cases(rng):
    cases = []
    for b, d, k in ((1, 3, 1), (5, 784, 2), (16, 10, 20)):
        x = (rng.random((b, d)) < 0.3).astype(float) if d == 784 else rng.random((b, d))
        cases.append((rng.normal(scale=3.0, size=(b, d)), x, rng.normal(size=(b, k)),
                      rng.normal(scale=0.7, size=(b, k))))
    return cases


register(Exercise(
    name="ch08.negative_elbo",
    title="The negative ELBO of a batch, in nats per image",
    reference=negative_elbo,
    cases=[((np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.zeros((1, 1)), np.zeros((1, 1))),
            (2 * np.log(2.0), 2 * np.log(2.0), 0.0)),
           ((np.zeros((2, 2)), np.array([[1.0, 0.0], [0.0, 1.0]]),
             np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, np.log(2.0)], [0.0, 0.0]])),
            (2 * np.log(2.0) + 0.5 - 0.25 * np.log(2.0), 2 * np.log(2.0),
             0.5 - 0.25 * np.log(2.0))),
           ((np.array([[800.0, -800.0]]), np.array([[1.0, 0.0]]), np.array([[3.0]]),
             np.array([[0.0]])), (4.5, 0.0, 4.5))],
    random_cases=_elbo_cases,
    hint="recon: sum over pixels of softplus(l) - x l (np.logaddexp(0, l) for the softplus), "
         "then the mean over the images; kl: 0.5 * sum over latent dimensions of "
         "mu^2 + exp(logvar) - 1 - logvar, then the mean over the images.",
    minutes=15,
))

register(Exercise(
    name="ch08.fix_the_mean",
    title="Fix the mean-instead-of-sum bug in a Gaussian VAE loss",
    reference=gaussian_vae_loss,
    cases=[((np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 1)), np.zeros((1, 1))),
            np.log(2 * np.pi)),
           ((np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[2.0]]),
             np.array([[0.0]])), 1.0 + np.log(2 * np.pi) + 2.0),
           ((np.zeros((2, 4)), np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]]),
             np.zeros((2, 3)), np.zeros((2, 3))), 1.0 + 2 * np.log(2 * np.pi))],
    random_cases=lambda rng: [(rng.random((b, d)), rng.random((b, d)), rng.normal(size=(b, k)),
                               rng.normal(scale=0.7, size=(b, k)))
                              for b, d, k in ((1, 5, 1), (8, 784, 2), (3, 20, 10))],
    hint="Three things to change: sum over pixels (axis=1) and over latent dimensions, and only "
         "then average over the images; the Gaussian -log p(x|z) with sigma = 1 is "
         "0.5 * (x - x_mean)^2 + 0.5 * log(2 pi) per pixel; the KL is 0.5 * (mu^2 + "
         "exp(logvar) - 1 - logvar) per latent dimension.",
    minutes=15,
))

register(Exercise(
    name="ch08.bits_per_pixel",
    title="Nats per image to bits per pixel",
    reference=bits_per_pixel,
    cases=[((784 * np.log(2.0), 784), 1.0),
           ((0.0, 784), 0.0),
           ((np.array([np.log(2.0), 2 * np.log(2.0)]), 1), np.array([1.0, 2.0])),
           ((100.0, 784), 100.0 / (784 * np.log(2.0)))],
    random_cases=lambda rng: [(float(rng.uniform(50, 300)), 784),
                              (rng.uniform(0, 10, size=5), int(rng.integers(1, 100)))],
    hint="Divide by the number of pixels, then by ln 2 (np.log(2)): one nat is 1 / ln 2 = "
         "1.44 bits.",
    minutes=5,
))

register(Exercise(
    name="ch08.effective_beta",
    title="The beta hidden in a mean",
    reference=effective_beta,
    cases=[(("sum", "sum", 784, 20), 1.0),
           (("mean", "sum", 784, 20), 784.0),
           (("sum", "mean", 784, 20), 0.05),
           (("mean", "mean", 784, 20), 39.2)],
    random_cases=lambda rng: [(str(rng.choice(["sum", "mean"])), str(rng.choice(["sum", "mean"])),
                               int(rng.integers(2, 1000)), int(rng.integers(1, 64)))
                              for _ in range(6)],
    hint="Write the loss as a * R + b * K with R and K the sums over pixels and over latent "
         "dimensions; a mean divides by the number of terms. Then factor out a.",
    minutes=10,
))
