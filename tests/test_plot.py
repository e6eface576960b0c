"""Figures: each function returns a Figure with the expected axes and images, renders with Agg,
leaves pyplot's figure list alone, and rejects bad input with a clear error."""
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import VAE, Autoencoder, plot  # noqa: E402


def rng(seed=0):
    return np.random.default_rng(seed)


def images(n=10, d=784, seed=0):
    return rng(seed).random((n, d)).astype(np.float32)


def rendered(fig):
    """Check that fig is a Figure, and return it. (Drawing is slow; ``test_every_figure_draws``
    draws one figure of each kind.)"""
    assert isinstance(fig, Figure)
    return fig


def n_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """The plot functions use the object API: pyplot's list of open figures does not grow."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


# --- image grids -------------------------------------------------------------------------------

def test_image_grid():
    fig = rendered(plot.image_grid(images(10), nrow=4, title="ten digits"))
    assert len(fig.axes) == 1 and n_images(fig) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "ten digits"
    # 10 images, 4 per row: 3 rows of 28 pixels with 1-pixel gaps
    assert ax.images[0].get_array().shape == (3 * 29 - 1, 4 * 29 - 1)
    # default: a square grid
    default = plot.image_grid(images(64))
    assert default.axes[0].images[0].get_array().shape == (8 * 29 - 1, 8 * 29 - 1)


def test_tile_images_layout():
    x = np.stack([np.full((2, 3), v) for v in (0.1, 0.2, 0.3)])  # three 2x3 images
    mosaic = plot.tile_images(x, ncol=2)
    assert mosaic.shape == (2 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(mosaic[0:2, 0:3], 0.1)
    np.testing.assert_array_equal(mosaic[0:2, 4:7], 0.2)
    np.testing.assert_array_equal(mosaic[3:5, 0:3], 0.3)
    np.testing.assert_array_equal(mosaic[3:5, 4:7], plot.PAD_VALUE)  # the empty cell
    np.testing.assert_array_equal(mosaic[2, :], plot.PAD_VALUE)  # the gap between the rows
    # flattened images in row-major order, no padding
    flat = np.arange(12.0).reshape(2, 6) / 12
    np.testing.assert_array_equal(plot.tile_images(flat, 2, pad=0, image_shape=(2, 3)),
                                  np.hstack([flat[0].reshape(2, 3), flat[1].reshape(2, 3)]))


def test_image_grid_accepts_other_layouts():
    assert n_images(rendered(plot.image_grid(images(5).reshape(5, 28, 28)))) == 1
    assert n_images(plot.image_grid(images(1)[0])) == 1  # one flattened image
    assert n_images(plot.image_grid(images(6) > 0.5)) == 1  # binary images
    assert n_images(plot.image_grid(images(4, d=12), image_shape=(3, 4))) == 1
    assert n_images(plot.image_grid(images(4, d=16))) == 1  # any square size
    # values outside [0, 1] (a Gaussian decoder) are shown clipped, not refused
    assert n_images(plot.image_grid(3 * images(4) - 1)) == 1


@pytest.mark.parametrize("bad,error,match", [
    (np.zeros((4, 780)), ValueError, "not square"),
    (np.zeros((4, 784), dtype=np.uint8), TypeError, "divide"),
    (np.zeros((0, 784)), ValueError, "empty"),
    (np.zeros((2, 2, 28, 28)), ValueError, "shape"),
    (np.full((2, 784), np.nan), ValueError, "NaN or Inf"),
    ("digits", TypeError, "array of images"),
])
def test_image_grid_errors(bad, error, match):
    with pytest.raises(error, match=match):
        plot.image_grid(bad)


def test_image_grid_argument_errors():
    with pytest.raises(ValueError, match="nrow must be an integer >= 1"):
        plot.image_grid(images(4), nrow=0)
    with pytest.raises(ValueError, match="image_shape"):
        plot.image_grid(images(4, d=12), image_shape=(3, 5))


def test_samples_grid():
    model = VAE(784, (16,), 2, seed=0)
    fig = rendered(plot.samples_grid(model.sample(12, rng())))
    assert len(fig.axes) == 1 and n_images(fig) == 1
    assert fig.axes[0].get_title() == "samples from the prior"
    with pytest.raises(ValueError, match="NaN"):
        plot.samples_grid(np.full((3, 784), np.inf))


def test_reconstruction_grid():
    x = images(16)
    fig = rendered(plot.reconstruction_grid(x, x[::-1], n=10))
    assert len(fig.axes) == 2 and n_images(fig) == 2
    top, bottom = fig.axes
    assert top.get_title() == "original" and bottom.get_title() == "reconstruction"
    assert top.images[0].get_array().shape == (28, 10 * 29 - 1)
    np.testing.assert_array_equal(top.images[0].get_array()[:, :28], x[0].reshape(28, 28))
    np.testing.assert_array_equal(bottom.images[0].get_array()[:, :28], x[15].reshape(28, 28))
    # fewer images than n: all of them
    fig = plot.reconstruction_grid(x[:3], x[:3], n=10)
    assert fig.axes[0].images[0].get_array().shape == (28, 3 * 29 - 1)


def test_reconstruction_grid_errors():
    with pytest.raises(ValueError, match="same shape"):
        plot.reconstruction_grid(images(4), images(5))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        plot.reconstruction_grid(images(4), images(4), n=0)
    with pytest.raises(ValueError, match="x_hat contains NaN"):
        plot.reconstruction_grid(images(4), np.full((4, 784), np.nan))


def test_interpolation_strip():
    model = Autoencoder(784, (16,), 2, seed=0)
    x = images(2)
    fig = rendered(plot.interpolation_strip(model.interpolate(x[0], x[1], steps=8), title="path"))
    assert len(fig.axes) == 1 and n_images(fig) == 1
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (28, 8 * 29 - 1)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 8 and labels[0] == "0" and labels[-1] == "1"
    with pytest.raises(ValueError, match="shape"):
        plot.interpolation_strip(np.zeros((2, 3, 28, 28)))


# --- latent space ------------------------------------------------------------------------------

def test_latent_scatter_with_digit_labels():
    z = rng().standard_normal((200, 2))
    labels = np.arange(200) % 10
    fig = rendered(plot.latent_scatter(z, labels))
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [str(d) for d in range(10)]
    assert len(ax.collections) == 10  # one scatter per digit
    assert sum(len(c.get_offsets()) for c in ax.collections) == 200
    assert ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"


def test_latent_scatter_colorbar_and_no_labels():
    z = rng().standard_normal((50, 2))
    fig = rendered(plot.latent_scatter(z, rng(1).random(50)))  # continuous labels
    assert len(fig.axes) == 2  # the scatter and its colorbar
    fig = rendered(plot.latent_scatter(z))
    assert len(fig.axes) == 1 and fig.axes[0].get_legend() is None


def test_latent_scatter_into_given_axes():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = plot.latent_scatter(rng().standard_normal((30, 2)), np.arange(30) % 3, ax=ax2)
    assert out is fig
    assert len(ax2.collections) == 3 and len(ax1.collections) == 0


def test_latent_scatter_more_than_two_dims():
    z = rng().standard_normal((40, 20))
    with pytest.raises(ValueError, match=r"20 latent dimension.*dims=\(i, j\)"):
        plot.latent_scatter(z, np.arange(40) % 10)
    fig = rendered(plot.latent_scatter(z, np.arange(40) % 10, dims=(3, 7)))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z[3]" and ax.get_ylabel() == "z[7]"
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(z[:, 3]))


@pytest.mark.parametrize("kwargs,match", [
    ({"z": np.zeros((5, 1))}, "1 latent dimension"),
    ({"z": np.zeros(5)}, r"\(n, latent\)"),
    ({"z": np.zeros((0, 2))}, r"\(n, latent\)"),
    ({"z": np.full((5, 2), np.nan)}, "NaN or Inf"),
    ({"z": np.zeros((5, 2)), "labels": np.zeros(4)}, r"labels must have shape \(5,\)"),
    ({"z": np.zeros((5, 3)), "dims": (0, 0)}, "two different indices"),
    ({"z": np.zeros((5, 3)), "dims": (0, 3)}, "two different indices"),
    ({"z": np.zeros((5, 3)), "dims": "ab"}, "two coordinate indices"),
])
def test_latent_scatter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.latent_scatter(**kwargs)


def test_normal_quantiles():
    q = plot.normal_quantiles([0.05, 0.5, 0.95, 0.975])
    np.testing.assert_allclose(q, [-1.6448536, 0.0, 1.6448536, 1.9599640], atol=1e-6)
    for bad in ([0.0, 0.5], [0.5, 1.0], [np.nan]):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            plot.normal_quantiles(bad)


def test_manifold_codes():
    codes, values = plot.manifold_codes(5, latent_dim=4, dims=(1, 3), quantiles=(0.05, 0.95))
    assert codes.shape == (25, 4) and values.shape == (5,)
    np.testing.assert_allclose(values, plot.normal_quantiles(np.linspace(0.05, 0.95, 5)))
    np.testing.assert_allclose(values, -values[::-1], atol=1e-12)  # symmetric around 0
    assert np.all(np.diff(values) > 0)
    # the other coordinates stay at the prior mean
    np.testing.assert_array_equal(codes[:, [0, 2]], 0)
    # top-left: smallest z[1] and largest z[3]; bottom-right: the opposite
    np.testing.assert_allclose(codes[0, [1, 3]], [values[0], values[-1]])
    np.testing.assert_allclose(codes[-1, [1, 3]], [values[-1], values[0]])
    # along a row z[dims[0]] grows, down a column z[dims[1]] shrinks
    grid = codes.reshape(5, 5, 4)
    assert np.all(np.diff(grid[:, :, 1], axis=1) > 0) and np.all(np.diff(grid[:, :, 3], axis=0) < 0)


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 1}, "n must be an integer >= 2"),
    ({"n": 2.5}, "n must be an integer"),
    ({"quantiles": (0.0, 0.9)}, "0 < lo < hi < 1"),
    ({"quantiles": (0.9, 0.1)}, "0 < lo < hi < 1"),
    ({"quantiles": 0.5}, "two probabilities"),
    ({"latent_dim": 1}, "latent_dim must be an integer >= 2"),
    ({"dims": (0, 2)}, "two different indices"),
])
def test_manifold_codes_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.manifold_codes(**kwargs)


def test_latent_manifold_decodes_the_quantile_grid():
    model = VAE(16, (8,), 2, seed=0)  # 4x4 images
    seen = []
    decode = model.decode

    def record(z):
        seen.append(np.array(z))
        return decode(z)

    model.decode = record
    fig = rendered(plot.latent_manifold(model, n=6, title="manifold"))
    assert len(fig.axes) == 1 and n_images(fig) == 1
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (6 * 4, 6 * 4)
    assert ax.get_title() == "manifold"
    expected, _ = plot.manifold_codes(6)
    np.testing.assert_allclose(seen[0], expected)
    np.testing.assert_allclose(ax.images[0].get_array()[:4, :4],
                               decode(expected[:1]).reshape(4, 4), rtol=1e-6)
    # the middle tick: probability linspace(0.05, 0.95, 6)[3] = 0.59, inv_cdf(0.59) = 0.228
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1.64", "0.23", "1.64"]


def test_latent_manifold_other_models():
    # an autoencoder, a 3-D latent (two dims vary), non-square images with image_shape
    fig = rendered(plot.latent_manifold(Autoencoder(784, (8,), 2), n=4))
    assert fig.axes[0].images[0].get_array().shape == (4 * 28, 4 * 28)
    fig = plot.latent_manifold(VAE(12, (8,), 3), n=3, dims=(0, 2), image_shape=(3, 4))
    assert fig.axes[0].images[0].get_array().shape == (3 * 3, 3 * 4)
    assert fig.axes[0].get_ylabel() == "z[2]"


def test_latent_manifold_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        plot.latent_manifold(VAE(16, (8,), 1))
    with pytest.raises(TypeError, match="decode"):
        plot.latent_manifold(object())
    with pytest.raises(ValueError, match="not square"):
        plot.latent_manifold(VAE(12, (8,), 2), n=3)
    with pytest.raises(ValueError, match="two different indices"):
        plot.latent_manifold(VAE(16, (8,), 3), n=3, dims=(0, 3))


# --- training curves ---------------------------------------------------------------------------

def history(beta_one=True, epochs=6, eval_every=2):
    train_recon = list(np.linspace(200, 100, epochs))
    train_kl = list(np.linspace(5, 20, epochs))
    test_epoch = list(range(eval_every, epochs + 1, eval_every))
    test_recon = [train_recon[e - 1] + 5 for e in test_epoch]
    test_kl = [train_kl[e - 1] for e in test_epoch]
    beta = 1.0 if beta_one else 4.0
    h = {"epoch": list(range(1, epochs + 1)),
         "train_recon": train_recon, "train_kl": train_kl,
         "train_nelbo": [r + k for r, k in zip(train_recon, train_kl)],
         "train_loss": [r + beta * k for r, k in zip(train_recon, train_kl)],
         "test_epoch": test_epoch, "test_recon": test_recon, "test_kl": test_kl,
         "test_nelbo": [r + k for r, k in zip(test_recon, test_kl)],
         "test_loss": [r + beta * k for r, k in zip(test_recon, test_kl)],
         "seconds": [1.0] * epochs}
    return h


def test_loss_curves_from_a_dict():
    fig = rendered(plot.loss_curves(history()))
    # beta = 1: the loss is the negative ELBO, drawn once: nelbo, recon, kl
    assert [ax.get_title() for ax in fig.axes] == ["negative ELBO", "reconstruction  -log p(x|z)",
                                                  "KL(q(z|x) || p(z))"]
    for ax in fig.axes:
        train, test = ax.get_lines()
        assert train.get_label() == "train" and test.get_label() == "test"
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4, 5, 6])
        np.testing.assert_array_equal(test.get_xdata(), [2, 4, 6])  # from test_epoch
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), history()["train_kl"])


def test_loss_curves_beta_not_one_and_minimal_dicts():
    fig = plot.loss_curves(history(beta_one=False), title="beta = 4")
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "loss"
    assert fig.get_suptitle() == "beta = 4"
    # the brief's minimal form: no epoch keys, no nelbo
    fig = rendered(plot.loss_curves({"train_loss": [3, 2, 1], "test_loss": [3.5, 2.5, 1.5],
                                     "train_recon": [2, 1.5, 0.8], "train_kl": [1, 0.5, 0.2]}))
    assert len(fig.axes) == 3
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes[1].get_lines()) == 1
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [1, 2, 3])
    # an autoencoder's history: one panel
    assert len(plot.loss_curves({"train_loss": [3.0, 2.0]}).axes) == 1


def test_loss_curves_from_an_object_with_as_dict():
    class FakeHistory:
        def as_dict(self):
            return history()

    assert len(rendered(plot.loss_curves(FakeHistory())).axes) == 3


def test_loss_curves_from_fit_history():
    train = pytest.importorskip("vaelite.train")
    h = train.History(epoch=[1, 2], train={"loss": [3.0, 2.0], "recon": [2.5, 1.8],
                                           "kl": [0.5, 0.2]},
                      test_epoch=[2], test={"loss": [2.2], "recon": [2.0], "kl": [0.2]},
                      seconds=[0.1, 0.1])
    fig = rendered(plot.loss_curves(h))
    assert len(fig.axes) == 3
    np.testing.assert_array_equal(fig.axes[0].get_lines()[1].get_xdata(), [2])


def test_loss_curves_errors():
    with pytest.raises(ValueError, match="train_loss"):
        plot.loss_curves({"epoch": [1, 2], "seconds": [1, 1]})
    with pytest.raises(ValueError, match="train_loss"):
        plot.loss_curves({"train_loss": []})
    with pytest.raises(TypeError, match="as_dict"):
        plot.loss_curves([1.0, 2.0])
    with pytest.raises(ValueError, match="list of numbers"):
        plot.loss_curves({"train_loss": ["a", "b"]})
    with pytest.raises(ValueError, match="list of numbers"):
        plot.loss_curves({"train_loss": 3.0})


# --- every kind of figure draws with Agg -------------------------------------------------------

def test_every_figure_draws():
    model = VAE(16, (8,), 2, seed=0)
    x = images(6, d=16)
    figures = [plot.image_grid(x, title="grid"), plot.samples_grid(model.sample(4, rng())),
               plot.reconstruction_grid(x, model.reconstruct(x)),
               plot.interpolation_strip(model.interpolate(x[0], x[1], 5), title="path"),
               plot.latent_scatter(rng().standard_normal((30, 2)), np.arange(30) % 10),
               plot.latent_scatter(rng().standard_normal((30, 2)), rng().random(30)),
               plot.latent_manifold(model, n=5), plot.loss_curves(history())]
    for fig in figures:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=30)
        assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_display_in_jupyter_without_pyplot():
    """IPython shows a cell's Figure result through _repr_png_, whatever the backend."""
    fig = plot.image_grid(images(4))
    assert isinstance(fig, Figure)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
