"""Models with a ``loss_and_grads`` method that ``vaelite.fit`` can train."""
from .autoencoder import Autoencoder
from .cvae import CVAE
from .vae import VAE

MODELS = {"Autoencoder": Autoencoder, "VAE": VAE, "CVAE": CVAE}
