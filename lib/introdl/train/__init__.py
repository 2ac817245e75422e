"""Training loops: mini-batches, fit, early stopping."""
