"""Tests of vaelite.io: exact round trips and clear errors for bad checkpoints."""
import json

import numpy as np
import pytest

from vaelite import VAE, Autoencoder
from vaelite.io import FORMAT_VERSION, load, load_metadata, save


def perturbed(model, seed=0):
    """Give every parameter random values, so a round trip cannot pass by re-initialising."""
    rng = np.random.default_rng(seed)
    for _, p, _ in model.parameters():
        p[...] = rng.standard_normal(p.shape)
    return model


MODELS = [
    lambda: VAE(hidden=(16, 8), latent_dim=3, beta=4.0, seed=7),
    lambda: VAE(hidden=(8,), latent_dim=2, likelihood="gaussian", variance="pixel",
                dtype=np.float64),
    lambda: Autoencoder(hidden=(8,), latent_dim=2, activation="tanh"),
]


@pytest.mark.parametrize("make", MODELS)
def test_round_trip_is_bit_exact(tmp_path, make):
    model = perturbed(make())
    path = save(model, tmp_path / "model.npz")
    again = load(path)
    assert type(again) is type(model) and again.config() == model.config()
    assert [n for n, _, _ in again.parameters()] == [n for n, _, _ in model.parameters()]
    for (_, a, _), (_, b, _) in zip(model.parameters(), again.parameters()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = np.random.default_rng(1).random((5, 784)).astype(model.dtype)
    z = np.random.default_rng(2).standard_normal((5, model.latent_dim))
    assert np.array_equal(model.decode(z), again.decode(z))
    assert np.array_equal(model.reconstruct(x), again.reconstruct(x))
    assert model.loss(x, np.random.default_rng(3)) == again.loss(x, np.random.default_rng(3))


def test_beta_and_metadata_survive(tmp_path):
    path = save(VAE(hidden=(8,), latent_dim=2, beta=0.25), tmp_path / "m.npz",
                metadata={"training": {"epochs": 3, "binarize": "dynamic"}})
    assert load(path).beta == 0.25
    assert load_metadata(path) == {"training": {"epochs": 3, "binarize": "dynamic"}}


def test_writes_exactly_the_given_name_without_pickle(tmp_path):
    path = tmp_path / "sub" / "checkpoint.bin"  # no ".npz" appended, folder created
    save(VAE(hidden=(8,), latent_dim=2), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.bin"]
    with np.load(path, allow_pickle=False) as archive:
        assert int(archive["format"]) == FORMAT_VERSION
        assert json.loads(str(archive["config"]))["model"] == "VAE"
        assert "param/encoder.0.W" in archive.files
        assert all(archive[key].dtype != object for key in archive.files)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        load(tmp_path / "nowhere.npz")


@pytest.fixture
def good(tmp_path):
    return save(perturbed(VAE(hidden=(8,), latent_dim=2)), tmp_path / "good.npz")


def test_truncated_file(good):
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="good.npz.*(truncated|corrupt)"):
        load(good)


def test_corrupt_file(tmp_path):
    for name, content in [("noise.npz", bytes(range(256)) * 8), ("empty.npz", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name):
            load(tmp_path / name)


def test_a_single_npy_array_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="array.npy.*single array"):
        load(path)


def rewrite(path, change):
    """Load every entry of a checkpoint, let `change` edit the dict, write it back."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("change, match", [
    (lambda a: a.update(format=np.array(99)), "version 99"),
    (lambda a: a.pop("format"), "not a vaelite checkpoint"),
    (lambda a: a.update(config=np.array("{not json")), "JSON"),
    (lambda a: a.update(config=np.array(json.dumps({"model": "GAN"}))), "unknown model 'GAN'"),
    (lambda a: a.pop("param/decoder.2.b"), r"missing \['decoder.2.b'\]"),
    (lambda a: a.update({"param/extra": np.zeros(2)}), r"unexpected \['extra'\]"),
    (lambda a: a.update({"param/encoder.0.W": np.zeros((784, 9), np.float32)}),
     r"encoder.0.W has shape \(784, 9\)"),
    (lambda a: a.update({"param/encoder.0.b": a["param/encoder.0.b"].astype(np.float64)}),
     "encoder.0.b .*dtype float64"),
])
def test_bad_contents_are_named(good, change, match):
    rewrite(good, change)
    with pytest.raises(ValueError, match=match) as info:
        load(good)
    assert "good.npz" in str(info.value)


def test_a_bad_config_is_reported(good):
    def change(arrays):
        config = json.loads(str(arrays["config"]))
        arrays["config"] = np.array(json.dumps({**config, "beta": -1}))
    rewrite(good, change)
    with pytest.raises(ValueError, match="cannot rebuild VAE.*beta"):
        load(good)


def test_a_model_with_nan_weights_is_never_saved(tmp_path):
    model = VAE(hidden=(4,), latent_dim=2)
    good = save(model, tmp_path / "model.npz")
    before = good.read_bytes()
    model.decoder.layers[0].params["b"][1] = np.inf
    with pytest.raises(ValueError, match=r"not saving .*model\.npz: parameter decoder\.0\.b "
                                         r"holds NaN or Inf"):
        save(model, good)
    assert good.read_bytes() == before  # the good checkpoint is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left


def test_a_checkpoint_with_nan_weights_is_refused(tmp_path):
    model = VAE(hidden=(4,), latent_dim=2)
    path = save(model, tmp_path / "model.npz")
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["param/encoder.2.W"][0, 0] = np.nan  # as written by some other program
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz: parameter encoder\.2\.W holds NaN or Inf"):
        load(tmp_path / "bad.npz")


def test_a_vqvae_checkpoint_holds_its_prior_and_checks_it(tmp_path):
    """Parameters trained apart from fit (the VQ-VAE's prior, model.checkpoint_parameters())
    are saved, loaded bit-exactly and checked like the others; a NaN there is refused too."""
    from vaelite import VQVAE
    model = perturbed(VQVAE(hidden=(8,), positions=2, code_dim=3, n_codes=5, prior_hidden=(6,)))
    for _, p, _ in model.prior.parameters():
        p[...] = np.random.default_rng(4).standard_normal(p.shape)
    path = save(model, tmp_path / "vq.npz")
    with np.load(path) as archive:
        assert "param/prior.layer0.W" in archive.files
    again = load(path)
    for (n, a, _), (m, b, _) in zip(model.checkpoint_parameters(),
                                    again.checkpoint_parameters()):
        assert n == m and np.array_equal(a, b)
    codes = np.array([[0, 4], [3, 1]])
    assert np.array_equal(again.prior.log_prob(codes), model.prior.log_prob(codes))
    rewrite(path, lambda a: a.pop("param/prior.layer1.b"))
    with pytest.raises(ValueError, match=r"missing \['prior.layer1.b'\]"):
        load(path)
    model.prior.linears[0].params["b"][0] = np.nan
    with pytest.raises(ValueError, match=r"parameter prior\.layer0\.b holds NaN"):
        save(model, tmp_path / "bad.npz")
