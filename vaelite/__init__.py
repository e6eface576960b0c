"""vaelite: variational autoencoders from scratch in NumPy, with hand-written backprop."""
from .backends import get_backend, set_backend, use_backend
from .layers import MLP, LeakyReLU, Linear, ReLU, Sigmoid, Softplus, Tanh
from .models import CVAE, VAE, VQVAE, Autoencoder
from .optim import SGD, Adam
from .train import History, TrainingDiverged, fit, fit_prior
from . import evaluate, io

__version__ = "0.1.0"
