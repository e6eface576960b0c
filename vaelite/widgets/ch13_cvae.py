"""Helpers, figures and the widget of chapter 13 (book/13_cvae.ipynb): the conditional VAE.

- **training**: ``train_pair`` trains a VAE and a CVAE of the same size with the same
  settings (``SETTINGS``: chapter 11's, with a 2-dimensional code), the same seed and the same
  minibatch order;
- **what the code knows about the class**: ``softmax_loss_and_grads`` (multinomial logistic
  regression, value and hand-written gradient), ``fit_linear_probe``, ``mean_codes`` and
  ``label_information``
  (k-NN and linear-probe accuracy of the label from the latent means, and the probe's lower
  bound on the mutual information I(code; label) = H(y) - H(y | code) >= H(y) - cross-entropy);
- **generation by class**: ``every_class`` (each code decoded under every label),
  ``generated_accuracy`` (a judge's verdict on digits generated for each requested class) and
  ``confusion_matrix``;
- **the bookkeeping of the KL term**: ``kl_split`` checks on a discrete toy that the average
  KL(q(z|x,y) || p(z)) is I(x; z | y) + I(z; y) + KL(q(z) || p(z));
- figures: ``draw_class_grid``, ``draw_codes``, ``draw_label_information``,
  ``draw_confusion``, and ``draw_class_manifold`` (the widget's frame).
"""
import time

import numpy as np

from .. import checks
from ..functional import logsumexp
from ..models import CVAE, VAE
from ..optim import Adam
from ..plot import IMAGE_KW, Figure, latent_scatter, tile_images
from ..train import fit
from .ch01_autoencoder import knn_vote
from .ch11_limits import SETTINGS as CH11_SETTINGS

__all__ = ["SETTINGS", "train_pair", "softmax_loss_and_grads", "fit_linear_probe",
           "mean_codes", "label_information", "every_class", "generated_accuracy",
           "confusion_matrix", "kl_split", "draw_class_grid", "draw_codes", "draw_label_information",
           "draw_confusion", "draw_class_manifold"]

# chapter 11's small model and training (784-256-k, 10 epochs of Adam), with a 2-D code
SETTINGS = {**CH11_SETTINGS, "latent_dim": 2}


# --------------------------------------------------------------------------- training

def train_pair(x_train, y_train, *, seed=0, **settings):
    """A VAE and a CVAE with the same layers, latent size, optimizer, epochs, seed and
    minibatch order (``SETTINGS`` of chapter 11, overridable by keyword), trained on
    x_train: (n, d) in [0, 1] with dynamic binarization; the CVAE also reads y_train: (n,).

    Returns ({"VAE": model, "CVAE": model}, {"VAE": seconds, "CVAE": seconds}).
    """
    s = {**SETTINGS, **settings}
    shape = {"input_dim": np.shape(x_train)[1], "hidden": s["hidden"],
             "latent_dim": s["latent_dim"], "seed": seed}
    models = {"VAE": VAE(**shape), "CVAE": CVAE(**shape, n_classes=10)}
    data = {"VAE": x_train, "CVAE": (x_train, y_train)}
    seconds = {}
    for name, model in models.items():
        start = time.perf_counter()
        fit(model, data[name], s["epochs"], s["batch_size"],
            Adam(model.parameters(), lr=s["lr"]), seed=seed, progress=False)
        seconds[name] = time.perf_counter() - start
    return models, seconds


# --------------------------------------------------------------------------- probes

def softmax_loss_and_grads(W, b, codes, labels):
    """Mean cross-entropy of multinomial logistic regression, and its gradients.

    logits = codes @ W + b: (n, C) for codes (n, k), W (k, C), b (C,); labels (n,) in 0..C-1.
    loss = mean_i [logsumexp(logits_i) - logits_i[y_i]]  (nats).
    With P = softmax(logits) and Y the one-hot labels, dloss/dlogits = (P - Y) / n, so
    dW = codes^T (P - Y) / n and db = sum_i (P - Y)_i / n. Returns (loss, dW, db).
    """
    logits = codes @ W + b
    log_p = logits - logsumexp(logits, axis=1)[:, None]
    n = len(labels)
    loss = -float(np.mean(log_p[np.arange(n), labels]))
    delta = np.exp(log_p)
    delta[np.arange(n), labels] -= 1.0
    delta /= n
    return loss, codes.T @ delta, delta.sum(axis=0)


