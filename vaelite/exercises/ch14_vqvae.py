"""Exercises of "VQ-VAE and an autoregressive prior" (book/14_vqvae.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def nearest_codes(z_e, codebook):
    """The index of the nearest code (Euclidean distance) for every encoder output.

    z_e: (n, d) encoder outputs; codebook: (K, d). Returns (n,) integer indices; on a tie the
    smaller index wins (what np.argmin does).
    """
    d2 = np.sum((z_e[:, None, :] - codebook[None, :, :]) ** 2, axis=2)   # (n, K)
    return np.argmin(d2, axis=1)


def perplexity(counts):
    """exp(entropy) of the usage counts (K,) of a codebook: the number of equally used codes
    with the same entropy. Codes with count 0 add nothing (0 log 0 = 0)."""
    p = counts[counts > 0] / np.sum(counts)
    return float(np.exp(-np.sum(p * np.log(p))))


def made_mask(in_degrees, out_degrees, output=False):
    """The 0/1 mask (n_in, n_out) of one MADE layer from the degrees of its units.

    A hidden unit of degree d sees the units of degree <= d; an output unit of degree d
    (``output=True``) only those of degree < d, so that output i never sees input i.
    """
    in_degrees, out_degrees = np.asarray(in_degrees), np.asarray(out_degrees)
    if output:
        return (in_degrees[:, None] < out_degrees[None, :]).astype(float)
    return (in_degrees[:, None] <= out_degrees[None, :]).astype(float)


def vq_backward(z_e, codebook, dz_q, beta):
    """The VQ layer's backward pass with the library's loss convention (sums over positions
    and dimensions, mean over the batch).

    z_e: (batch, positions, d) encoder outputs; codebook: (K, d); dz_q: (batch, positions, d)
    the decoder's gradient at z_q; beta: the commitment weight. Returns (dz_e, d_codebook):
    dz_e = dz_q (straight through) + 2 beta (z_e - z_q) / batch (commitment), and the gradient
    of the codebook loss sum ||sg[z_e] - e||^2 / batch, which moves each used code towards
    the encoder outputs assigned to it.
    """
    batch, _, d = z_e.shape
    flat = z_e.reshape(-1, d)
    idx = np.argmin(np.sum((flat[:, None, :] - codebook[None]) ** 2, axis=2), axis=1)
    z_q = codebook[idx]
    dz_e = dz_q + (2 * beta * (flat - z_q) / batch).reshape(z_e.shape)
    d_codebook = np.zeros_like(codebook)
    np.add.at(d_codebook, idx, 2 * (z_q - flat) / batch)   # a scatter-add over assigned rows
    return dz_e, d_codebook


register(Exercise(
    name="ch14.nearest_codes",
    title="Nearest-code assignment",
    reference=nearest_codes,
    cases=[((np.array([[0.1, 0.0], [0.9, 1.2], [-2.0, 0.0]]),
             np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.0]])), np.array([0, 1, 2])),
           # equally far from codes 0 and 1: the smaller index
           ((np.array([[0.5, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])), np.array([0])),
           # nearest by distance, not by dot product: code 1 is longer but farther
           ((np.array([[1.0, 0.0]]), np.array([[0.9, 0.0], [3.0, 0.0]])), np.array([0]))],
    random_cases=lambda rng: [(rng.normal(size=(n, d)), rng.normal(size=(k, d)))
                              for n, d, k in ((1, 1, 2), (20, 3, 8), (100, 8, 32))],
    hint="Build the (n, K) table of squared distances ||z_e[i] - codebook[k]||^2 (broadcast "
         "z_e[:, None, :] against codebook[None, :, :]) and take argmin over the codes.",
    minutes=5,
))

register(Exercise(
    name="ch14.perplexity",
    title="Perplexity of the code usage",
    reference=perplexity,
    cases=[(np.array([5, 5, 5, 5]), 4.0),
           (np.array([0, 12, 0, 0]), 1.0),
           # unused codes change nothing: two codes used equally -> 2
           (np.array([3, 0, 3, 0, 0, 0]), 2.0),
           (np.array([2, 1, 1]), float(np.exp(-(0.5 * np.log(0.5) + 0.5 * np.log(0.25)))))],
    random_cases=lambda rng: [rng.integers(0, 50, size=k) + (np.arange(k) == 0)
                              for k in (2, 16, 512)],
    rtol=1e-9,
    hint="Turn the counts into frequencies p = counts / sum, drop the zeros (0 log 0 = 0), "
         "and return exp(-sum p log p).",
    minutes=5,
))

register(Exercise(
    name="ch14.made_mask",
    title="A MADE mask from unit degrees",
    reference=made_mask,
    cases=[((np.array([1, 1, 2, 2, 3, 3]), np.array([1, 2, 1, 2])),
            np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1], [0, 1, 0, 1],
                      [0, 0, 0, 0], [0, 0, 0, 0]], dtype=float)),
           # the output layer: strictly smaller degrees only
           ((np.array([1, 2, 1, 2]), np.array([1, 1, 2, 2, 3, 3]), True),
            np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1],
                      [0, 0, 0, 0, 1, 1]], dtype=float)),
           ((np.array([1, 2, 3]), np.array([1, 2, 3]), True),
            np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=float))],
    random_cases=lambda rng: [(rng.integers(1, 5, size=a), rng.integers(1, 5, size=b), out)
                              for a, b, out in ((3, 4, False), (8, 5, True), (12, 12, False))],
    hint="Compare every input degree with every output degree by broadcasting: "
         "in_degrees[:, None] <= out_degrees[None, :] for a hidden layer, < for the output "
         "layer; convert the booleans to floats.",
    minutes=10,
))

register(Exercise(
    name="ch14.vq_backward",
    title="The VQ layer's backward pass: straight through, commitment and codebook",
    reference=vq_backward,
    cases=[
        # one position, code 0 assigned: dz_e = dz_q + 2 beta (z_e - e_0); d e_0 = 2 (e_0 - z_e)
        ((np.array([[[1.0, 0.0]]]), np.array([[0.5, 0.0], [5.0, 5.0]]),
          np.array([[[0.3, -0.2]]]), 0.25),
         (np.array([[[0.3 + 0.25, -0.2]]]), np.array([[-1.0, 0.0], [0.0, 0.0]]))),
        # a batch of 2: every gradient is divided by the batch; code 1 is used twice
        ((np.array([[[2.0]], [[4.0]]]), np.array([[0.0], [3.0]]), np.zeros((2, 1, 1)), 1.0),
         (np.array([[[-1.0]], [[1.0]]]), np.array([[0.0], [0.0]])))],
    random_cases=lambda rng: [(rng.normal(size=(b, p, d)), rng.normal(size=(k, d)),
                               rng.normal(size=(b, p, d)), float(rng.uniform(0, 1)))
                              for b, p, d, k in ((1, 1, 2, 3), (4, 3, 2, 5), (16, 8, 4, 32))],
    rtol=1e-9,
    hint="Assign each vector to its nearest code (z_q). Straight through: dz_e starts as "
         "dz_q; the commitment beta ||z_e - sg[z_q]||^2 / batch adds 2 beta (z_e - z_q) / "
         "batch. The codebook loss adds 2 (e_k - z_e) / batch to code k for every vector "
         "assigned to it (np.add.at sums repeated indices).",
    minutes=15,
))
