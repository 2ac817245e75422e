"""Optimizers with torch.optim's names, arguments, defaults and update order."""
