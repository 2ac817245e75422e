"""introdl.optim.lr_scheduler against torch.optim.lr_scheduler: learning rates, weights, state, errors."""
import inspect

import numpy as np
import pytest
import torch

from introdl import nn, optim
from introdl.gradcheck import relative_error
from introdl.optim import lr_scheduler

TOLERANCE = 1e-9  # a trajectory, as in tests/test_optim.py
EPOCHS, STEPS_PER_EPOCH = 30, 3
SCHEDULES = {  # name -> (introdl class, torch class, keyword arguments)
    "StepLR": dict(step_size=4),
    "StepLR-gamma": dict(step_size=3, gamma=0.5),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=12),  # 30 epochs: down to 0 at 12, up again to 24, down...
    "CosineAnnealingLR-eta_min": dict(T_max=7, eta_min=0.01),
}
OPTIMIZERS = {
    "SGD-momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "Adam": ("Adam", dict(lr=0.05)),
}
CASES = [pytest.param(schedule, optimizer, id=f"{schedule}-{optimizer}")
         for schedule in SCHEDULES for optimizer in OPTIMIZERS]


def _classes(schedule):
    name = schedule.split("-")[0]
    return getattr(lr_scheduler, name), getattr(torch.optim.lr_scheduler, name)


def _gradient(x, step):
    """∇ of ½ xᵀAx − bᵀx + 0.1·Σ cos(x), with seeded noise: gradients that keep changing."""
    rng = np.random.default_rng(step)
    A = np.diag(np.linspace(0.5, 2.0, x.size))
    return A @ x - 1.0 - 0.1 * np.sin(x) + 0.3 * rng.normal(size=x.size)


def run_both(schedule, optimizer_case, epochs=EPOCHS):
    """Train one 6-vector with introdl and with torch, each with its schedule stepped once per epoch
    after the epoch's optimizer steps. Returns the lr of every epoch and the weights after it, per side."""
    ours_class, torch_class = _classes(schedule)
    name, kwargs = OPTIMIZERS[optimizer_case]
    start = np.linspace(-1.0, 1.0, 6)
    p = nn.Parameter(start)
    q = torch.tensor(start, requires_grad=True)
    ours_opt, torch_opt = getattr(optim, name)([p], **kwargs), getattr(torch.optim, name)([q], **kwargs)
    ours, theirs = ours_class(ours_opt, **SCHEDULES[schedule]), torch_class(torch_opt, **SCHEDULES[schedule])
    record = {"ours": ([], []), "torch": ([], [])}
    for epoch in range(epochs):
        record["ours"][0].append(ours.get_last_lr()[0])
        record["torch"][0].append(theirs.get_last_lr()[0])
        for step in range(STEPS_PER_EPOCH):
            p.grad = _gradient(p.data, epoch * STEPS_PER_EPOCH + step)
            q.grad = torch.tensor(_gradient(q.detach().numpy(), epoch * STEPS_PER_EPOCH + step))
            ours_opt.step()
            torch_opt.step()
        ours.step()
        theirs.step()
        record["ours"][1].append(p.data.copy())
        record["torch"][1].append(q.detach().numpy().copy())
    return record, (ours, ours_opt), (theirs, torch_opt)


