"""How good is a trained model? ELBO, importance-weighted log-likelihood, active units.

    elbo(model, x, rng)                  mean negative ELBO and its parts on held-out data
    log_likelihood(model, x, k, rng=rng) importance-weighted estimate of log p(x) (Burda et al.)
    nll(model, x, k, rng=rng)            the same, negated: the number papers report (nats)
    active_units(model, x)               how many latent dimensions the encoder uses
    kl_per_dimension(model, x)           the KL of each latent dimension (nats)
    mutual_information_gap(codes, factors) disentanglement against known factors (MIG)
    factor_mutual_information(codes, factors) the normalized I(z_j; v_k) behind it

Every number is in nats per image, averaged over the examples (the library's loss convention).
``rng`` is a ``numpy.random.Generator`` or an integer seed.
"""
import numpy as np

from . import checks
from .backends import current
from .data import check_images
from .losses import kl_normal_per_dimension


def _finite(value, what, model):
    """``value`` unchanged, or a FloatingPointError when it is NaN or infinite."""
    if not np.all(np.isfinite(value)):
        bad = [name for name, p, _ in model.parameters()
               if not bool(current().xp.all(current().xp.isfinite(p)))]
        cause = (f"the model's parameters {', '.join(bad)} hold NaN or Inf" if bad
                 else "the model produced an overflow")
        raise FloatingPointError(f"{what} is not finite ({value}): {cause}")
    return value


