"""Learning-rate schedules: η changed over time, epoch by epoch, as in ``torch.optim.lr_scheduler``.

A schedule changes one learning rate η for every weight as the epochs
go by; an adaptive method changes the step of each weight separately. They combine:
``StepLR(optim.Adam(...), ...)`` is common. Use them as in torch, one ``scheduler.step()`` per
epoch, *after* that epoch's ``optimizer.step()`` calls::

    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                        # the epoch's mini-batches, each ending in optimizer.step()
        scheduler.step()           # then η for the next epoch

``introdl.train.fit(..., scheduler=scheduler)`` runs this loop.

Source: the semantics of ``torch.optim.lr_scheduler``
(https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate).
"""
import copy
import math
import warnings

from .._validation import check_number, check_positive_int
from .optimizer import Optimizer


class LRScheduler:
    """Base class of the schedules: it sets ``optimizer.param_groups[i]["lr"]`` at every ``step()``.

    Follows ``torch.optim.lr_scheduler.LRScheduler``.

    Args:
        optimizer (Optimizer): the optimizer whose learning rate is scheduled.
        last_epoch (int): the index of the last epoch done; -1 (the default) starts a new
            schedule. A value ≥ 0 resumes one and needs ``"initial_lr"`` in the optimizer's
            ``param_groups`` (which a fresh schedule puts there).

    Attributes:
        last_epoch (int): t, the number of ``step()`` calls since the start (0 right after
            construction).
        base_lrs (list): η₀ of each parameter group: its learning rate when the schedule started.

    Creating a schedule counts as its epoch 0 and leaves the learning rate as it is. A subclass
    writes ``_next_lr(lr, base_lr)``: the learning rate of epoch ``last_epoch`` (already
    incremented), from the current one and η₀.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an introdl.optim optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int ≥ -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(f'resuming a schedule (last_epoch={last_epoch}) needs "initial_lr" in '
                                     f"optimizer.param_groups[{i}]; load the optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        # Creating the schedule counts as one step: t goes from last_epoch to last_epoch + 1
        # (0 for a new schedule), and the learning rate stays as it is.
        self.last_epoch += 1
        self._step_count = 1
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        """Move to the next epoch: t ← t + 1, and set each group's learning rate for epoch t.

        Call it once per epoch, after that epoch's ``optimizer.step()`` calls (as in torch, which
        warns otherwise: called first, the schedule's first value would never be used).
        """
        if self._step_count == 1 and self.optimizer.steps_taken == 0:
            warnings.warn(
                "scheduler.step() was called before optimizer.step(): the learning rate of epoch 0 "
                "was skipped. Call optimizer.step() for the epoch's batches first, then scheduler.step().",
                UserWarning, stacklevel=2,
            )
        self._step_count += 1
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._next_lr(group["lr"], base_lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _next_lr(self, lr, base_lr):
        raise NotImplementedError(f"{type(self).__name__} must implement _next_lr(lr, base_lr)")

    def get_last_lr(self):
        """The learning rate of each parameter group, as the last ``step()`` (or the start) set
        it: a list of floats, one per group (here always one)."""
        return list(self._last_lr)

    def state_dict(self):
        """The schedule's state (everything but the optimizer), as in torch."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Continue from a ``state_dict()`` of the same kind of schedule."""
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict:
            raise ValueError("state_dict must be a dict from scheduler.state_dict(), got "
                             f"{type(state_dict).__name__}")
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """Multiply the learning rate by γ every ``step_size`` epochs, like
    ``torch.optim.lr_scheduler.StepLR``.

    At epoch t (``last_epoch``)::

        η_t = γ·η_{t−1}   when t is a multiple of step_size (t > 0),  else  η_t = η_{t−1}

    so, when nothing else changes η, η_t = η₀·γ^⌊t / step_size⌋.

    Args:
        optimizer (Optimizer): the optimizer whose learning rate is scheduled.
        step_size (int): the number of epochs between two decays, ≥ 1.
        gamma (float): γ, the factor, ≥ 0. Default 0.1.
        last_epoch (int): -1 (the default) to start; see :class:`LRScheduler`.

    Raises:
        ValueError: step_size below 1 or gamma below 0.

    Source: ``torch.optim.lr_scheduler.StepLR``
    (https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.StepLR.html).
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_number(gamma, "gamma", low=0)
        super().__init__(optimizer, last_epoch)

    def _next_lr(self, lr, base_lr):
        if self.last_epoch % self.step_size == 0:
            return self.gamma * lr
        return lr


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by γ every epoch, like ``torch.optim.lr_scheduler.ExponentialLR``.

    At epoch t (``last_epoch``) > 0::

        η_t = γ·η_{t−1}

    so, when nothing else changes η, η_t = η₀·γᵗ.

    Args:
        optimizer (Optimizer): the optimizer whose learning rate is scheduled.
        gamma (float): γ, the factor per epoch, ≥ 0.
        last_epoch (int): -1 (the default) to start; see :class:`LRScheduler`.

    Raises:
        ValueError: gamma below 0.

    Source: ``torch.optim.lr_scheduler.ExponentialLR``
    (https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ExponentialLR.html).
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_number(gamma, "gamma", low=0)
        super().__init__(optimizer, last_epoch)

    def _next_lr(self, lr, base_lr):
        return self.gamma * lr


class CosineAnnealingLR(LRScheduler):
    """Lower the learning rate from η₀ to η_min along half a cosine over ``T_max`` epochs, like
    ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    At epoch t (``last_epoch``)::

        η_t = η_min + ½·(η₀ − η_min)·(1 + cos(π·t / T_max))

    η_0 = η₀ and η_{T_max} = η_min; past T_max the cosine goes on, so η climbs back towards η₀
    (torch does the same). Torch computes the same values step by step from η_{t−1}; the two
    agree to rounding as long as nothing else changes η. This schedule sets η from t alone, so
    a change made to ``optimizer.param_groups[0]["lr"]`` by hand lasts only until the next ``step()``.

    Args:
        optimizer (Optimizer): the optimizer whose learning rate is scheduled.
        T_max (int): the number of epochs from η₀ down to η_min, ≥ 1.
        eta_min (float): η_min, the lowest learning rate, ≥ 0. Default 0.0.
        last_epoch (int): -1 (the default) to start; see :class:`LRScheduler`.

    Raises:
        ValueError: T_max below 1 or eta_min below 0.

    Source: I. Loshchilov & F. Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
    arXiv:1608.03983, ICLR 2017 (the cosine, without the restarts), as
    ``torch.optim.lr_scheduler.CosineAnnealingLR``
    (https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = check_positive_int(T_max, "T_max")
        self.eta_min = check_number(eta_min, "eta_min", low=0)
        super().__init__(optimizer, last_epoch)

    def _next_lr(self, lr, base_lr):
        t = self.last_epoch
        return self.eta_min + 0.5 * (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max))
