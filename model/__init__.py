"""Train, evaluate and export the vae-serve VAE. Nothing here runs at import time."""
