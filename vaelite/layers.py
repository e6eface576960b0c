"""Layers with hand-written backward passes.

Every layer follows one contract:

- ``forward(x)`` computes the output and caches what the backward pass needs;
- ``backward(dy)`` takes dL/dy, returns dL/dx, and overwrites ``grads`` (same keys as ``params``)
  in place, so an optimizer holding the gradient arrays always sees the latest values.

Shapes: ``x: (batch, in_features)``, ``y: (batch, out_features)``. Arrays belong to the current
backend (``vaelite.backends.current()``): parameters are made on its device, and the code uses
only the array API (``xp``) and the backend's primitives, so it runs on every backend.
"""
import numpy as np

from . import checks
from .backends import current
from .functional import namespace, sigmoid, softplus


class Layer:
    """Base class: a layer without parameters unless it fills ``params``."""

    def __init__(self):
        self.params = {}
        self.grads = {}

    def __call__(self, x):
        return self.forward(x)

    def parameters(self, prefix=""):
        """List of (name, param, grad) triples, names prefixed by ``prefix``."""
        return [(prefix + k, self.params[k], self.grads[k]) for k in self.params]


class Linear(Layer):
    """Affine map y = x @ W + b, with W: (in_features, out_features), b: (out_features,).

    Initialisation (the same as PyTorch's ``nn.Linear``): W and b are drawn uniformly from
    [-1/sqrt(in_features), 1/sqrt(in_features)], which keeps the variance of the output of the
    order of the variance of one input.
    """

    def __init__(self, in_features, out_features, rng, dtype=np.float32):
        super().__init__()
        in_features = checks.integer(in_features, "in_features")
        out_features = checks.integer(out_features, "out_features")
        backend = current()
        bound = 1.0 / np.sqrt(in_features)
        W = rng.uniform(-bound, bound, (in_features, out_features)).astype(dtype)
        b = rng.uniform(-bound, bound, out_features).astype(dtype)
        self.params["W"], self.params["b"] = backend.asarray(W), backend.asarray(b)
        self.grads["W"] = backend.xp.zeros_like(self.params["W"])
        self.grads["b"] = backend.xp.zeros_like(self.params["b"])

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy, need_dx=True):
        backend = current()
        backend.matmul(self.x.T, dy, out=self.grads["W"])  # dL/dW = x^T dy
        self.grads["b"][...] = backend.xp.sum(dy, axis=0)  # dL/db = sum over the batch of dy
        if not need_dx:  # the input is data (the first layer of an encoder): skip a product
            return None
        return dy @ self.params["W"].T  # dL/dx = dy W^T


class ReLU(Layer):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        self.mask = x > 0
        return namespace(x).where(self.mask, x, 0 * x)

    def backward(self, dy):
        return namespace(dy).where(self.mask, dy, 0 * dy)


class LeakyReLU(Layer):
    """y = x where x > 0, else slope * x."""

    def __init__(self, slope=0.01):
        super().__init__()
        self.slope = checks.number(slope, "slope")

    def forward(self, x):
        self.mask = x > 0
        return namespace(x).where(self.mask, x, self.slope * x)

    def backward(self, dy):
        return namespace(dy).where(self.mask, dy, self.slope * dy)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = namespace(x).tanh(x)
        return self.y

    def backward(self, dy):
        return dy * (1 - self.y**2)


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def forward(self, x):
        self.y = sigmoid(x)
        return self.y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


class Softplus(Layer):
    """y = log(1 + exp(x)); dy/dx = sigmoid(x)."""

    def forward(self, x):
        self.x = x
        return softplus(x)

    def backward(self, dy):
        return dy * sigmoid(self.x)


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid,
               "softplus": Softplus}


def activation(name):
    """An activation layer by name: relu, leaky_relu, tanh, sigmoid or softplus."""
    return ACTIVATIONS[checks.choice(name, "activation", tuple(ACTIVATIONS))]()


class MLP(Layer):
    """Linear layers with an activation between them: sizes [784, 400, 20] gives
    Linear(784, 400) -> act -> Linear(400, 20). The last Linear has no activation unless
    ``output_activation`` names one.

    Each Linear layer and the activation after it run as one block: the product a = x @ W, then
    the backend's ``bias_act_forward`` computes y = act(a + b) in one pass (the same numbers as
    ``Linear.forward`` followed by the activation's ``forward``, which the tests check). An
    activation without such a primitive (softplus) runs as its own layer after the block.
    """

    def __init__(self, sizes, rng, activation_name="relu", output_activation=None,
                 dtype=np.float32):
        super().__init__()
        self.sizes = checks.sizes(sizes, "MLP sizes")
        if len(self.sizes) < 2:
            raise ValueError(f"MLP sizes must be at least two positive integers, got {sizes}")
        self.layers = []
        self.blocks = []  # (Linear, activation layer or None): one per Linear
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            linear = Linear(n_in, n_out, rng, dtype)
            last = i == len(sizes) - 2
            name = output_activation if last else activation_name
            act = activation(name) if name is not None else None
            self.layers += [linear] if act is None else [linear, act]
            self.blocks.append((linear, act))
        self._cache = []  # per block: (input x, block output y before a separate activation)

    def forward(self, x):
        backend = current()
        self._cache = []
        for linear, act in self.blocks:
            kind, slope = _fused_kind(act)
            y = backend.bias_act_forward(x @ linear.params["W"], linear.params["b"], kind, slope)
            self._cache.append((x, y))
            x = act.forward(y) if act is not None and kind == "identity" else y
        return x

    def backward(self, dy, need_dx=True):
        """dL/dx from dL/dy, filling every layer's grads. ``need_dx=False`` skips the input
        gradient of the first layer (returns None) when nobody needs it, e.g. for data."""
        backend = current()
        for i in reversed(range(len(self.blocks))):
            (linear, act), (x, y) = self.blocks[i], self._cache[i]
            kind, slope = _fused_kind(act)
            if act is not None and kind == "identity":  # the activation ran as its own layer
                dy = act.backward(dy)
            dpre = backend.bias_act_backward(dy, y, kind, linear.grads["b"], slope)  # fills db
            backend.matmul(x.T, dpre, out=linear.grads["W"])  # dL/dW = x^T dpre
            dy = dpre @ linear.params["W"].T if i > 0 or need_dx else None  # dL/dx = dpre W^T
        return dy

    def parameters(self, prefix=""):
        return [triple for i, layer in enumerate(self.layers)
                for triple in layer.parameters(f"{prefix}{i}.")]


def _fused_kind(layer):
    """(kind, slope) of the backend's bias + activation primitive for an activation layer (or
    None); "identity" when the activation must run as its own layer."""
    if isinstance(layer, ReLU):
        return "leaky_relu", 0.0
    if isinstance(layer, LeakyReLU) and layer.slope >= 0:  # act' read from y needs slope >= 0
        return "leaky_relu", float(layer.slope)
    if isinstance(layer, Tanh):
        return "tanh", 0.0
    if isinstance(layer, Sigmoid):
        return "sigmoid", 0.0
    return "identity", 0.0
