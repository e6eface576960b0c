"""Exercises of "beta-VAE and disentanglement" (book/12_beta_vae.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def rate_distortion(parts, beta):
    """Rate, distortion and ELBO from the loss dict of a beta-VAE.

    parts: {"loss": D + beta * R, "recon": D} (nats per image); beta > 0, the KL weight the
    model was trained with. Returns (rate R, distortion D, ELBO = -(D + R)).
    """
    distortion = parts["recon"]
    rate = (parts["loss"] - distortion) / beta
    return rate, distortion, -(distortion + rate)


def mutual_information(a, b):
    """Plug-in mutual information I(a; b) in nats of two integer sequences of the same length:
    H(a) + H(b) - H(a, b), with the probabilities estimated by counting."""
    def entropy(*columns):
        _, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
        p = counts / counts.sum()
        return -np.sum(p * np.log(p))
    a, b = np.asarray(a), np.asarray(b)
    return entropy(a) + entropy(b) - entropy(a, b)


def mig(mi, entropies):
    """The mutual information gap from a table of mutual informations.

    mi: (latent, F) I(z_j; v_k) in nats; entropies: (F,) H(v_k) in nats. For each factor k,
    (largest I(z_j; v_k) - second largest) / H(v_k); returns the mean over the factors.
    """
    top = -np.sort(-np.asarray(mi, dtype=float), axis=0)   # each column sorted, largest first
    return float(np.mean((top[0] - top[1]) / np.asarray(entropies, dtype=float)))


def traversal_codes(mu, dim, values):
    """Codes that vary one latent dimension: mu (k,) repeated once per entry of values (m,),
    with coordinate ``dim`` set to that value. Returns (m, k)."""
    codes = np.tile(np.asarray(mu, dtype=float), (len(values), 1))
    codes[:, dim] = values
    return codes


register(Exercise(
    name="ch12.rate_distortion",
    title="Rate, distortion and ELBO from a beta-VAE's loss dict",
    reference=rate_distortion,
    cases=[(({"loss": 30.0, "recon": 20.0}, 1.0), (10.0, 20.0, -30.0)),
           # beta = 4: the loss counts the rate four times; the ELBO counts it once
           (({"loss": 40.0, "recon": 28.0}, 4.0), (3.0, 28.0, -31.0)),
           # beta < 1: the loss is below -ELBO (not a bound on log p(x))
           (({"loss": 16.0, "recon": 10.0, "kl": 12.0}, 0.5), (12.0, 10.0, -22.0))],
    random_cases=lambda rng: [({"loss": float(d + b * r), "recon": float(d)}, float(b))
                              for d, r, b in zip(rng.uniform(10, 80, 3), rng.uniform(0, 15, 3),
                                                 rng.uniform(0.25, 16, 3))],
    rtol=1e-9,
    hint="loss = D + beta * R with D = recon, so R = (loss - recon) / beta; the ELBO counts the "
         "rate once: ELBO = -(D + R).",
    minutes=5,
))

register(Exercise(
    name="ch12.mutual_information",
    title="Mutual information of two discrete variables, by counting",
    reference=mutual_information,
    cases=[(([0, 1, 0, 1], [0, 1, 0, 1]), np.log(2)),      # b is a copy of a: I = H(a)
           (([0, 0, 1, 1], [0, 1, 0, 1]), 0.0),            # every pair once: independent
           (([0, 1, 2, 3], [0, 0, 1, 1]), np.log(2)),      # a determines b: I = H(b)
           # b = a except one pair in four: p(a, b) = (3/8, 1/8, 1/8, 3/8)
           (([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 1, 1, 1]),
            np.log(2) + 0.75 * np.log(0.75) + 0.25 * np.log(0.25))],
    random_cases=lambda rng: [(rng.integers(0, k, n), rng.integers(0, j, n))
                              for k, j, n in ((2, 3, 10), (4, 4, 50), (6, 3, 200))],
    rtol=1e-9, atol=1e-12,
    hint="I(a; b) = H(a) + H(b) - H(a, b) with H = -sum p log p (natural log) and p the "
         "relative counts; the joint entropy counts the pairs (a_i, b_i).",
    minutes=15,
))

register(Exercise(
    name="ch12.mig",
    title="The mutual information gap from a table of mutual informations",
    reference=mig,
    cases=[((np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 2.0])), 1.0),
           # two dimensions hold the first factor equally: its gap is 0
           ((np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([1.0, 2.0])), 0.5),
           # the gap is divided by the factor's entropy, not by the largest MI
           ((np.array([[0.6, 0.1], [0.2, 0.3], [0.1, 0.9]]), np.array([1.2, 1.8])),
            ((0.6 - 0.2) / 1.2 + (0.9 - 0.3) / 1.8) / 2)],
    random_cases=lambda rng: [(rng.uniform(0, 1, (j, f)), rng.uniform(1, 2, f))
                              for j, f in ((2, 1), (6, 4), (10, 3))],
    rtol=1e-9,
    hint="Sort each column (factor) of mi, largest first; the gap is (first - second) / H of "
         "that factor; MIG is the mean over the factors.",
    minutes=10,
))

register(Exercise(
    name="ch12.traversal_codes",
    title="The codes of a latent traversal",
    reference=traversal_codes,
    cases=[((np.array([0.5, -1.0, 2.0]), 1, np.array([-2.0, 0.0, 2.0])),
            np.array([[0.5, -2.0, 2.0], [0.5, 0.0, 2.0], [0.5, 2.0, 2.0]])),
           ((np.array([0.0, 0.0]), 0, np.array([3.0])), np.array([[3.0, 0.0]]))],
    random_cases=lambda rng: [(rng.normal(size=k), int(rng.integers(0, k)),
                               np.linspace(-2, 2, m)) for k, m in ((1, 3), (6, 9), (10, 5))],
    rtol=1e-12,
    hint="Start from one copy of mu per value (an (m, k) array), then overwrite column dim with "
         "the values; leave mu itself unchanged.",
    minutes=5,
))
