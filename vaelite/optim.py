"""Optimizers: update parameters in place from the gradients the backward pass wrote.

    opt = Adam(model.parameters(), lr=1e-3)
    model.loss_and_grads(x, rng)   # fills the grads
    opt.step()                     # param -= update(grad)
"""
from . import checks
from .backends import current
from .functional import namespace


class Optimizer:
    """Holds (name, param, grad) triples; ``step()`` updates every param in place."""

    def __init__(self, parameters, lr):
        expected = "parameters must be (name, param, grad) triples, as model.parameters() returns"
        try:
            self.parameters = list(parameters)
        except TypeError:
            raise TypeError(f"{expected}, got {type(parameters).__name__}") from None
        if not self.parameters:
            raise ValueError("the optimizer got no parameters")
        if not all(isinstance(t, tuple) and len(t) == 3 and hasattr(t[1], "shape")
                   for t in self.parameters):
            raise TypeError(expected)
        self.lr = checks.number(lr, "lr (the learning rate)", minimum=0, strict=True)
        self.t = 0  # number of steps taken


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: v = momentum v + g; p -= lr v."""

    def __init__(self, parameters, lr=0.01, momentum=0.0):
        super().__init__(parameters, lr)
        self.momentum = checks.number(momentum, "momentum", minimum=0)
        if not self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        self.velocity = [namespace(p).zeros_like(p) for _, p, _ in self.parameters]

    def step(self):
        self.t += 1
        for (_, p, g), v in zip(self.parameters, self.velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"Adam betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1, self.beta2 = (checks.number(b, "each of Adam's betas", minimum=0)
                                  for b in betas)
        if not (self.beta1 < 1 and self.beta2 < 1):
            raise ValueError(f"Adam betas must lie in [0, 1), got {betas}")
        self.eps = checks.number(eps, "eps", minimum=0, strict=True)
        self.m = [namespace(p).zeros_like(p) for _, p, _ in self.parameters]
        self.v = [namespace(p).zeros_like(p) for _, p, _ in self.parameters]

    def step(self):
        self.t += 1
        params = [p for _, p, _ in self.parameters]
        grads = [g for _, _, g in self.parameters]
        # the backend's adam_step: adam_update of each parameter, or one fused kernel for all
        current().adam_step(params, grads, self.m, self.v, self.lr, self.beta1, self.beta2,
                            self.eps, self.t)