def _batches(n, batch_size):
    """Slices that cover range(n) in order, batch_size at a time."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def with_nelbo(parts):
    """Add "nelbo", the negative ELBO recon + kl, to a loss dict that reports both parts.

    For beta = 1 it equals "loss"; for a beta-VAE "loss" is recon + beta * kl, which is not a
    bound on log p(x), while "nelbo" still is. A dict without "kl" is returned unchanged.
    """
    if "recon" in parts and "kl" in parts:
        return {**parts, "nelbo": parts["recon"] + parts["kl"]}
    return dict(parts)


def elbo(model, x, rng, *, batch_size=500, labels=None):
    """Mean negative ELBO and its parts on ``x: (n, 784)``, in batches.

    Returns the model's loss dict averaged over all n examples (each batch weighted by its size),
    e.g. {"loss", "recon", "kl", "nelbo"} for a VAE ("nelbo" = recon + kl, see ``with_nelbo``).
    Each image gets one sample z ~ q(z|x), drawn with ``rng``: fix the seed to compare models.
    """
    rng, batch_size = checks.generator(rng), checks.integer(batch_size, "batch_size")
    n = check_images(x, "x", unit_interval=False).shape[0]  # model.loss checks the rest
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels: {len(labels)} labels for {n} images")
    totals = {}
    for s in _batches(n, batch_size):
        kwargs = {"labels": labels[s]} if labels is not None else {}
        parts = model.loss(x[s, ...], rng, **kwargs)
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + value * (s.stop - s.start)
    result = with_nelbo({key: total / n for key, total in totals.items()})
    return {key: _finite(value, f"the held-out {key}", model) for key, value in result.items()}


def _encode_gaussian(model, x):
    """(mu, logvar) of q(z|x), or a clear error for a model without a Gaussian encoder."""
    code = model.encode(x)
    if not (isinstance(code, tuple) and len(code) == 2):
        raise TypeError(f"{type(model).__name__} has no q(z|x): latent activity needs a "
                        "model whose encode(x) returns (mu, logvar), such as a VAE")
    return code


def log_likelihood(model, x, k=1000, *, rng, batch_size=100, sample_chunk=None,
                   per_example=False, labels=None):
    """Importance-weighted estimate of log p(x) (Burda, Grosse & Salakhutdinov, 2015).

        log p(x) >= L_k = E[ log (1/k) sum_i p(x, z_i) / q(z_i|x) ],   z_i ~ q(z|x)

    L_1 is the ELBO, and L_k grows with k towards log p(x). Each weight is
    log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x), and the average of the w_i is taken in
    log space with log-sum-exp, so nothing overflows.

    Memory: the decoder sees ``batch_size * sample_chunk`` latent codes at once (by default about
    10,000, some 100 MB for a 400-unit decoder); the k samples are drawn a chunk at a time and
    merged with a running log-sum-exp, so k = 5000 costs time, not memory.

    x: (n, 784). Returns the mean of log p(x) over the n examples (a negative number, in nats),
    or ``(mean, per_example_values)`` with ``per_example=True``. ``labels`` (n,): the classes
    of a conditional model (then it estimates log p(x|y)).
    """
    rng, batch_size = checks.generator(rng), checks.integer(batch_size, "batch_size")
    k = checks.integer(k, "k")
    chunk = (max(1, 10_000 // batch_size) if sample_chunk is None
             else checks.integer(sample_chunk, "sample_chunk"))
    if not hasattr(model, "log_importance_weights"):
        raise TypeError(f"{type(model).__name__} has no q(z|x): importance sampling needs a "
                        "model with log_importance_weights(x, n_samples, rng), such as a VAE")
    backend = current()
    xp = backend.xp
    x = model.check_input(x)
    if labels is not None and len(labels) != x.shape[0]:
        raise ValueError(f"labels: {len(labels)} labels for {x.shape[0]} images")
    values = np.empty(x.shape[0])
    for s in _batches(x.shape[0], batch_size):
        xb = x[s, ...]
        kwargs = {"labels": labels[s]} if labels is not None else {}
        log_sum_w = None  # running log sum_i w_i, per example
        for start in range(0, k, chunk):
            log_w = model.log_importance_weights(xb, min(chunk, k - start), rng, **kwargs)
            log_sum = backend.logsumexp(xp.astype(log_w, xp.float64), axis=0)
            log_sum_w = log_sum if log_sum_w is None else xp.logaddexp(log_sum_w, log_sum)
        values[s] = backend.to_host(log_sum_w) - np.log(k)
    mean = _finite(float(values.mean()), "the importance-weighted log p(x)", model)
    return (mean, values) if per_example else mean


def nll(model, x, k=1000, *, rng, batch_size=100, sample_chunk=None, labels=None):
    """Importance-weighted negative log-likelihood -log p(x), mean over x (nats, positive).

    The number reported as "NLL" in VAE papers; see ``log_likelihood``.
    """
    return -log_likelihood(model, x, k, rng=rng, batch_size=batch_size,
                           sample_chunk=sample_chunk, labels=labels)


def latent_activity(model, x, *, batch_size=500):
    """Cov_x(E_q[z_j | x]) for every latent dimension j: (latent_dim,).

    A dimension whose posterior mean does not change from image to image carries no
    information about x: the decoder ignores it (posterior collapse).
    """
    batch_size = checks.integer(batch_size, "batch_size")
    x = model.check_input(x)
    mu = np.concatenate([_encode_gaussian(model, x[s, ...])[0]
                         for s in _batches(x.shape[0], batch_size)])
    return _finite(mu.astype(np.float64).var(axis=0), "the latent activity", model)


def kl_per_dimension(model, x, *, batch_size=500):
    """KL( q(z_j|x) || N(0, 1) ) of every latent dimension j, averaged over the images x:
    (latent_dim,), in nats. They sum to the KL term of the ELBO; a dimension near 0 carries no
    information (posterior collapse)."""
    batch_size = checks.integer(batch_size, "batch_size")
    x = model.check_input(x)
    total = 0.0
    for s in _batches(x.shape[0], batch_size):
        mu, logvar = _encode_gaussian(model, x[s, ...])
        total = total + kl_normal_per_dimension(mu.astype(np.float64),
                                                logvar.astype(np.float64)) * (s.stop - s.start)
    return _finite(total / x.shape[0], "the KL per dimension", model)


def active_units(model, x, threshold=0.01, *, batch_size=500):
    """Number of active latent units (Burda et al., 2015): dimensions j with
    Cov_x(E_q[z_j | x]) > threshold. x: (n, 784) held-out images."""
    threshold = checks.number(threshold, "threshold", minimum=0)
    return int(np.sum(latent_activity(model, x, batch_size=batch_size) > threshold))


def _entropy(counts):
    """Entropy in nats of the distribution proportional to ``counts`` (zeros allowed)."""
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def factor_mutual_information(codes, factors, bins=20):
    """I(z_j; v_k) / H(v_k) for every latent dimension j and factor k: (latent, F), in [0, 1].

    codes:   (n, latent) NumPy array, e.g. the posterior means (``to_host`` them)
    factors: (n, F) integer array, the true factor values of the same n examples

    Each latent dimension is cut into ``bins`` equal-width bins over its range; from the joint
    histogram of (bin of z_j, value of v_k) comes the plug-in estimate
    I(z_j; v_k) = H(z_j) + H(v_k) - H(z_j, v_k), divided by the entropy H(v_k) of the factor
    (the share of the factor's information that z_j holds). Estimated from counts, the MI of an
    unrelated pair is biased up by about (bins - 1)(values - 1) / (2n) nats: use n >> bins.
    """
    bins = checks.integer(bins, "bins", minimum=2)
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.number) or codes.shape[1] < 1:
        raise ValueError(f"codes must be a numeric array (n, latent), got "
                         f"{codes.dtype} {codes.shape}")
    if not np.all(np.isfinite(codes)):
        raise ValueError("codes contains NaN or Inf")
    if factors.ndim != 2 or not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"factors must be an integer array (n, F), got {factors.dtype} "
                         f"{factors.shape}")
    if factors.shape[0] != codes.shape[0]:
        raise ValueError(f"codes and factors must have the same rows, got {codes.shape[0]} "
                         f"and {factors.shape[0]}")
    low, high = codes.min(axis=0), codes.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    binned = np.minimum(((codes - low) / width * bins).astype(np.int64), bins - 1)  # (n, latent)
    info = np.empty((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        values, v = np.unique(factors[:, k], return_inverse=True)
        if len(values) < 2:
            raise ValueError(f"factors: column {k} takes a single value, so it has no entropy")
        h_v = _entropy(np.bincount(v))
        for j in range(codes.shape[1]):
            joint = np.bincount(binned[:, j] * len(values) + v, minlength=bins * len(values))
            marginal = joint.reshape(bins, len(values)).sum(axis=1)  # counts of z_j's bins
            info[j, k] = (_entropy(marginal) + h_v - _entropy(joint)) / h_v
    return np.clip(info, 0.0, 1.0)  # rounding can leave 1 + 1e-16 or -1e-16


def mutual_information_gap(codes, factors, bins=20, *, per_factor=False):
    """Mutual information gap, MIG (Chen, Li, Grosse & Duvenaud, 2018): in [0, 1], 1 = each
    factor is captured by one latent dimension alone.

    codes:   (n, latent) NumPy array, latent >= 2, e.g. the posterior means (``to_host`` them)
    factors: (n, F) integer array, the true factor values of the same n examples

    ``factor_mutual_information`` gives I(z_j; v_k) / H(v_k) for every pair (from histograms
    with ``bins`` equal-width bins per latent dimension). For each factor the gap is the largest
    of these minus the second largest; MIG is the mean gap over factors.
    With ``per_factor=True`` returns (mig, gaps: (F,)).
    """
    per_factor = checks.flag(per_factor, "per_factor")
    codes = np.asarray(codes)
    if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.number) or codes.shape[1] < 2:
        raise ValueError(f"codes must be a numeric array (n, latent) with latent >= 2, got "
                         f"{codes.dtype} {codes.shape}")
    top = -np.sort(-factor_mutual_information(codes, factors, bins), axis=0)  # descending
    gaps = np.clip(top[0] - top[1], 0.0, 1.0)
    mig = float(gaps.mean())
    return (mig, gaps) if per_factor else mig
