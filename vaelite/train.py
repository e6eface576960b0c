"""The training loop: ``fit(model, data, epochs)`` trains any vaelite model with minibatches.

    from vaelite import VAE, fit
    from vaelite.data import load_mnist
    mnist = load_mnist()
    model = VAE(hidden=(400,), latent_dim=20)
    history = fit(model, mnist.x_train, epochs=10, test_data=mnist.x_test)
    history.train["loss"], history.test["loss"]     # negative ELBO per epoch, nats per image

One step of the loop is the whole story of the book: take a minibatch, binarize it, run
``model.loss_and_grads`` (forward and hand-written backward pass), let the optimizer update
the parameters. Everything else here is bookkeeping: shuffling, averaging, checking.
"""
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import checks, evaluate
from .backends import current
from .data import binarize_static, check_images
from .optim import SGD, Adam

BINARIZE = ("dynamic", "static", None)
TRAIN_BINARIZE_SEED = 0  # static binarization of the training set: the same binary digits every run
TEST_BINARIZE_SEED = 1  # the test set is binarized once: every epoch and run sees the same digits
TEST_NOISE_SEED = 2  # the test ELBO draws its z with this seed, the same at every evaluation


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during training."""


@dataclass
class History:
    """What happened during ``fit``, one entry per epoch.

    epoch:      [1, 2, ...] the epochs trained
    train:      {"loss": [...], "recon": [...], "kl": [...], "nelbo": [...]} means over each
                epoch's minibatches (weighted by batch size), nats per image
    test_epoch: the epochs at which the test set was evaluated (every ``eval_every`` epochs)
    test:       the same keys on the whole test set, one value per entry of ``test_epoch``
    seconds:    wall-clock time of each epoch (training and evaluation)
    """

    epoch: list = field(default_factory=list)
    train: dict = field(default_factory=dict)
    test_epoch: list = field(default_factory=list)
    test: dict = field(default_factory=dict)
    seconds: list = field(default_factory=list)

    def as_dict(self):
        """A flat, JSON-ready dict: {"epoch", "train_loss", "train_kl", ..., "test_epoch",
        "test_loss", ..., "seconds"}, each a list of numbers."""
        flat = {"epoch": list(self.epoch)}
        flat.update({f"train_{key}": list(values) for key, values in self.train.items()})
        flat["test_epoch"] = list(self.test_epoch)
        flat.update({f"test_{key}": list(values) for key, values in self.test.items()})
        flat["seconds"] = list(self.seconds)
        return flat


def _append(record, parts):
    """Append each number of a loss dict to the list of the same name in ``record``."""
    for key, value in parts.items():
        record.setdefault(key, []).append(float(value))


def prepare_test_images(x, binarize):
    """The test images as ``fit`` scores them: binarized once, with ``TEST_BINARIZE_SEED``,
    unless ``binarize`` is None. Use it to evaluate a trained model on the same digits."""
    if binarize is None:
        return x
    return binarize_static(x, TEST_BINARIZE_SEED, name="test_data")


def _split(data, name):
    """An images array, or an (images, labels) pair -> (images, labels or None)."""
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"{name} must be an images array or an (images, labels) pair")
        x, labels = data
        labels = np.asarray(labels)
        if labels.shape[:1] != x.shape[:1]:
            raise ValueError(f"{name}: {len(x)} images but labels of shape {labels.shape}")
        return x, labels
    return data, None


def _check_optimizer(optimizer, model):
    """The optimizer, if it updates every parameter of the model (else a clear error)."""
    if not callable(getattr(optimizer, "step", None)) or not hasattr(optimizer, "parameters"):
        raise TypeError(f"optimizer must be a vaelite optimizer such as "
                        f"Adam(model.parameters()), got {type(optimizer).__name__}")
    held = {id(p) for _, p, _ in optimizer.parameters}
    missing = [name for name, p, _ in model.parameters() if id(p) not in held]
    if missing:
        raise ValueError(f"optimizer does not hold this model's parameters ({', '.join(missing)}"
                         "): make it from this model, e.g. Adam(model.parameters())")
    return optimizer


def _check_callbacks(callbacks):
    """callbacks as a tuple of functions, or a TypeError that names the argument."""
    try:
        callbacks = tuple(callbacks)
    except TypeError:
        callbacks = None
    if callbacks is None or not all(callable(c) for c in callbacks):
        raise TypeError("callbacks must be a sequence of functions callback(epoch, model, "
                        "history)")
    return callbacks


def _non_finite_parameters(model):
    """Names of the model's parameters that hold NaN or Inf."""
    xp = current().xp
    return [name for name, p, _ in model.parameters() if not bool(xp.all(xp.isfinite(p)))]


