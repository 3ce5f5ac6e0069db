"""Evaluation: likelihood bounds, sample quality and the classifiers that judge it, pictures."""