def fit_linear_probe(codes, labels, n_classes=10, steps=300, lr=0.05, seed=0):
    """Fit a linear classifier label ~ softmax(codes @ W + b) by full-batch Adam on the mean
    cross-entropy (``softmax_loss_and_grads``). The codes are standardised with their own mean
    and standard deviation first (kept in the result, to apply to new codes).

    codes: (n, k); labels: (n,) in 0..n_classes-1. Returns a dict with W (k, C), b (C,),
    mean and std (k,), and "predict_log_proba": a function codes -> (m, C) log-probabilities.
    """
    codes = np.asarray(codes, dtype=np.float64)
    labels = np.asarray(labels)
    mean, std = codes.mean(axis=0), codes.std(axis=0) + 1e-8
    x = (codes - mean) / std
    rng = np.random.default_rng(seed)
    params = {"W": 0.01 * rng.standard_normal((codes.shape[1], n_classes)),
              "b": np.zeros(n_classes)}
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    optimizer = Adam([(key, params[key], grads[key]) for key in params], lr=lr)
    for _ in range(steps):
        _, grads["W"][...], grads["b"][...] = softmax_loss_and_grads(params["W"], params["b"],
                                                                     x, labels)
        optimizer.step()

    def predict_log_proba(new_codes):
        logits = ((np.asarray(new_codes, dtype=np.float64) - mean) / std) @ params["W"] \
            + params["b"]
        return logits - logsumexp(logits, axis=1)[:, None]

    return {**params, "mean": mean, "std": std, "predict_log_proba": predict_log_proba}


def mean_codes(model, x, labels):
    """The mean codes of images x: (n, d): mu(x, y) for a model that reads labels (n,) (a CVAE),
    mu(x) for one that does not (the labels are then not used). Returns (n, latent)."""
    return model.code(x, labels) if model.uses_labels else model.code(x)


def label_information(codes_train, y_train, codes_test, y_test, k=10):
    """How much the latent means say about the label, measured on held-out codes.

    knn:        accuracy of the k-nearest-neighbour vote among the training codes
    linear:     accuracy of a linear probe (``fit_linear_probe``) fitted on the training codes
    cross_entropy: the probe's mean -log q(y | code) on the test codes (nats)
    entropy:    H(y) of the test labels (nats; log 10 for balanced digits)
    mi_bound:   entropy - cross_entropy, a lower bound on the mutual information I(code; y)
                (Barber & Agakov): I = H(y) - H(y | code) and any classifier's cross-entropy
                is at least H(y | code)
    Chance accuracy is the largest class share, 0.1 for balanced digits.
    """
    codes_train, codes_test = (np.asarray(c, dtype=np.float64) for c in (codes_train,
                                                                          codes_test))
    for name, codes, labels in (("train", codes_train, y_train), ("test", codes_test, y_test)):
        if codes.ndim != 2 or np.shape(labels) != (len(codes),):
            raise ValueError(f"codes_{name} must be (n, k) with y_{name} (n,), got "
                             f"{codes.shape} and {np.shape(labels)}")
    if codes_train.shape[1] != codes_test.shape[1]:
        raise ValueError(f"codes_train and codes_test must have the same width, got "
                         f"{codes_train.shape[1]} and {codes_test.shape[1]}")
    knn = float(np.mean(knn_vote(codes_test, codes_train, y_train, k=k)[0] == y_test))
    probe = fit_linear_probe(codes_train, y_train)
    log_p = probe["predict_log_proba"](codes_test)
    y_test = np.asarray(y_test)
    cross_entropy = -float(np.mean(log_p[np.arange(len(y_test)), y_test]))
    shares = np.bincount(y_test) / len(y_test)
    entropy = -float(np.sum(shares[shares > 0] * np.log(shares[shares > 0])))
    return {"knn": knn, "linear": float(np.mean(log_p.argmax(axis=1) == y_test)),
            "cross_entropy": cross_entropy, "entropy": entropy,
            "mi_bound": entropy - cross_entropy}


# --------------------------------------------------------------------------- the KL term