def fit(model, data, epochs, batch_size=128, optimizer=None, *, test_data=None,
        binarize="dynamic", seed=0, progress=True, callbacks=(), eval_every=1, kl_warmup=0):
    """Train ``model`` on ``data`` for ``epochs`` passes; return a ``History``.

    model:      anything with ``parameters()``, ``loss(x, rng)`` and ``loss_and_grads(x, rng)``
    data:       training images (n, 784) in [0, 1], or an (images, labels) pair; labels reach
                the model only if it sets ``uses_labels = True`` (a conditional VAE)
    optimizer:  default ``Adam(model.parameters(), lr=1e-3)``
    test_data:  like ``data``; evaluated every ``eval_every`` epochs (and after the last one)
                on the whole set, with a fixed-seed rng so the numbers are comparable
    binarize:   "dynamic": a fresh Bernoulli sample of every minibatch (less overfitting);
                "static": binarize the data once, with a fixed seed; None: use grey values.
                The test set is binarized once, with a fixed seed, unless binarize is None.
    seed:       seeds the one Generator behind shuffling, binarization and z ~ q(z|x):
                the same seed and the same initial model give bit-identical results
    progress:   show a tqdm progress bar (terminal or notebook) with the running loss
    callbacks:  functions ``callback(epoch, model, history)`` called after each epoch
    kl_warmup:  KL warm-up (Bowman et al., 2016; Sonderby et al., 2016): over this many epochs
                the model's ``beta`` rises linearly, step by step, from 0 to its value, so the
                decoder learns to use z before the KL pulls q(z|x) to the prior; 0 = off.
                ``history.train["beta"]`` records beta at the end of each epoch.

    A callback can record anything. For the latent-space chapter, snapshot the latent means
    of a fixed batch at every epoch:

        x_fixed, snapshots = mnist.x_test[:500], []
        def snapshot(epoch, model, history):
            snapshots.append(model.encode(x_fixed)[0].copy())   # mu: (500, latent)
        fit(model, mnist.x_train, epochs=20, callbacks=[snapshot])

    Raises ``TrainingDiverged`` (a ``FloatingPointError``) naming the epoch and step as soon
    as the training loss is NaN or infinite (checked before each update), a parameter is (checked
    after each epoch's last update: an earlier one would make the next loss NaN), or the test
    loss is. The model then holds the parameters of the failed step: do not save it.
    """
    epochs = checks.integer(epochs, "epochs")
    batch_size = checks.integer(batch_size, "batch_size")
    eval_every = checks.integer(eval_every, "eval_every")
    seed = checks.integer(seed, "seed", minimum=0)
    kl_warmup = checks.number(kl_warmup, "kl_warmup", minimum=0)
    if kl_warmup and not isinstance(getattr(model, "beta", None), float):
        raise ValueError(f"kl_warmup needs a model with a KL weight beta, such as a VAE; "
                         f"{type(model).__name__} has none")
    callbacks = _check_callbacks(callbacks)
    binarize = checks.choice(binarize, "binarize", BINARIZE)
    likelihood = getattr(model, "likelihood", None)
    unit = binarize is not None or getattr(likelihood, "needs_unit_interval", True)
    n_features = getattr(model, "input_dim", None)
    x, labels = _split(data, "data")
    check_images(x, "data", unit_interval=unit, n_features=n_features)
    if test_data is not None:
        x_test, labels_test = _split(test_data, "test_data")
        check_images(x_test, "test_data", unit_interval=unit, n_features=n_features)
        x_test = prepare_test_images(x_test, binarize)
    uses_labels = getattr(model, "uses_labels", False)
    if uses_labels and (labels is None or (test_data is not None and labels_test is None)):
        raise ValueError(f"{type(model).__name__} needs labels: pass data=(images, labels)")
    if binarize == "static":
        x = binarize_static(x, TRAIN_BINARIZE_SEED, name="data")
    if optimizer is None:
        optimizer = Adam(model.parameters(), lr=1e-3)
    _check_optimizer(optimizer, model)
    backend = current()
    x = backend.asarray(x)  # the training images go to the backend's device once

    rng = np.random.default_rng(seed)
    n = x.shape[0]
    steps = -(-n // batch_size)  # minibatches per epoch, the last one may be smaller
    history = History()
    beta = getattr(model, "beta", None)  # the KL weight that a warm-up ramps up to
    bar = tqdm(total=epochs * steps, disable=not progress, unit="batch", dynamic_ncols=True)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            order = rng.permutation(n)  # a new shuffle every epoch
            totals = {}
            for step in range(steps):
                if kl_warmup:  # beta rises linearly over the first kl_warmup epochs
                    model.beta = beta * min(1.0, ((epoch - 1) * steps + step + 1)
                                            / (kl_warmup * steps))
                idx = order[step * batch_size:(step + 1) * batch_size]
                xb = backend.xp.take(x, backend.asarray(idx), axis=0)
                if binarize == "dynamic":
                    xb = backend.binarize(xb, rng)  # a fresh Bernoulli sample of the batch
                kwargs = {"labels": labels[idx]} if uses_labels else {}
                parts = model.loss_and_grads(xb, rng, **kwargs)  # forward + backward pass
                if not np.isfinite(parts["loss"]):
                    raise TrainingDiverged(
                        f"the loss became {parts['loss']} at epoch {epoch}, step {step + 1} "
                        f"(of {steps}); lower the learning rate (now "
                        f"{getattr(optimizer, 'lr', '?')}) or check the data")
                optimizer.step()  # update every parameter from its gradient
                for key, value in parts.items():
                    totals[key] = totals.get(key, 0.0) + value * len(idx)
                bar.update(1)
                seen = step * batch_size + len(idx)  # examples so far in this epoch
                bar.set_postfix(epoch=epoch, loss=f"{totals['loss'] / seen:.2f}", refresh=False)
            bad = _non_finite_parameters(model)  # the last update of the epoch is not yet checked
            if bad:
                raise TrainingDiverged(
                    f"the parameters {', '.join(bad)} became NaN or Inf at epoch {epoch}, step "
                    f"{steps} (of {steps}); lower the learning rate (now "
                    f"{getattr(optimizer, 'lr', '?')}) or check the data")
            history.epoch.append(epoch)
            _append(history.train, evaluate.with_nelbo(
                {key: total / n for key, total in totals.items()}))
            if kl_warmup:
                _append(history.train, {"beta": model.beta})
            if test_data is not None and (epoch % eval_every == 0 or epoch == epochs):
                kwargs = {"labels": labels_test} if uses_labels else {}
                try:
                    test = evaluate.elbo(model, x_test, np.random.default_rng(TEST_NOISE_SEED),
                                         batch_size=max(batch_size, 500), **kwargs)
                except FloatingPointError as err:
                    raise TrainingDiverged(f"at epoch {epoch}: {err}") from err
                history.test_epoch.append(epoch)
                _append(history.test, test)
                bar.set_postfix(epoch=epoch, loss=f"{history.train['loss'][-1]:.2f}",
                                test=f"{test['loss']:.2f}")
            history.seconds.append(time.perf_counter() - start)
            for callback in callbacks:
                callback(epoch, model, history)
    finally:
        bar.close()
        if kl_warmup:
            model.beta = beta  # the model keeps the KL weight it was built with
    return history


def beta_sweep(make_model, betas, data, epochs, *, test_data, seed=0, **fit_kwargs):
    """Train one fresh model per KL weight beta; return the points of a rate-distortion curve.

    make_model: ``make_model(beta)`` builds a new, untrained model whose ``beta`` is that value
    betas:      the KL weights, numbers >= 0, e.g. [0.5, 1, 4]
    data, epochs, test_data, seed and ``fit_kwargs`` go to ``fit`` (every model gets the same seed)

    Returns one dict per beta, in the order given: {"beta", "rate": the test KL(q(z|x) || p(z)),
    "distortion": the test reconstruction term -E_q[log p(x|z)], "nelbo": rate + distortion,
    "model": the trained model}; the numbers are nats per image, on the whole test set after the
    last epoch. A larger beta buys a lower rate with a higher distortion (Alemi et al., 2018).
    """
    if not callable(make_model):
        raise TypeError(f"make_model must be a function beta -> model, got {make_model!r}")
    try:
        betas = None if isinstance(betas, (str, bytes)) else list(betas)
    except TypeError:
        betas = None
    if betas is None:
        raise TypeError("betas must be a sequence of numbers >= 0, e.g. [0.5, 1, 4]")
    if not betas:
        raise ValueError("betas is empty: give at least one KL weight, e.g. [0.5, 1, 4]")
    betas = [checks.number(b, "each entry of betas", minimum=0) for b in betas]
    if test_data is None:
        raise ValueError("test_data is required: the rate and distortion are measured on it")
    points = []
    for beta in betas:
        model = make_model(beta)
        if getattr(model, "beta", None) != beta:
            raise ValueError(f"make_model({beta}) returned a model with beta "
                             f"{getattr(model, 'beta', None)!r}; pass beta on to the model")
        history = fit(model, data, epochs, test_data=test_data, seed=seed, **fit_kwargs)
        points.append({"beta": beta, "rate": history.test["kl"][-1],
                       "distortion": history.test["recon"][-1],
                       "nelbo": history.test["nelbo"][-1], "model": model})
    return points


def fit_prior(model, x, epochs, batch_size=128, lr=3e-3, seed=0, progress=True,
              test_data=None, callbacks=()):
    """Train ``model.prior``, the autoregressive prior of a trained VQ-VAE, on the codes of x;
    return a ``History``: ``train["loss"]`` (and ``test["loss"]`` with test_data) is the mean
    negative log-likelihood -log p(c), nats per code sequence, one value per epoch.

    x, test_data: images (n, input_dim), encoded once by ``model.encode`` (the VQ-VAE is not
    changed). The prior is trained by ``fit`` itself with a fresh ``Adam(model.prior.parameters(),
    lr)`` and no binarization: fit feeds it the codes' one-hot rows, floats that are exactly
    the MADE's input (``MADEPrior.check_codes`` reads them back). Sets ``model.prior_trained``,
    so that ``model.sample`` draws from it. Retrain the prior after retraining the VQ-VAE: its
    codes change. callbacks: as in ``fit``, called ``callback(epoch, model.prior, history)``.
    """
    prior = getattr(model, "prior", None)
    if not callable(getattr(prior, "loss_and_grads", None)) or not hasattr(model,
                                                                           "prior_trained"):
        raise TypeError(f"fit_prior needs a model with a trainable prior over discrete codes, "
                        f"such as a VQVAE; got {type(model).__name__}")
    codes = prior.one_hot(model.encode(x))  # (n, positions * n_codes), on the backend
    tests = None if test_data is None else prior.one_hot(model.encode(test_data))
    history = fit(prior, codes, epochs, batch_size, Adam(prior.parameters(), lr=lr),
                  test_data=tests, binarize=None, seed=seed, progress=progress,
                  callbacks=callbacks)
    model.prior_trained = True
    return history


def reinit_dead_codes(x, optimizer, every=1, seed=0, last_epoch=None):
    """A ``fit`` callback for a VQ-VAE against dead codes: every ``every`` epochs, codes that
    no image of x (n, input_dim) chose are moved onto random encoder outputs of x
    (``model.reinit_dead_codes``), and their rows of the optimizer's state (Adam's moments,
    SGD's velocity) are zeroed, so a revived code starts afresh instead of being pushed by
    the moments of its old, dead position.

        opt = Adam(model.parameters(), lr=1e-2)
        revive = reinit_dead_codes(x_train[:1000], opt)
        fit(model, x_train, 20, optimizer=opt, callbacks=[revive])
        revive.revived      # [(epoch, indices of the codes moved), ...]

    optimizer: the one given to ``fit`` (it must hold the codebook). seed: of the draws.
    last_epoch: no revival after this epoch; give fit's ``epochs - 1`` so that the model fit
    returns is the one its last test numbers describe (callbacks run after the evaluation).
    """
    every = checks.integer(every, "every")
    last_epoch = None if last_epoch is None else checks.integer(last_epoch, "last_epoch", 0)
    rng = np.random.default_rng(checks.integer(seed, "seed", minimum=0))
    if not isinstance(optimizer, (Adam, SGD)):
        raise TypeError(f"optimizer must be the vaelite Adam or SGD given to fit, got "
                        f"{type(optimizer).__name__}")
    states = [optimizer.m, optimizer.v] if isinstance(optimizer, Adam) else [optimizer.velocity]

    def callback(epoch, model, history):
        if epoch % every or (last_epoch is not None and epoch > last_epoch):
            return
        codebook = model.quantizer.params["codebook"]
        slot = [i for i, (_, p, _) in enumerate(optimizer.parameters) if p is codebook]
        if not slot:
            raise ValueError("reinit_dead_codes: the optimizer does not hold this model's "
                             "codebook; give it the optimizer that fit uses")
        dead = model.reinit_dead_codes(x, rng)
        if dead.size:
            keep = np.ones((codebook.shape[0], 1))
            keep[dead] = 0.0
            keep = current().asarray(keep, dtype=model.quantizer.dtype)
            for state in states:
                state[slot[0]][...] = state[slot[0]] * keep
        callback.revived.append((epoch, dead))

    callback.revived = []
    return callback
