"""vae-serve: the HTTP service. It knows models only through their artifacts (DESIGN.md)."""