def kl_split(p_xy, q_z):
    """The average KL term of a CVAE split into its parts, on a discrete toy.

    p_xy: (X, Y) the joint p(x, y); q_z: (X, Y, Z) the encoder q(z | x, y) (rows sum to 1); the
    prior p(z) is uniform over the Z values. Returns a dict of nats: "kl" = E_p(x,y)
    KL(q(z|x,y) || p(z)), and its parts "i_xz_given_y" = I(x; z | y), "i_zy" = I(z; y) and
    "kl_marginal" = KL(q(z) || p(z)), all under q(x, y, z) = p(x, y) q(z | x, y).
    """
    p_xy, q_z = np.asarray(p_xy, dtype=np.float64), np.asarray(q_z, dtype=np.float64)
    if p_xy.ndim != 2 or q_z.shape[:2] != p_xy.shape or q_z.ndim != 3:
        raise ValueError(f"p_xy must be (X, Y) and q_z (X, Y, Z), got {p_xy.shape} and "
                         f"{q_z.shape}")
    if not (np.isclose(p_xy.sum(), 1) and np.allclose(q_z.sum(axis=2), 1)
            and p_xy.min() >= 0 and q_z.min() >= 0):
        raise ValueError("p_xy must sum to 1 and each q_z[x, y] must be a distribution over z")
    joint = p_xy[:, :, None] * q_z                   # q(x, y, z)
    q_zy = joint.sum(axis=0)                         # q(y, z)
    q_z_given_y = q_zy / q_zy.sum(axis=1, keepdims=True)
    q_marginal = q_zy.sum(axis=0)                    # q(z)
    prior = np.full(q_z.shape[2], 1 / q_z.shape[2])

    def expect(log_ratio):                           # E_q(x,y,z)[log_ratio], 0 log 0 = 0
        return float(np.sum(np.where(joint > 0, joint * log_ratio, 0.0)))

    with np.errstate(divide="ignore", invalid="ignore"):
        return {"kl": expect(np.log(q_z) - np.log(prior)),
                "i_xz_given_y": expect(np.log(q_z) - np.log(q_z_given_y)[None]),
                "i_zy": expect((np.log(q_z_given_y) - np.log(q_marginal))[None]),
                "kl_marginal": expect(np.log(q_marginal / prior)[None, None])}


# --------------------------------------------------------------------------- generation

def every_class(model, z):
    """Each code decoded under every class: z (m, latent) -> (m, n_classes, input_dim)."""
    z = np.asarray(z)
    c = model.n_classes
    images = model.decode(np.repeat(z, c, axis=0), np.tile(np.arange(c), len(z)))
    return images.reshape(len(z), c, -1)


