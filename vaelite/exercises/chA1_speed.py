"""Exercises of "Where the time goes" (book/A1_speed.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def step_flops(hidden, latent, batch, input_dim=784):
    """FLOPs of the matrix products of one training step of an MLP VAE.

    Encoder: input_dim -> hidden... -> 2 * latent; decoder: latent ->
    hidden in reverse -> input_dim. A product (b x n) @ (n x m) costs
    2 b n m FLOPs (n multiplications and n additions for each of its b m
    outputs). Every layer (n -> m) has a forward product x W and a weight
    gradient x^T dy; all but the encoder's first also need the input
    gradient dy W^T (the first layer's input is data). Returns an int.
    """
    encoder = [input_dim, *hidden, 2 * latent]
    decoder = [latent, *reversed(hidden), input_dim]
    layers = (list(zip(encoder[:-1], encoder[1:]))
              + list(zip(decoder[:-1], decoder[1:])))
    total = 0
    for i, (n, m) in enumerate(layers):
        products = 2 if i == 0 else 3  # forward, weight grad (, input grad)
        total += products * 2 * batch * n * m
    return total


def adam_step_buffered(p, g, m, v, buf, lr, beta1, beta2, eps, t):
    """One Adam step in place on p, m, v, creating no new array: every
    intermediate result goes into the preallocated ``buf`` (the shape of
    p), with ``out=`` or in-place operators. Returns (p, m, v).

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
        p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """
    m *= beta1
    np.multiply(g, 1 - beta1, out=buf)
    m += buf                              # m = b1 m + (1 - b1) g
    v *= beta2
    np.multiply(g, g, out=buf)
    buf *= 1 - beta2
    v += buf                              # v = b2 v + (1 - b2) g^2
    np.multiply(v, 1 / (1 - beta2**t), out=buf)
    np.sqrt(buf, out=buf)
    buf += eps                            # sqrt(v_hat) + eps
    np.divide(m, buf, out=buf)
    buf *= lr / (1 - beta1**t)            # lr m_hat / (sqrt(v_hat) + eps)
    p -= buf
    return p, m, v


def bernoulli_nll_one_pass(logits, x):
    """Bernoulli negative log-likelihood from logits, and its gradient,
    from one exp per pixel.

    value = mean over the batch of the sum over pixels of
    softplus(l) - x l, with softplus(l) = max(l, 0) + log1p(e) and
    e = exp(-|l|) (which never overflows); dlogits = (sigmoid(l) - x) / b
    with sigmoid(l) = 1 / (1 + e) if l >= 0 else e / (1 + e), from the
    same e. Returns (value, dlogits).
    """
    batch = x.shape[0]
    e = np.exp(-np.abs(logits))       # the only exp: in (0, 1]
    value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e))
    p = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))  # sigmoid
    return float(value / batch), (p - x) / batch


def _adam_args(rng, shape, t):
    p = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    m = 0.1 * rng.standard_normal(shape)
    v = rng.random(shape)
    return p, g, m, v, np.zeros(shape), 1e-3, 0.9, 0.999, 1e-8, t


register(Exercise(
    name="chA1.step_flops",
    title="FLOPs of the matrix products of one training step",
    reference=step_flops,
    cases=[(((400,), 20, 128), 419_840_000),
           (((8,), 2, 1, 4), 2 * 2 * 4 * 8 + 3 * 2 * (8 * 4 + 2 * 8 + 8 * 4)),
           (((), 3, 10, 5), 2 * 2 * 10 * 5 * 6 + 3 * 2 * 10 * 3 * 5)],
    random_cases=lambda rng: [(tuple(int(h) for h in rng.integers(16, 600, size=k)),
                               int(rng.integers(2, 64)), int(rng.integers(1, 1024)))
                              for k in (1, 2, 3)],
    rtol=0, atol=0,
    hint="List the layers as (n_in, n_out) pairs, encoder then decoder. Each product costs "
         "2 * batch * n_in * n_out; every layer has two products, all but the first three.",
    minutes=15,
))

register(Exercise(
    name="chA1.adam_buffered",
    title="Adam in place, with one preallocated buffer",
    reference=adam_step_buffered,
    cases=[((np.array([1.0]), np.array([0.5]), np.array([0.0]), np.array([0.0]), np.zeros(1),
             0.1, 0.9, 0.999, 1e-8, 1),
            # first step: m_hat = g and v_hat = g^2, so p moves by lr * sign(g)
            (np.array([1.0 - 0.1 * 0.5 / (0.5 + 1e-8)]), np.array([0.05]),
             np.array([0.001 * 0.25]))),
           ((np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3),
             1e-3, 0.9, 0.999, 1e-8, 5),
            (np.zeros(3), np.zeros(3), np.zeros(3)))],
    random_cases=lambda rng: [_adam_args(rng, shape, t)
                              for shape, t in (((4,), 1), ((3, 5), 2), ((50, 20), 100))],
    rtol=1e-6, atol=1e-12,
    hint="Update m and v in place (m *= beta1, then add (1 - beta1) g computed into buf), then "
         "build the step in buf: sqrt(v / (1 - beta2**t)) + eps, m divided by it, times "
         "lr / (1 - beta1**t); finally p -= buf. Return (p, m, v).",
    minutes=20,
))

register(Exercise(
    name="chA1.bernoulli_one_pass",
    title="Stable Bernoulli NLL and its gradient with one exp",
    reference=bernoulli_nll_one_pass,
    cases=[((np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])),
            (2 * np.log(2.0), np.array([[-0.5, 0.5]]))),
           ((np.array([[1000.0, -1000.0]]), np.array([[1.0, 1.0]])),
            (1000.0, np.array([[0.0, -1.0]]))),
           ((np.array([[3.0], [-2.0]]), np.array([[0.0], [1.0]])),
            ((3.0 + np.log1p(np.exp(-3.0)) + 2.0 + np.log1p(np.exp(-2.0))) / 2,
             np.array([[1 / (1 + np.exp(-3.0)) / 2], [(1 / (1 + np.exp(2.0)) - 1) / 2]])))],
    random_cases=lambda rng: [(rng.normal(scale=s, size=(b, d)), rng.random((b, d)))
                              for s, b, d in ((1.0, 4, 6), (10.0, 3, 50), (100.0, 8, 784))],
    rtol=1e-7, atol=1e-12,
    hint="e = np.exp(-np.abs(logits)) is the only exp; softplus(l) = max(l, 0) + log1p(e) and "
         "sigmoid(l) = 1 / (1 + e) for l >= 0, e / (1 + e) for l < 0. Divide both the sum and "
         "the gradient by the batch size.",
    minutes=15,
))
