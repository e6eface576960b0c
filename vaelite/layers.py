"""Layers with hand-written backward passes.

Every layer follows one contract:

- ``forward(x)`` computes the output and caches what the backward pass needs;
- ``backward(dy)`` takes dL/dy, returns dL/dx, and overwrites ``grads`` (same keys as ``params``)
  in place, so an optimizer holding the gradient arrays always sees the latest values.

Shapes: ``x: (batch, in_features)``, ``y: (batch, out_features)``.
"""
import numpy as np

from .backend import get_backend
from .functional import sigmoid, softplus
from .kernels.activation import bias_act_backward, bias_act_forward


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
        bound = 1.0 / np.sqrt(in_features)
        self.params["W"] = rng.uniform(-bound, bound, (in_features, out_features)).astype(dtype)
        self.params["b"] = rng.uniform(-bound, bound, out_features).astype(dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy, need_dx=True):
        np.matmul(self.x.T, dy, out=self.grads["W"])  # dL/dW = x^T dy
        np.sum(dy, axis=0, out=self.grads["b"])  # dL/db = sum over the batch of dy
        if not need_dx:  # the input is data (the first layer of an encoder): skip a product
            return None
        return dy @ self.params["W"].T  # dL/dx = dy W^T


class ReLU(Layer):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask


class LeakyReLU(Layer):
    """y = x where x > 0, else slope * x."""

    def __init__(self, slope=0.01):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, self.slope * x)

    def backward(self, dy):
        return np.where(self.mask, dy, self.slope * dy)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = np.tanh(x)
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
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(Layer):
    """Linear layers with an activation between them: sizes [784, 400, 20] gives
    Linear(784, 400) -> act -> Linear(400, 20). The last Linear has no activation unless
    ``output_activation`` names one.
    """

    def __init__(self, sizes, rng, activation_name="relu", output_activation=None,
                 dtype=np.float32):
        super().__init__()
        self._steps = None  # set by the fused forward pass (numba backend)
        if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"MLP sizes must be at least two positive integers, got {sizes}")
        self.sizes = list(sizes)
        self.layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.layers.append(Linear(n_in, n_out, rng, dtype))
            last = i == len(sizes) - 2
            if not last:
                self.layers.append(activation(activation_name))
            elif output_activation is not None:
                self.layers.append(activation(output_activation))

    def forward(self, x):
        if get_backend() == "numba":
            return self._forward_fused(x)
        self._steps = None
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy, need_dx=True):
        """dL/dx from dL/dy, filling every layer's grads. ``need_dx=False`` skips the input
        gradient of the first layer (returns None) when nobody needs it, e.g. for data."""
        if getattr(self, "_steps", None) is not None:
            return self._backward_fused(dy, need_dx)
        for layer in reversed(self.layers[1:]):
            dy = layer.backward(dy)
        return self.layers[0].backward(dy, need_dx=need_dx)

    # The same forward and backward passes, with each Linear layer and the activation after it
    # done as one matrix product (BLAS) plus one fused kernel (vaelite/kernels/activation.py):
    # y = act(x @ W + b) forward; dpre = dy * act'(y) and db = sum(dpre) backward. Used by the
    # "numba" backend; the loops above are the reference, and the tests hold the two equal.

    def _forward_fused(self, x):
        self._steps = []  # (layer, kind, slope, y): kind None means "call layer.backward"
        i = 0
        while i < len(self.layers):
            layer = self.layers[i]
            after = self.layers[i + 1] if i + 1 < len(self.layers) else None
            kind, slope = _fused_kind(after)
            layer.x = x
            x = bias_act_forward(x @ layer.params["W"], layer.params["b"], kind or "identity",
                                 slope)
            self._steps.append((layer, kind or "identity", slope, x))
            i += 1 if kind is None else 2
            if kind is None and after is not None:  # an activation without a fused kernel
                x = after.forward(x)
                self._steps.append((after, None, 0.0, x))
                i += 1
        return x

    def _backward_fused(self, dy, need_dx):
        for n, (layer, kind, slope, y) in enumerate(reversed(self._steps)):
            if kind is None:
                dy = layer.backward(dy)
                continue
            dpre, _ = bias_act_backward(dy, y, kind, slope, db=layer.grads["b"])
            np.matmul(layer.x.T, dpre, out=layer.grads["W"])
            first = n == len(self._steps) - 1
            dy = dpre @ layer.params["W"].T if need_dx or not first else None
        return dy

    def parameters(self, prefix=""):
        return [triple for i, layer in enumerate(self.layers)
                for triple in layer.parameters(f"{prefix}{i}.")]


def _fused_kind(layer):
    """(kind, slope) of the fused kernel for an activation layer, or (None, 0.0) if none fits."""
    if isinstance(layer, ReLU):
        return "leaky_relu", 0.0
    if isinstance(layer, LeakyReLU) and layer.slope >= 0:  # act' read from y needs slope >= 0
        return "leaky_relu", float(layer.slope)
    if isinstance(layer, Tanh):
        return "tanh", 0.0
    if isinstance(layer, Sigmoid):
        return "sigmoid", 0.0
    return None, 0.0
