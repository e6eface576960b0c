"""The reference backend: NumPy arrays on the CPU, every primitive written once, to be read.

The code uses only the Python array API through ``self.xp`` (``array_api_compat.numpy`` here), so
the CuPy backend runs these very lines on a GPU and the strict test backend runs them on
``array_api_strict`` arrays. Other backends subclass this one and override what they speed up;
``tests/test_backends.py`` holds every override equal to the method here.

Shapes: ``a, y, dy: (batch, features)``, ``b, db: (features,)``; ``h: (batch, 2 * latent)`` is
an encoder output [mu, logvar]; ``eps, z, sigma: (batch, latent)``; ``logits, x: (batch, dim)``.
"""
import array_api_compat.numpy
import numpy as np

from ..functional import logsumexp, sigmoid, softplus

ACTIVATION_KINDS = ("leaky_relu", "tanh", "sigmoid", "identity")


class NumpyBackend:
    """The readable reference: NumPy arrays, host memory, one array API code path."""

    name = "numpy"
    xp = array_api_compat.numpy

    # ---- where arrays live ----

    def asarray(self, a, dtype=None):
        """``a`` (host NumPy data, a number, or an array of this backend) as an array of this
        backend, with the NumPy ``dtype`` if given."""
        return self.xp.asarray(a, dtype=self.dtype(dtype) if dtype is not None else None)

    def dtype(self, dtype):
        """This backend's dtype for a NumPy dtype (np.float32 -> xp.float32)."""
        return getattr(self.xp, np.dtype(dtype).name)

    def numpy_dtype(self, dtype):
        """The NumPy dtype for a dtype of this backend (or a NumPy dtype)."""
        return np.dtype(dtype)

    def to_host(self, a):
        """An array of this backend as a NumPy array (for people: plots, files, prints)."""
        return np.asarray(a)

    # ---- random draws, seeded by a numpy.random.Generator ----

    def uniform(self, rng, shape, dtype=np.float32):
        """U[0, 1) numbers of the given shape."""
        return self.asarray(rng.random(shape, dtype=self.numpy_dtype(dtype)))

    def standard_normal(self, rng, shape, dtype=np.float32):
        """N(0, 1) numbers of the given shape."""
        return self.asarray(rng.standard_normal(shape, dtype=self.numpy_dtype(dtype)))

    def binarize(self, x, rng):
        """x_bin ~ Bernoulli(x): a pixel is 1 when u < x, u ~ U[0, 1) (float32), which happens
        with probability x. Returns zeros and ones in x's dtype."""
        u = self.uniform(rng, x.shape, np.float32)
        return self.xp.astype(u < x, x.dtype)

    # ---- a layer: bias + activation after the product a = x @ W ----

    def matmul(self, a, b, out):
        """out[...] = a @ b: a weight gradient x^T dy written into the layer's grad array."""
        out[...] = a @ b
        return out

    def bias_act_forward(self, a, b, kind, slope=0.0):
        """y = act(a + b). ``kind``: "leaky_relu" (ReLU is slope 0), "tanh", "sigmoid" or
        "identity". A backend may write y over ``a``, the fresh product nobody else holds."""
        s = a + b
        if kind == "leaky_relu":
            return self.xp.where(s > 0, s, slope * s)
        if kind == "tanh":
            return self.xp.tanh(s)
        if kind == "sigmoid":
            return sigmoid(s)
        if kind == "identity":
            return s
        raise ValueError(f"unknown activation kind {kind!r}; choose one of {ACTIVATION_KINDS}")

    def bias_act_backward(self, dy, y, kind, db, slope=0.0):
        """dpre = dy * act'(a + b), with act' read from the output y (slope >= 0):

            leaky_relu: 1 where y > 0, else slope;  tanh: 1 - y^2;  sigmoid: y (1 - y)

        Writes the bias gradient, the batch sum of dpre, into ``db``; returns dpre."""
        if kind == "leaky_relu":
            dpre = self.xp.where(y > 0, dy, slope * dy)
        elif kind == "tanh":
            dpre = dy * (1 - y * y)
        elif kind == "sigmoid":
            dpre = dy * y * (1 - y)
        elif kind == "identity":
            dpre = dy
        else:
            raise ValueError(f"unknown activation kind {kind!r}; choose one of {ACTIVATION_KINDS}")
        db[...] = self.xp.sum(dpre, axis=0)
        return dpre

    # ---- the latent layer: reparameterization and the KL to N(0, I) ----

    def reparam_kl_forward(self, h, eps):
        """(z, sigma, kl) for h = [mu, logvar]: sigma = exp(logvar / 2), z = mu + sigma * eps,
        kl = KL(N(mu, sigma^2) || N(0, I)), a float in nats per example."""
        from ..losses import kl_normal

        latent = eps.shape[1]
        mu, logvar = h[:, :latent], h[:, latent:]
        sigma = self.xp.exp(0.5 * logvar)
        z = mu + sigma * eps  # reparameterization: z is a differentiable function of mu, logvar
        kl, _, _ = kl_normal(mu, logvar)
        return z, sigma, float(kl)

    def reparam_kl_backward(self, dz, eps, sigma, h, beta):
        """dh = dL/d[mu, logvar] from dz = dL/dz and the KL weight beta (a number, or an array
        of one weight per latent dimension: (latent,)); two paths each:

            dL/dmu     = dz                     + beta * dKL/dmu
            dL/dlogvar = dz * eps * sigma / 2   + beta * dKL/dlogvar
        """
        from ..losses import kl_normal

        latent = eps.shape[1]
        _, dmu_kl, dlogvar_kl = kl_normal(h[:, :latent], h[:, latent:])
        dmu = dz + beta * dmu_kl
        dlogvar = dz * eps * 0.5 * sigma + beta * dlogvar_kl
        return self.xp.concat([dmu, dlogvar], axis=1)

    # ---- the Bernoulli likelihood ----

    def bernoulli_log_prob(self, logits, x):
        """log p(x | logits) per example, (batch,): sum over pixels of x l - softplus(l), which
        is x log sigmoid(l) + (1 - x) log(1 - sigmoid(l)) and finite for any finite logit."""
        return self.xp.sum(x * logits - softplus(logits), axis=-1)

    def bernoulli_nll(self, logits, x):
        """(value, dlogits): value = mean over the batch of -log p(x | logits) (a 0-d array);
        dlogits = (sigmoid(l) - x) / batch, the gradient of that mean."""
        value = -self.xp.mean(self.bernoulli_log_prob(logits, x))
        return value, (sigmoid(logits) - x) / x.shape[0]

    # ---- the optimizer ----

    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, t):
        """One Adam step (Kingma & Ba, 2015), in place on p, m, v; t counts steps from 1.

            m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
            p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
        """
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (self.xp.sqrt(v_hat) + eps)

    def adam_step(self, params, grads, ms, vs, lr, beta1, beta2, eps, t):
        """One Adam step of every parameter: ``adam_update`` of each (p, g, m, v) in turn."""
        for p, g, m, v in zip(params, grads, ms, vs):
            self.adam_update(p, g, m, v, lr, beta1, beta2, eps, t)

    # ---- importance sampling ----

    def logsumexp(self, a, axis):
        """log(sum(exp(a), axis)), around the maximum (see ``functional.logsumexp``)."""
        return logsumexp(a, axis)
