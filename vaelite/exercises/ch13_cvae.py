"""Exercises of "The conditional VAE" (book/13_cvae.ipynb)."""
import numpy as np

from vaelite.exercises import Exercise, register


def first_layer_with_label(x, labels, W, b):
    """The pre-activation of a CVAE encoder's first layer, [x, onehot(y)] @ W + b, computed
    without building the one-hot: the label picks a row of W's last n_classes rows.

    x: (n, d); labels: (n,) integers in 0..C-1; W: (d + C, h); b: (h,). Returns (n, h).
    """
    d = x.shape[1]
    return x @ W[:d] + W[d + labels] + b


def softmax_loss_and_grads(W, b, codes, labels):
    """Mean cross-entropy of the linear probe softmax(codes @ W + b) and its gradients.

    codes: (n, k); labels: (n,) in 0..C-1; W: (k, C); b: (C,). Returns (loss, dW, db).
    """
    n = len(labels)
    logits = codes @ W + b
    logits = logits - logits.max(axis=1, keepdims=True)    # no overflow in exp
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(W.shape[1])[labels]
    loss = -np.mean(np.log(p[np.arange(n), labels]))
    delta = (p - onehot) / n                                # dloss / dlogits
    return loss, codes.T @ delta, delta.sum(axis=0)


def mi_lower_bound(log_proba, labels):
    """A lower bound on I(code; y) in nats from a classifier's log-probabilities on held-out
    codes: H(y) - mean_i(-log q(y_i | code_i)), H(y) from the label frequencies.

    log_proba: (n, C) log q(y | code); labels: (n,) in 0..C-1. Returns a float.
    """
    n = len(labels)
    shares = np.bincount(labels) / n
    shares = shares[shares > 0]
    entropy = -np.sum(shares * np.log(shares))
    cross_entropy = -np.mean(log_proba[np.arange(n), labels])
    return entropy - cross_entropy


def _log_softmax(logits):
    logits = np.asarray(logits, dtype=float)
    return logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))


def _first_layer_cases(rng):
    cases = []
    for n, d, c, h in ((1, 3, 2, 2), (5, 4, 3, 6), (20, 10, 10, 7)):
        cases.append((rng.normal(size=(n, d)), rng.integers(0, c, n),
                      rng.normal(size=(d + c, h)), rng.normal(size=h)))
    return cases


register(Exercise(
    name="ch13.first_layer_with_label",
    title="The one-hot label as a bias row",
    reference=first_layer_with_label,
    cases=[
        # d = 2 pixels, C = 2 classes, h = 1 unit: W's rows 2 and 3 are the class biases
        ((np.array([[1.0, 2.0]]), np.array([1]), np.array([[1.0], [1.0], [10.0], [20.0]]),
          np.array([0.5])), np.array([[23.5]])),
        # the same image under each class: only the class row changes
        ((np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 1]),
          np.array([[2.0, 0.0], [0.0, 0.0], [0.0, 1.0], [3.0, 0.0]]), np.zeros(2)),
         np.array([[2.0, 1.0], [5.0, 0.0]]))],
    random_cases=_first_layer_cases,
    rtol=1e-10,
    hint="The one-hot block of [x, onehot] multiplies W's last C rows and picks row d + y of "
         "W (d = number of pixels), not row y.",
    minutes=10,
))

register(Exercise(
    name="ch13.softmax_loss_and_grads",
    title="The linear probe's cross-entropy and its gradient",
    reference=softmax_loss_and_grads,
    cases=[
        # all logits equal: loss log 2; P - Y = [[-.5, .5], [.5, -.5]], divided by n = 2,
        # so dW = [1, 3] @ that = [[0.5, -0.5]] and db = 0
        ((np.zeros((1, 2)), np.zeros(2), np.array([[1.0], [3.0]]), np.array([0, 1])),
         (np.log(2), np.array([[0.5, -0.5]]), np.array([0.0, 0.0]))),
        # huge logits: subtract the maximum before exp
        ((np.array([[1000.0, 0.0]]), np.zeros(2), np.array([[1.0]]), np.array([0])),
         (0.0, np.array([[0.0, 0.0]]), np.array([0.0, 0.0])))],
    random_cases=lambda rng: [(rng.normal(size=(k, c)), rng.normal(size=c),
                               rng.normal(size=(n, k)), rng.integers(0, c, n))
                              for n, k, c in ((1, 2, 3), (8, 3, 4), (50, 16, 10))],
    rtol=1e-7,
    hint="dloss/dlogits = (softmax(logits) - onehot(y)) / n; then dW = codes.T @ that and "
         "db = its sum over the rows. Shift each row of logits by its maximum before exp.",
    minutes=20,
))

register(Exercise(
    name="ch13.mi_lower_bound",
    title="A lower bound on the information a code carries about the label",
    reference=mi_lower_bound,
    cases=[
        # a classifier that always says "uniform": H(y) - log C = 0 for balanced labels
        ((np.log(np.full((4, 2), 0.5)), np.array([0, 1, 0, 1])), 0.0),
        # a perfect classifier: the bound is H(y) = log 2
        ((_log_softmax([[50.0, 0.0], [0.0, 50.0]]), np.array([0, 1])), np.log(2)),
        # unbalanced labels: H(y) from their shares (3/4, 1/4), not log C
        ((np.log(np.array([[0.75, 0.25]] * 4)), np.array([0, 0, 0, 1])), 0.0)],
    random_cases=lambda rng: [(_log_softmax(rng.normal(size=(n, c))), rng.integers(0, c, n))
                              for n, c in ((5, 3), (40, 10), (200, 10))],
    rtol=1e-7,
    hint="H(y) = -sum_c p_c log p_c with p_c the share of label c among the labels; the "
         "cross-entropy is the mean of -log_proba[i, labels[i]].",
    minutes=10,
))
