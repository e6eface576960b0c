"""An autoregressive prior over discrete codes: MADE (Germain et al., 2015), a masked MLP.

A code is a sequence of D indices c_1..c_D, each in [0, K). The prior factorises exactly,

    p(c) = prod_i p(c_i | c_<i),

and one pass of a masked MLP gives every conditional at once: the input is the one-hot code
(batch, D*K), the output the logits (batch, D, K), and masks on the weights make output block i
depend only on inputs of positions < i. The masks come from degrees: input unit of position i
has degree i (1-based), each hidden unit a degree in [1, D-1]; a hidden unit sees units of degree
<= its own, output block i sees hidden units of degree < i. The first block sees nothing: its
logits are the output biases, the unconditional p(c_1).

Training maximises the exact log-likelihood (softmax cross-entropy at every position);
sampling draws c_1, then c_2 given c_1, ..., one position per forward pass.
"""
import numpy as np

from .. import checks
from ..backends import current
from ..functional import logsumexp
from ..layers import Linear, activation


class MaskedLinear(Linear):
    """y = x @ (W * mask) + b: a Linear layer whose weights outside ``mask`` (in, out) are zero.

    The gradient of W is masked too, so an optimizer never moves the cut connections.
    """

    def __init__(self, mask, rng, dtype=np.float64):
        super().__init__(mask.shape[0], mask.shape[1], rng, dtype)
        self.mask = current().asarray(mask, dtype=dtype)
        self.params["W"][...] = self.params["W"] * self.mask

    def forward(self, x):
        self.x = x
        return x @ (self.params["W"] * self.mask) + self.params["b"]

    def backward(self, dy, need_dx=True):
        backend = current()
        backend.matmul(self.x.T, dy, out=self.grads["W"])
        self.grads["W"][...] = self.grads["W"] * self.mask  # dL/dW = (x^T dy) * mask
        self.grads["b"][...] = backend.xp.sum(dy, axis=0)
        if not need_dx:
            return None
        return dy @ (self.params["W"] * self.mask).T


def log_softmax(logits, axis=-1):
    """logits - logsumexp(logits) along ``axis``: finite for any finite logits."""
    xp = current().xp
    return logits - xp.expand_dims(logsumexp(logits, axis), axis=axis)


def made_masks(n_positions, n_codes, hidden):
    """The (in, out) 0/1 masks of a MADE with one-hot inputs, as NumPy arrays: one per layer.

    Degrees: input unit (i, k) has degree i + 1; hidden unit j of each layer has degree
    1 + j mod (D - 1) (1 when D = 1); output block i has degree i + 1. A hidden unit connects
    from units of degree <= its own, an output from units of degree strictly smaller."""
    degrees = [np.repeat(np.arange(1, n_positions + 1), n_codes)]
    for width in hidden:
        degrees.append(1 + np.arange(width) % max(n_positions - 1, 1))
    masks = [(d_in[:, None] <= d_out[None, :]) for d_in, d_out in zip(degrees, degrees[1:])]
    masks.append(degrees[-1][:, None] < degrees[0][None, :])  # output degrees = input degrees
    return [m.astype(np.float64) for m in masks]