@pytest.mark.parametrize("schedule, optimizer_case", CASES)
def test_learning_rates_and_weights_follow_torch(schedule, optimizer_case):
    record, (ours, ours_opt), (theirs, torch_opt) = run_both(schedule, optimizer_case)
    lrs, torch_lrs = np.array(record["ours"][0]), np.array(record["torch"][0])
    assert relative_error(lrs, torch_lrs) <= TOLERANCE, (lrs, torch_lrs)
    assert len(set(np.round(lrs, 12))) > 2  # the schedule really changed the learning rate
    assert relative_error(np.array(record["ours"][1]), np.array(record["torch"][1])) <= TOLERANCE
    assert ours.last_epoch == theirs.last_epoch == EPOCHS
    assert ours_opt.param_groups[0]["lr"] == ours.get_last_lr()[0] == pytest.approx(torch_opt.param_groups[0]["lr"], rel=TOLERANCE)
    assert ours_opt.param_groups[0]["initial_lr"] == torch_opt.param_groups[0]["initial_lr"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_closed_forms(schedule):
    """With nothing else changing η: StepLR η₀·γ^⌊t/s⌋, ExponentialLR η₀·γᵗ, and the cosine."""
    record, _, _ = run_both(schedule, "SGD-momentum", epochs=20)
    t, lrs, args = np.arange(20), np.array(record["ours"][0]), SCHEDULES[schedule]
    if schedule.startswith("StepLR"):
        expected = 0.1 * args.get("gamma", 0.1) ** (t // args["step_size"])
    elif schedule.startswith("ExponentialLR"):
        expected = 0.1 * args["gamma"] ** t
    else:
        eta_min = args.get("eta_min", 0.0)
        expected = eta_min + 0.5 * (0.1 - eta_min) * (1 + np.cos(np.pi * t / args["T_max"]))
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_signature_and_defaults_match_torch(name):
    ours = inspect.signature(getattr(lr_scheduler, name)).parameters
    theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name)).parameters
    assert list(ours) == list(theirs)
    assert all(ours[arg].default == theirs[arg].default for arg in ours)


def test_a_new_schedule_leaves_the_learning_rate_and_counts_epoch_0():
    optimizer = optim.Adam([nn.Parameter(np.ones(2))], lr=0.02)
    schedule = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    assert (schedule.last_epoch, schedule.get_last_lr(), optimizer.param_groups[0]["lr"]) == (0, [0.02], 0.02)
    assert schedule.base_lrs == [0.02]


@pytest.mark.parametrize("schedule", ["StepLR", "CosineAnnealingLR"])
def test_state_dict_resumes_the_schedule_and_the_run(schedule):
    """Optimizer and schedule saved at epoch 10 and loaded into fresh ones go on exactly as the
    uninterrupted run."""
    ours_class, _ = _classes(schedule)
    through, _, _ = run_both(schedule, "SGD-momentum", epochs=20)

    def start(values):
        p = nn.Parameter(values)
        opt = optim.SGD([p], lr=0.1, momentum=0.9)
        return p, opt, ours_class(opt, **SCHEDULES[schedule])

    p, opt, sched = start(np.linspace(-1.0, 1.0, 6))
    for epoch in range(20):
        if epoch == 10:
            saved = (p.data.copy(), opt.state_dict(), sched.state_dict())
            p, opt, sched = start(saved[0])
            opt.load_state_dict(saved[1])
            sched.load_state_dict(saved[2])
        for step in range(STEPS_PER_EPOCH):
            p.grad = _gradient(p.data, epoch * STEPS_PER_EPOCH + step)
            opt.step()
        sched.step()
    np.testing.assert_array_equal(p.data, through["ours"][1][-1])


def test_stepping_the_schedule_before_the_optimizer_warns_as_torch_does():
    optimizer = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
    schedule = lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.warns(UserWarning, match=r"scheduler.step\(\) was called before optimizer.step\(\)"):
        schedule.step()
    q = torch.ones(2, requires_grad=True)
    torch_schedule = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([q], lr=0.1), step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        torch_schedule.step()


@pytest.mark.parametrize("make, error, match", [
    (lambda opt: lr_scheduler.StepLR(opt, step_size=0), ValueError, "step_size must be an integer >= 1, got 0"),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=-0.5), ValueError, "gamma must be in"),
    (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=-1), ValueError, "gamma must be in"),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=0), ValueError, "T_max must be an integer >= 1"),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=-0.1), ValueError, "eta_min must be in"),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=2, last_epoch=3), ValueError, '"initial_lr"'),
    (lambda opt: lr_scheduler.StepLR(opt.param_groups, step_size=2), TypeError, "got list"),
])
def test_bad_arguments_raise(make, error, match):
    optimizer = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(error, match=match):
        make(optimizer)
