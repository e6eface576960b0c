"""Models with a ``loss_and_grads`` method that ``vaelite.fit`` can train."""
from .autoencoder import Autoencoder
from .cvae import CVAE
from .vae import VAE
from .vqvae import VQVAE

MODELS = {"Autoencoder": Autoencoder, "VAE": VAE, "CVAE": CVAE, "VQVAE": VQVAE}
