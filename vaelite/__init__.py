"""vaelite: variational autoencoders from scratch."""
