"""Tests of vaelite.train.fit: learning, reproducibility, bookkeeping, binarization, errors."""
import json

import numpy as np
import pytest

from vaelite import VAE
from vaelite.data import load_mnist
from vaelite.evaluate import elbo
from vaelite.optim import SGD, Adam
from vaelite.train import (TEST_NOISE_SEED, History, TrainingDiverged, fit,
                           prepare_test_images)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


class Recorder:
    """A stand-in model: loss = mean over the batch of the pixel sum; records what it sees."""

    def __init__(self, uses_labels=False, nan_at=None):
        self.uses_labels = uses_labels
        self.nan_at = nan_at  # (epoch, step) at which the loss is NaN
        self.batches, self.labels, self.calls = [], [], 0
        self.w, self.g = np.zeros(1), np.zeros(1)

    def parameters(self):
        return [("w", self.w, self.g)]

    def loss(self, x, rng, labels=None):
        value = float(x.sum(axis=1).mean())
        return {"loss": value, "recon": value}

    def loss_and_grads(self, x, rng, labels=None):
        self.calls += 1
        self.batches.append(x.copy())
        self.labels.append(labels)
        parts = self.loss(x, rng)
        if self.nan_at is not None and self.calls == self.nan_at:
            parts["loss"] = float("nan")
        return parts


def grey(n, dim=6, seed=0):
    return np.random.default_rng(seed).random((n, dim)).astype(np.float32)


def test_vae_learns_on_a_slice_of_mnist(mnist):
    x, x_test = mnist.x_train[:1000], mnist.x_test[:200]
    model = VAE(hidden=(64,), latent_dim=10, seed=0)
    before = elbo(model, prepare_test_images(x_test, "dynamic"), TEST_NOISE_SEED)["loss"]
    history = fit(model, x, epochs=3, batch_size=64, test_data=x_test, progress=False)
    assert history.test["loss"][-1] < 0.6 * before  # about 540 -> about 210 nats
    assert history.train["loss"][-1] < history.train["loss"][0]
    # the last test number is the ELBO of the trained model on the fixed test digits
    after = elbo(model, prepare_test_images(x_test, "dynamic"), TEST_NOISE_SEED)
    assert history.test["loss"][-1] == pytest.approx(after["loss"], rel=1e-6)


def test_same_seed_is_bit_identical_and_other_seed_differs(mnist):
    x, x_test = mnist.x_train[:300], mnist.x_test[:100]

    def run(seed):
        model = VAE(hidden=(16,), latent_dim=2, seed=0)
        history = fit(model, x, 2, batch_size=50, test_data=x_test, seed=seed, progress=False)
        return history, [p.copy() for _, p, _ in model.parameters()]

    (h1, p1), (h2, p2), (h3, p3) = run(0), run(0), run(1)
    assert h1.train == h2.train and h1.test == h2.test
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2))
    assert h1.train != h3.train
    assert not all(np.array_equal(a, b) for a, b in zip(p1, p3))


def test_history_bookkeeping_and_as_dict(mnist):
    model = VAE(hidden=(16,), latent_dim=2)
    history = fit(model, mnist.x_train[:200], 3, batch_size=64, test_data=mnist.x_test[:50],
                  eval_every=2, progress=False)
    assert history.epoch == [1, 2, 3]
    assert history.test_epoch == [2, 3]  # every 2 epochs, and always after the last
    assert set(history.train) == set(history.test) == {"loss", "recon", "kl", "nelbo"}
    assert all(len(v) == 3 for v in history.train.values())
    assert all(len(v) == 2 for v in history.test.values())
    assert len(history.seconds) == 3
    flat = json.loads(json.dumps(history.as_dict()))
    assert flat["train_kl"] == history.train["kl"] and flat["test_epoch"] == [2, 3]
    assert flat["test_loss"] == history.test["loss"]
    # beta = 1: the loss is the negative ELBO, recon + kl
    for loss, recon, kl in zip(history.train["loss"], history.train["recon"], history.train["kl"]):
        assert loss == pytest.approx(recon + kl, rel=1e-5)


def test_epoch_mean_is_weighted_by_batch_size():
    x = grey(10)
    model = Recorder()
    history = fit(model, x, 2, batch_size=4, binarize=None, progress=False)  # batches 4, 4, 2
    assert [len(b) for b in model.batches[:3]] == [4, 4, 2]
    exact = float(x.sum(axis=1).mean())
    assert history.train["loss"] == pytest.approx([exact, exact], rel=1e-6)
    assert History().as_dict() == {"epoch": [], "test_epoch": [], "seconds": []}


