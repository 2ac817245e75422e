"""What a training run records, one entry per epoch."""
from dataclasses import dataclass, field


@dataclass
class History:
    """The record of a ``fit`` run.

    Attributes:
        train_loss (list): the mean training loss of each epoch (averaged over its mini-batches,
            weighted by batch size, as measured while the weights were changing).
        val_loss (list): the validation loss after each epoch, in eval mode (empty without
            validation data).
        best_epoch (int): the epoch (counted from 1) with the lowest validation loss, or None.
        stopped_epoch (int): the epoch at which early stopping ended the run, or None if it ran
            to the end.
        steps (int): the number of optimizer steps taken.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    best_epoch: int = None
    stopped_epoch: int = None
    steps: int = 0

    @property
    def epochs_run(self):
        """The number of epochs run (``len(train_loss)``)."""
        return len(self.train_loss)
