"""Exercises of "The latent space" (book/09_latent_space.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def aggregate_log_density(z, mu, logvar):
    """log q(z) for the aggregate posterior q(z) = (1/N) sum_n N(z; mu_n, diag exp(logvar_n)).

    z: (m, k) points; mu, logvar: (N, k) the posteriors of N images. Returns (m,).
    """
    var = np.exp(logvar)                                             # (N, k)
    diff = z[:, None, :] - mu[None, :, :]                            # (m, N, k)
    log_comp = -0.5 * np.sum(np.log(2 * np.pi * var) + diff**2 / var, axis=-1)  # (m, N)
    top = np.max(log_comp, axis=1, keepdims=True)                    # log-mean-exp, stably
    return top[:, 0] + np.log(np.mean(np.exp(log_comp - top), axis=1))


def spread_ratio(codes, labels):
    """Between-class over within-class spread of labelled codes (a Fisher ratio).

    codes: (n, k); labels: (n,). Returns a float:
    sum_c n_c |m_c - m|^2 / sum_i |z_i - m_{c_i}|^2.
    """
    centre = codes.mean(axis=0)
    between, within = 0.0, 0.0
    for c in np.unique(labels):
        members = codes[labels == c]
        mean_c = members.mean(axis=0)
        between += len(members) * np.sum((mean_c - centre) ** 2)
        within += np.sum((members - mean_c) ** 2)
    return between / within


def hole_mass(q_cells, p_cells, fraction):
    """The prior's mass in the cells where the aggregate posterior has less than
    ``fraction`` times the prior's mass. q_cells, p_cells: arrays of the same shape."""
    return np.sum(p_cells[q_cells < fraction * p_cells])


def slerp(z1, z2, t):
    """Spherical interpolation between z1 and z2 (each (k,)) at the positions t (m,): (m, k).

    cos W = <z1, z2> / (|z1| |z2|); slerp(t) = (sin((1 - t) W) z1 + sin(t W) z2) / sin W.
    """
    omega = np.arccos(np.dot(z1, z2) / (np.linalg.norm(z1) * np.linalg.norm(z2)))
    t = t[:, None]
    return (np.sin((1 - t) * omega) * z1 + np.sin(t * omega) * z2) / np.sin(omega)


def _aggregate_cases(rng):
    cases = []
    for m, n, k in [(1, 1, 1), (4, 3, 2), (6, 50, 2), (3, 20, 5)]:
        cases.append((rng.normal(size=(m, k)) * 2, rng.normal(size=(n, k)),
                      rng.normal(size=(n, k)) - 1.0))
    # narrow components far from the point: a naive log(mean(exp)) underflows to -inf
    cases.append((np.array([[3.0, 3.0]]), np.zeros((2, 2)), np.full((2, 2), -8.0)))
    return cases


register(Exercise(
    name="ch09.aggregate_log_density",
    title="The aggregate posterior's log density log q(z)",
    reference=aggregate_log_density,
    cases=[
        # one standard normal component at its centre: log N(0; 0, 1) = -log(2 pi) / 2
        ((np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))),
         np.array([-0.5 * np.log(2 * np.pi)])),
        # two components, the point on one of them: a MEAN over components, not a sum
        ((np.zeros((1, 1)), np.array([[0.0], [100.0]]), np.zeros((2, 1))),
         np.array([-0.5 * np.log(2 * np.pi) - np.log(2.0)])),
        # variance 4 (logvar = log 4): the density's height is 1 / sqrt(2 pi 4) at the centre
        ((np.array([[1.0]]), np.array([[1.0]]), np.array([[np.log(4.0)]])),
         np.array([-0.5 * np.log(8 * np.pi)])),
    ],
    random_cases=_aggregate_cases,
    hint="log N(z; mu, sigma^2) = -1/2 sum_j (log(2 pi sigma_j^2) + (z_j - mu_j)^2 / sigma_j^2). "
         "Average the densities (not the log densities) over the N components, and do it in "
         "log space: subtract the largest log density before exp, add it back after log.",
    minutes=15,
))

register(Exercise(
    name="ch09.spread_ratio",
    title="Between-class over within-class spread of codes",
    reference=spread_ratio,
    cases=[
        # two classes of two codes: means at -2 and 2 (between 4 * 4 = 16), within 4 * 1 = 4
        ((np.array([[-3.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [3.0, 0.0]]), np.array([0, 0, 1, 1])),
         4.0),
        # unequal class sizes: between weights each class by its size
        ((np.array([[0.0], [2.0], [10.0]]), np.array([5, 5, 7])),
         (2 * 3.0**2 + 1 * 6.0**2) / 2.0),
        # classes with the same mean: no between-class spread at all
        ((np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]), np.array([0, 0, 1, 1])),
         0.0),
    ],
    random_cases=lambda rng: [(rng.normal(size=(n, k)) + np.repeat(rng.normal(size=(c, k)) * 3,
                                                                   n // c, axis=0),
                               np.repeat(np.arange(c), n // c))
                              for n, k, c in [(20, 2, 4), (60, 3, 10)]],
    hint="between = sum over classes of (class size) * |class mean - overall mean|^2; "
         "within = sum over codes of |code - its class mean|^2; return between / within.",
    minutes=10,
))

register(Exercise(
    name="ch09.hole_mass",
    title="The prior's mass in the holes of the aggregate posterior",
    reference=hole_mass,
    cases=[
        ((np.array([0.5, 0.0, 0.5]), np.array([0.25, 0.5, 0.25]), 0.1), 0.5),
        # strictly below: q = fraction * p is not a hole
        ((np.array([[0.05, 0.45], [0.0, 0.5]]), np.array([[0.5, 0.25], [0.125, 0.125]]), 0.1),
         0.125),
        ((np.array([0.2, 0.3, 0.5]), np.array([0.3, 0.3, 0.4]), 0.5), 0.0),
    ],
    random_cases=lambda rng: [(rng.dirichlet(np.full(n, 0.3)), rng.dirichlet(np.ones(n)), f)
                              for n, f in [(10, 0.1), (100, 0.5), (400, 0.01)]],
    hint="Select the cells where q_cells < fraction * p_cells and add up p_cells there "
         "(the prior's mass, not q's).",
    minutes=5,
))

register(Exercise(
    name="ch09.slerp",
    title="Spherical interpolation between two codes",
    reference=slerp,
    cases=[
        # a quarter circle: the midpoint of (1, 0) and (0, 1) keeps norm 1
        ((np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, 0.5, 1.0])),
         np.array([[1.0, 0.0], [np.sqrt(0.5), np.sqrt(0.5)], [0.0, 1.0]])),
        # different norms: at t = 1/2 both weights are sin(W/2) / sin W
        ((np.array([2.0, 0.0, 0.0]), np.array([0.0, 0.0, 4.0]), np.array([0.5])),
         np.array([[np.sqrt(2.0), 0.0, 2 * np.sqrt(2.0)]])),
    ],
    random_cases=lambda rng: [(rng.standard_normal(k), rng.standard_normal(k),
                               np.linspace(0, 1, m)) for k, m in [(2, 5), (20, 7)]],
    hint="W is the angle between z1 and z2: cos W = z1 . z2 / (|z1| |z2|). Return one row "
         "per t: (sin((1 - t) W) z1 + sin(t W) z2) / sin W (use t[:, None] to broadcast).",
    minutes=10,
))
