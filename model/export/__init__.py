"""`vae-export`: an artifact from a vae-train checkpoint, or from a VAE trained elsewhere."""
