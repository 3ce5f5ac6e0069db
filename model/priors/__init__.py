"""Latent priors fitted after training, for sampling only: mixtures and how one is chosen."""
