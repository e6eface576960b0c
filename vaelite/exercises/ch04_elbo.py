"""Exercises of chapter 4, "The ELBO" (book/04_elbo.ipynb).

The model of the chapter is linear-Gaussian:
    z ~ N(0, I_d),   x | z ~ N(W z + b, sigma^2 I_D),   p(z|x) = N(m, S),
and q(z|x) a Gaussian: full covariance L L^T, or diagonal diag exp(logvar).
Shapes: x, b: (D,); W: (D, d); mu, m, logvar: (d,); L, S: (d, d).
"""
import numpy as np

from vaelite.exercises import Exercise, register


def elbo_full_covariance(x, W, b, sigma, mu, L):
    """The ELBO of the linear-Gaussian model for a full-covariance q = N(mu, L L^T): a scalar.

    L: (d, d) lower triangular with a positive diagonal (a Cholesky factor). With
    z = mu + L eps, eps ~ N(0, I):
      E_q[log p(x|z)] = -D/2 log(2 pi sigma^2) - (||x - W mu - b||^2 + ||W L||_F^2) / (2 sigma^2)
      KL(q || N(0, I)) = 1/2 (||mu||^2 + ||L||_F^2 - d - log det(L L^T)),
    with log det(L L^T) = 2 sum_j log L_jj.
    """
    D, d = W.shape
    r = x - W @ mu - b
    recon = -0.5 * D * np.log(2 * np.pi * sigma**2) - (r @ r + np.sum((W @ L) ** 2)) \
        / (2 * sigma**2)
    kl = 0.5 * (mu @ mu + np.sum(L**2) - d - 2 * np.sum(np.log(np.diag(L))))
    return recon - kl


def best_diagonal_q(m, S):
    """The diagonal Gaussian q = N(mu, diag exp(logvar)) closest to N(m, S) in KL(q || p).

    Setting the derivatives of KL(q || N(m, S)) to zero gives mu = m and
    1 / s_j^2 = (S^-1)_jj: the precision, not the variance, is matched.
    Returns (mu, logvar), each (d,).
    """
    precision = np.linalg.inv(S)
    return m.copy(), -np.log(np.diag(precision))


def iwae_bound(log_w):
    """The importance-weighted bound log (1/K) sum_k w_k from log weights log_w: (..., K).

    Computed around the largest log weight, so that it never overflows or underflows:
    log mean exp(a) = max(a) + log mean exp(a - max(a)).
    """
    a = np.max(log_w, axis=-1, keepdims=True)
    K = log_w.shape[-1]
    return np.squeeze(a, axis=-1) + np.log(np.sum(np.exp(log_w - a), axis=-1)) - np.log(K)


def _linear_gaussian_case(rng, d, D):
    W = rng.normal(size=(D, d))
    b = rng.normal(size=D)
    x = rng.normal(size=D)
    sigma = float(rng.uniform(0.3, 1.5))
    L = np.tril(rng.normal(scale=0.5, size=(d, d)), -1) + np.diag(rng.uniform(0.2, 1.5, d))
    return x, W, b, sigma, rng.normal(size=d), L


def _exact_posterior_case():
    """q = the exact posterior of a correlated model: the ELBO is log p(x)."""
    W = np.array([[1.0, 0.5], [0.3, -1.0], [2.0, 1.0]])
    b, x, sigma = np.array([0.1, -0.2, 0.3]), np.array([1.0, 0.5, -1.0]), 0.7
    S = np.linalg.inv(np.eye(2) + W.T @ W / sigma**2)
    m = S @ W.T @ (x - b) / sigma**2
    C = W @ W.T + sigma**2 * np.eye(3)
    log_px = -0.5 * (3 * np.log(2 * np.pi) + np.linalg.slogdet(C)[1]
                     + (x - b) @ np.linalg.solve(C, x - b))
    return (x, W, b, sigma, m, np.linalg.cholesky(S)), log_px


register(Exercise(
    name="ch04.elbo_full_covariance",
    title="The ELBO with a full-covariance q, in closed form",
    reference=elbo_full_covariance,
    cases=[
        # q = N(0, I), W = 0, b = 0, sigma = 1, x = 0: recon = -D/2 log 2 pi, KL = 0
        ((np.zeros(2), np.zeros((2, 1)), np.zeros(2), 1.0, np.zeros(1), np.eye(1)),
         -np.log(2 * np.pi)),
        # one latent, one pixel: x = 1, W = 1, b = 0, sigma = 1, q = N(0.5, 1)
        ((np.array([1.0]), np.array([[1.0]]), np.array([0.0]), 1.0,
          np.array([0.5]), np.eye(1)),
         -0.5 * np.log(2 * np.pi) - (0.25 + 1.0) / 2 - 0.125),
        # q = the exact (correlated) posterior: the bound is tight
        _exact_posterior_case(),
    ],
    random_cases=lambda rng: [_linear_gaussian_case(rng, d, D) for d, D in
                              [(1, 1), (2, 3), (3, 5), (4, 2)]],
    rtol=1e-7,
    hint="with z = mu + L eps: E_q||x - W z - b||^2 = ||x - W mu - b||^2 + ||W L||_F^2 "
         "(np.sum((W @ L)**2)), and log det(L L^T) = 2 sum_j log L_jj.",
    minutes=25,
))


def _random_posterior(rng, d):
    A = rng.normal(size=(d, d))
    return rng.normal(size=d), A @ A.T + 0.5 * np.eye(d)


register(Exercise(
    name="ch04.best_diagonal_q",
    title="The best diagonal q for a correlated Gaussian posterior",
    reference=best_diagonal_q,
    cases=[
        # a diagonal posterior is matched exactly
        ((np.array([1.0, -2.0]), np.diag([4.0, 0.25])),
         (np.array([1.0, -2.0]), np.log(np.array([4.0, 0.25])))),
        # correlation 0.8, unit variances: 1 / (S^-1)_jj = 1 - 0.8^2 = 0.36
        ((np.zeros(2), np.array([[1.0, 0.8], [0.8, 1.0]])),
         (np.zeros(2), np.log(np.array([0.36, 0.36])))),
    ],
    random_cases=lambda rng: [_random_posterior(rng, d) for d in (1, 3, 5)],
    rtol=1e-7,
    hint="the best variance is not S_jj: it is 1 / (S^-1)_jj. Return logvar, the log of it.",
    minutes=15,
))


register(Exercise(
    name="ch04.iwae_bound",
    title="The importance-weighted bound, without overflow",
    reference=iwae_bound,
    cases=[
        ((np.array([0.0, 0.0, 0.0]),), 0.0),
        ((np.array([np.log(1.0), np.log(3.0)]),), np.log(2.0)),
        ((np.array([-1000.0, -1000.0]),), -1000.0),        # exp underflows to 0
        ((np.array([800.0, 800.0 + np.log(3.0)]),), 800.0 + np.log(2.0)),  # exp overflows
    ],
    random_cases=lambda rng: [(rng.normal(scale=s, size=shape),) for s, shape in
                              [(1.0, (5,)), (30.0, (4, 10)), (300.0, (2, 3, 7))]],
    rtol=1e-9,
    hint="subtract the largest log weight before exponentiating, add it back after the log; "
         "and work along the last axis.",
    minutes=15,
))