def confusion_matrix(requested, judged, n_classes=10):
    """counts[r, j]: how many images requested as class r the judge called j: (C, C)."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(requested), np.asarray(judged)), 1)
    return counts


def generated_accuracy(model, judge, n_per_class, rng):
    """Generate n_per_class digits of every class (z ~ N(0, I), decoded means) and let
    ``judge`` (images (m, d) -> labels (m,)) label them.

    Returns (accuracy: share judged as requested, per_class: (C,) that share per class,
    confusion: (C, C) ``confusion_matrix``, images: (C * n_per_class, d) class-major).
    """
    n_per_class = checks.integer(n_per_class, "n_per_class")
    requested = np.repeat(np.arange(model.n_classes), n_per_class)
    images = model.sample(len(requested), rng, labels=requested)
    judged = np.asarray(judge(images))
    confusion = confusion_matrix(requested, judged, model.n_classes)
    per_class = np.diag(confusion) / n_per_class
    return float(np.mean(judged == requested)), per_class, confusion, images


# --------------------------------------------------------------------------- figures

def draw_class_grid(images, row_titles=None, scale=0.6):
    """images: (m, C, d), one row per code and one column per class (``every_class``); the
    column titles are the classes, the row titles (optional) say where each code came from."""
    images = np.asarray(images)
    m, c = images.shape[:2]
    fig = Figure(figsize=(scale * c + 1.6, scale * m + 0.5), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(tile_images(images.reshape(m * c, -1), c), **IMAGE_KW)
    side = int(round(np.sqrt(images.shape[2]))) + 1  # tile pitch: image side + padding
    ax.set_xticks(side * np.arange(c) + side / 2 - 1, [str(k) for k in range(c)])
    ax.xaxis.tick_top()
    ax.set_yticks(side * np.arange(m) + side / 2 - 1,
                  row_titles if row_titles is not None else [""] * m, fontsize=8)
    ax.tick_params(length=0)
    ax.set_xlabel("class given to the decoder")
    return fig


def draw_label_information(info, chance=0.1):
    """Bars of k-NN and linear-probe accuracy, and of the bound on I(code; y), per model.
    info: {model name: ``label_information`` result}."""
    names = list(info)
    fig = Figure(figsize=(3.6 + 1.5 * len(names), 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.38
    for k, (key, label) in enumerate([("knn", "k-NN (k = 10)"), ("linear", "linear probe")]):
        ax1.bar(np.arange(len(names)) + (k - 0.5) * width, [info[n][key] for n in names],
                width, label=label)
    ax1.axhline(chance, color="black", ls="--", lw=1, label="chance")
    ax1.set_xticks(np.arange(len(names)), names)
    ax1.set(ylim=(0, 1), ylabel="accuracy on test codes", title="label read from the code")
    ax1.legend(fontsize=8)
    ax2.bar(np.arange(len(names)), [info[n]["mi_bound"] for n in names], color="tab:green")
    ax2.axhline(info[names[0]]["entropy"], color="black", ls="--", lw=1, label="H(y)")
    ax2.set_xticks(np.arange(len(names)), names)
    ax2.set(ylabel="nats", title="lower bound on I(code; y)")
    ax2.legend(fontsize=8)
    return fig


def draw_confusion(confusion, title=None):
    """The confusion matrix of requested (rows) against judged (columns) classes, as shares
    of each row, with the counts written in the cells."""
    confusion = np.asarray(confusion)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(4.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, j), count in np.ndenumerate(confusion):
        if count:
            ax.text(j, r, str(count), ha="center", va="center", fontsize=7,
                    color="white" if shares[r, j] > 0.5 else "black")
    ticks = np.arange(len(confusion))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set(xlabel="class the judge sees", ylabel="class requested", title=title)
    return fig




def draw_codes(panels, lim=4.0):
    """Side by side, 2-D codes of each model coloured by label, with the prior's 1- and
    2-sigma circles. panels: {title: (codes (n, 2), labels (n,))}."""
    fig = Figure(figsize=(4.4 * len(panels) + 0.8, 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    angle = np.linspace(0, 2 * np.pi, 200)
    for ax, (title, (codes, labels)) in zip(axes, panels.items()):
        latent_scatter(np.asarray(codes), labels, ax=ax, title=title, s=9)
        for radius in (1, 2):
            ax.plot(radius * np.cos(angle), radius * np.sin(angle), color="gray", lw=0.8, ls=":")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        if ax is not axes[-1]:
            ax.get_legend().remove()
    return fig


def draw_class_manifold(model, label, z1=0.0, z2=0.0, n=9, lim=2.0, judge=None):
    """The widget's frame for a CVAE with a 2-D code: left, an n x n grid of codes in
    [-lim, lim]^2 decoded under class ``label`` (the same grid for every class, so the style
    at each place can be compared); right, the image decoded at (z1, z2) under ``label``,
    titled with ``judge``'s verdict (a function images -> labels) when one is given."""
    grid = np.linspace(-lim, lim, n)
    zz = np.array([(a, b) for b in grid[::-1] for a in grid])  # rows from top (z2 high)
    manifold = model.decode(zz, np.full(len(zz), label))
    one = model.decode(np.array([[z1, z2]]), [label])
    fig = Figure(figsize=(7.6, 4.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.5, 1])
    ax1.imshow(tile_images(manifold, n), extent=(-lim - 0.25, lim + 0.25, -lim - 0.25,
                                                  lim + 0.25), **IMAGE_KW)
    ax1.plot([z1], [z2], "o", mfc="none", mec="tab:red", ms=14, mew=2)
    ax1.set(xlabel="z1", ylabel="z2", title=f"the code space decoded as class {label}")
    side = int(round(np.sqrt(model.input_dim)))
    ax2.imshow(one.reshape(side, side), **IMAGE_KW)
    ax2.set(xticks=[], yticks=[])
    verdict = "" if judge is None else f"; the judge sees a {int(judge(one)[0])}"
    ax2.set_title(f"z = ({z1:.2f}, {z2:.2f}), class {label}{verdict}", fontsize=9)
    return fig