class MADEPrior:
    """p(c) over codes c: (batch, n_positions) of integers in [0, n_codes), by a masked MLP.

    hidden: widths of the hidden layers (may be empty: each conditional is then a linear
    softmax of the one-hot earlier positions). activation: a name from ``vaelite.layers``.
    """

    def __init__(self, n_positions, n_codes, hidden=(64,), activation_name="relu", seed=0,
                 dtype=np.float32):
        self.n_positions = checks.integer(n_positions, "n_positions")
        self.n_codes = checks.integer(n_codes, "n_codes", minimum=2)
        self.hidden = checks.sizes(hidden, "hidden")
        self.activation = activation_name
        self.seed = None if seed is None else checks.integer(seed, "seed", minimum=0)
        self.input_dim = self.n_positions * self.n_codes  # the width of the one-hot input
        self.dtype = checks.float_dtype(dtype)
        rng = np.random.default_rng(self.seed)
        masks = made_masks(self.n_positions, self.n_codes, self.hidden)
        self.linears = [MaskedLinear(m, rng, self.dtype) for m in masks]
        self.acts = [activation(activation_name) for _ in self.hidden]

    def parameters(self, prefix=""):
        """(name, param, grad) triples, as ``vaelite.Adam`` takes them."""
        return [t for i, lin in enumerate(self.linears)
                for t in lin.parameters(f"{prefix}layer{i}.")]

    def check_codes(self, codes, name="codes"):
        """codes as a host NumPy int64 array (batch, n_positions) with values in [0, n_codes),
        or a clear error.

        codes may also be given as their one-hot rows, floats (batch, n_positions * n_codes)
        of 0 and 1 with one 1 per position: the MADE's own input. That is how ``vaelite.fit``
        feeds them (it trains on float rows; see ``vaelite.train.fit_prior``)."""
        if hasattr(codes, "shape") and not isinstance(codes, np.ndarray):
            codes = current().to_host(codes)  # a backend array
        codes = np.asarray(codes) if isinstance(codes, (list, tuple)) else codes
        if (isinstance(codes, np.ndarray) and codes.dtype.kind == "f" and codes.ndim == 2
                and codes.shape[1] == self.input_dim):
            return self._from_one_hot(codes, name)
        if not isinstance(codes, np.ndarray) or codes.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array of shape (batch, "
                            f"{self.n_positions}), got "
                            f"{getattr(codes, 'dtype', type(codes).__name__)}")
        if codes.ndim != 2 or codes.shape[1] != self.n_positions or codes.shape[0] == 0:
            raise ValueError(f"{name} must have shape (batch, {self.n_positions}) with batch >= "
                             f"1, got {tuple(codes.shape)}")
        if np.any(codes < 0) or np.any(codes >= self.n_codes):
            raise ValueError(f"{name} must lie in [0, {self.n_codes}), got values from "
                             f"{codes.min()} to {codes.max()}")
        return codes.astype(np.int64)

    def _from_one_hot(self, rows, name):
        """One-hot rows (batch, n_positions * n_codes) -> codes (batch, n_positions) int64."""
        blocks = rows.reshape(rows.shape[0], self.n_positions, self.n_codes)
        if (rows.shape[0] == 0 or not np.all((blocks == 0) | (blocks == 1))
                or not np.all(blocks.sum(axis=2) == 1)):
            raise ValueError(f"{name} given as floats must be one-hot rows (batch >= 1, "
                             f"{self.input_dim}): 0 and 1 with one 1 in each of the "
                             f"{self.n_positions} blocks of {self.n_codes}")
        return np.argmax(blocks, axis=2).astype(np.int64)

    def one_hot(self, codes):
        """(batch, n_positions) host ints -> (batch, n_positions * n_codes) backend array."""
        eye = np.eye(self.n_codes, dtype=self.dtype)
        return current().asarray(eye[codes].reshape(codes.shape[0], -1))

    def logits(self, codes):
        """Logits of every conditional p(c_i | c_<i): (batch, n_positions, n_codes), backend."""
        return self._logits(self.one_hot(self.check_codes(codes)))

    def _logits(self, x):
        h = x
        for lin, act in zip(self.linears, self.acts):
            h = act.forward(lin.forward(h))
        out = self.linears[-1].forward(h)
        return current().xp.reshape(out, (-1, self.n_positions, self.n_codes))

    def log_prob(self, codes):
        """Exact log p(c) per code: (batch, n_positions) -> (batch,), as NumPy."""
        x = self.one_hot(self.check_codes(codes))
        xp = current().xp
        logp = log_softmax(self._logits(x)) * xp.reshape(x, (-1, self.n_positions, self.n_codes))
        return current().to_host(xp.sum(logp, axis=(1, 2)))

    def loss(self, codes, rng=None):
        """{"loss"}: the mean negative log-likelihood, nats per code sequence (rng is not used:
        it is there so that ``vaelite.fit`` can train the prior like a model)."""
        return self._forward(codes)[0]

    def loss_and_grads(self, codes, rng=None):
        """Same numbers as ``loss``; also fills every gradient by backprop.

        With p = softmax(logits) at each position and y the one-hot code,
        dL/dlogits = (p - y) / batch; then back through the masked layers."""
        parts, dout = self._forward(codes)
        dh = self.linears[-1].backward(dout, need_dx=bool(self.hidden))
        for lin, act in zip(reversed(self.linears[:-1]), reversed(self.acts)):
            dh = lin.backward(act.backward(dh), need_dx=lin is not self.linears[0])
        return parts

    def _forward(self, codes):
        xp = current().xp
        codes = self.check_codes(codes)
        x = self.one_hot(codes)
        y = xp.reshape(x, (-1, self.n_positions, self.n_codes))
        logp = log_softmax(self._logits(x))
        batch = codes.shape[0]
        loss = -xp.sum(logp * y) / batch
        dout = xp.reshape((xp.exp(logp) - y) / batch, (batch, -1))
        return {"loss": float(current().to_host(loss))}, dout

    def sample(self, n, rng, prefix=()):
        """n codes drawn one position at a time, c_i ~ p(c_i | c_<i): (n, n_positions) int64,
        as NumPy. ``prefix``: the first positions, given (the same for every row); the draws
        continue after them."""
        n = checks.integer(n, "n")
        rng = checks.generator(rng)
        prefix = np.asarray(prefix).reshape(-1)
        if prefix.size and prefix.dtype.kind not in "iu":
            raise TypeError(f"prefix must hold integer codes, got {prefix.dtype}")
        if len(prefix) > self.n_positions or np.any((prefix < 0) | (prefix >= self.n_codes)):
            raise ValueError(f"prefix must be at most {self.n_positions} codes in "
                             f"[0, {self.n_codes}), got {prefix.tolist()}")
        backend = current()
        codes = np.zeros((n, self.n_positions), dtype=np.int64)
        codes[:, :len(prefix)] = prefix
        for i in range(len(prefix), self.n_positions):
            logp = log_softmax(self._logits(self.one_hot(codes))[:, i, :])
            cdf = np.cumsum(np.exp(backend.to_host(logp).astype(np.float64)), axis=1)
            u = rng.random((n, 1)) * cdf[:, -1:]
            codes[:, i] = np.minimum((u >= cdf).sum(axis=1), self.n_codes - 1)
        return codes