def test_each_epoch_is_a_new_shuffle_of_all_examples():
    x = np.linspace(0, 1, 12, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    model = Recorder()
    fit(model, x, 2, batch_size=5, binarize=None, progress=False)
    orders = [np.concatenate(model.batches[:3])[:, 0], np.concatenate(model.batches[3:])[:, 0]]
    for order in orders:
        assert sorted(order) == sorted(x[:, 0])  # every example exactly once
    assert not np.array_equal(orders[0], orders[1])


def test_binarization_modes():
    x = np.full((8, 50), 0.5, dtype=np.float32)
    seen = {}
    for mode in ("dynamic", "static", None):
        model = Recorder()
        fit(model, x, 2, batch_size=8, binarize=mode, progress=False)
        seen[mode] = model.batches
    for mode in ("dynamic", "static"):
        assert all(set(np.unique(b)) <= {0.0, 1.0} for b in seen[mode])
    # static: the same binary digits every epoch (up to the shuffle); dynamic: resampled
    assert sorted(map(bytes, seen["static"][0])) == sorted(map(bytes, seen["static"][1]))
    assert sorted(map(bytes, seen["dynamic"][0])) != sorted(map(bytes, seen["dynamic"][1]))
    assert np.array_equal(seen[None][0], x)


def test_labels_reach_only_models_that_use_them():
    x, y = grey(6), np.arange(6)
    model = Recorder(uses_labels=True)
    fit(model, (x, y), 1, batch_size=4, binarize=None, progress=False)
    for batch, labels in zip(model.batches, model.labels):  # each label stays with its image
        assert np.array_equal(labels, [int(np.flatnonzero((x == row).all(1))[0]) for row in batch])
    plain = Recorder()
    fit(plain, (x, y), 1, batch_size=4, binarize=None, progress=False)
    assert plain.labels == [None, None]
    with pytest.raises(ValueError, match="needs labels"):
        fit(Recorder(uses_labels=True), x, 1, progress=False)


def test_callbacks_snapshot_latent_means(mnist):
    model = VAE(hidden=(16,), latent_dim=2)
    x_fixed, snapshots, calls = mnist.x_test[:30], [], []

    def snapshot(epoch, model, history):
        calls.append((epoch, len(history.epoch)))
        snapshots.append(model.encode(x_fixed)[0].copy())

    fit(model, mnist.x_train[:200], 3, batch_size=50, callbacks=[snapshot], progress=False)
    assert calls == [(1, 1), (2, 2), (3, 3)]
    assert np.array(snapshots).shape == (3, 30, 2)
    assert not np.array_equal(snapshots[0], snapshots[2])  # the encoder moved


def test_nan_loss_names_epoch_and_step():
    model = Recorder(nan_at=3 + 2)  # 3 steps per epoch: epoch 2, step 2
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 2 .*learning rate"):
        fit(model, grey(9), 3, batch_size=3, binarize=None, progress=False)
    assert issubclass(TrainingDiverged, FloatingPointError)


def test_huge_learning_rate_diverges(mnist):
    model = VAE(hidden=(16,), latent_dim=2)
    with np.errstate(all="ignore"), \
            pytest.raises(FloatingPointError, match=r"epoch \d, step \d"):
        fit(model, mnist.x_train[:256], 3, optimizer=SGD(model.parameters(), lr=1e8),
            progress=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"batch_size": 0}, "batch_size"),
    ({"eval_every": 0}, "eval_every"), ({"binarize": "yes"}, "binarize"),
])
def test_bad_arguments(kwargs, match):
    args = {"epochs": 1, "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        fit(Recorder(), grey(8), progress=False, **args)


@pytest.mark.parametrize("make, match", [
    (lambda x: x[0], "2-D"), (lambda x: x * 2, r"\[0, 1\]"),
    (lambda x: np.where(x > 0.5, np.nan, x), "NaN"), (lambda x: x[:, :5], "784 columns"),
])
def test_bad_data(mnist, make, match):
    model = VAE(hidden=(8,), latent_dim=2)
    with pytest.raises(ValueError, match=match):
        fit(model, make(mnist.x_train[:10]), 1, progress=False)
    with pytest.raises(ValueError, match="test_data"):
        fit(model, mnist.x_train[:10], 1, test_data=make(mnist.x_test[:10]), progress=False)


def test_grey_values_outside_unit_interval_are_fine_for_a_gaussian_decoder(mnist):
    model = VAE(hidden=(8,), latent_dim=2, likelihood="gaussian")
    x = (mnist.x_train[:64] - 0.5) * 3
    history = fit(model, x, 1, binarize=None, progress=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # binarizing needs probabilities
        fit(model, x, 1, binarize="dynamic", progress=False)
    assert np.isfinite(history.train["loss"][0])


def test_progress_bar_shows_the_running_loss(capsys):
    fit(Recorder(), grey(20), 2, batch_size=8, binarize=None, progress=True)
    err = capsys.readouterr().err
    assert "loss=" in err and "epoch=2" in err
    fit(Recorder(), grey(20), 1, batch_size=8, binarize=None, progress=False)
    assert capsys.readouterr().err == ""


class SabotagedAdam(Adam):
    """Adam that writes NaN into the first parameter after its ``at``-th update."""

    def __init__(self, parameters, at):
        super().__init__(parameters)
        self.at = at

    def step(self):
        super().step()
        if self.t == self.at:
            self.parameters[0][1][0, 0] = np.nan


def test_a_last_step_that_breaks_the_weights_is_caught(mnist):
    """The loss is checked before each update, so the last update of an epoch is checked on
    the parameters themselves: fit never returns normally with NaN weights."""
    model = VAE(hidden=(8,), latent_dim=2)
    opt = SabotagedAdam(model.parameters(), at=2)  # 2 steps per epoch: the last one
    with pytest.raises(TrainingDiverged, match=r"encoder\.0\.W .*epoch 1, step 2"):
        fit(model, mnist.x_train[:100], 3, batch_size=50, optimizer=opt, progress=False)
    model = VAE(hidden=(8,), latent_dim=2)
    opt = SabotagedAdam(model.parameters(), at=1)  # a middle step: the next loss is NaN
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 1, step 2"):
        fit(model, mnist.x_train[:100], 1, batch_size=50, optimizer=opt, progress=False)


def test_a_non_finite_test_loss_is_divergence():
    class NanOnTest(Recorder):  # finite on the 8 training images, NaN on the 3 test images
        def loss(self, x, rng, labels=None):
            value = float("nan") if len(x) == 3 else 1.0
            return {"loss": value, "recon": value}

    with pytest.raises(TrainingDiverged, match=r"at epoch 1: the held-out loss is not finite"):
        fit(NanOnTest(), grey(8), 2, batch_size=8, test_data=grey(3), binarize=None,
            progress=False)


def test_an_optimizer_of_another_model_is_refused(mnist):
    model, other = VAE(hidden=(8,), latent_dim=2), VAE(hidden=(8,), latent_dim=2)
    with pytest.raises(ValueError, match="optimizer does not hold this model's parameters"):
        fit(model, mnist.x_train[:10], 1, optimizer=Adam(other.parameters()), progress=False)
    with pytest.raises(TypeError, match="optimizer must be a vaelite optimizer"):
        fit(model, mnist.x_train[:10], 1, optimizer="adam", progress=False)


@pytest.mark.parametrize("name", ["epochs", "batch_size", "eval_every", "seed"])
@pytest.mark.parametrize("value, error", [(None, TypeError), ("3", TypeError),
                                          (True, TypeError), (float("nan"), ValueError),
                                          (float("inf"), ValueError), (-1, ValueError)])
def test_counts_name_themselves(name, value, error):
    args = {"epochs": 1, "batch_size": 4, name: value}
    with pytest.raises(error, match=name):
        fit(Recorder(), grey(8), binarize=None, progress=False, **args)


def test_kl_warmup_ramps_beta_and_restores_it(mnist):
    model = VAE(hidden=(8,), latent_dim=2, beta=2.0)
    seen = []
    original = model.loss_and_grads

    def spy(x, rng, **kw):  # the beta each step trains with
        seen.append(model.beta)
        return original(x, rng, **kw)

    model.loss_and_grads = spy
    history = fit(model, mnist.x_train[:100], 3, batch_size=50, kl_warmup=2, progress=False)
    np.testing.assert_allclose(seen, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0])  # 2 steps an epoch
    assert history.train["beta"] == [1.0, 2.0, 2.0]
    assert model.beta == 2.0
    # "loss" used the beta of the step, "nelbo" is recon + kl whatever beta was
    np.testing.assert_allclose(history.train["nelbo"],
                               np.add(history.train["recon"], history.train["kl"]))


def test_kl_warmup_needs_a_kl_weight():
    with pytest.raises(ValueError, match="kl_warmup needs a model with a KL weight beta"):
        fit(Recorder(), grey(8), 1, batch_size=4, binarize=None, kl_warmup=1, progress=False)
    with pytest.raises(ValueError, match="kl_warmup must be a finite number >= 0"):
        fit(VAE(input_dim=6, hidden=(4,), latent_dim=2), grey(8), 1, kl_warmup=-1,
            progress=False)
