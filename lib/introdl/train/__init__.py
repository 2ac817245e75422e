"""Training loops: mini-batches, fit, early stopping, evaluation."""
from .batches import minibatches, batches_per_epoch
from .history import History
from .early_stopping import EarlyStopping
from .evaluate import predict, evaluate_loss, accuracy
from .fit import fit, DivergedError

__all__ = ["minibatches", "batches_per_epoch", "History", "EarlyStopping", "predict",
           "evaluate_loss", "accuracy", "fit", "DivergedError"]
