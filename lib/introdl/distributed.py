"""Data-parallel SGD: several processes share each mini-batch and average their gradients.

    from introdl import distributed
    grads = distributed.data_parallel_gradients(model, loss_fn, X, y, world_size=2)
    replicas = distributed.data_parallel_sgd(model, loss_fn, X, y, lr=0.5, epochs=2,
                                             batch_size=64, rng=np.random.default_rng(9))

Each of ``world_size`` worker processes (started with ``torch.multiprocessing.spawn``, talking
through ``torch.distributed``'s gloo backend on the CPU) holds a replica of the same model: the
torch twin of an ``introdl`` model, in float64, with the same weights. A mini-batch of B rows is
cut into ``world_size`` equal shards of B / world_size rows, and worker r (its *rank*) computes
the gradient of the mean loss over shard r. Then, on every worker,

    dist.all_reduce(grad, op=SUM)      # every worker now holds the sum of all shard gradients
    grad /= world_size                 # the mean of the shard means

Because the shards have equal sizes, the mean of the shard means is the mean over the whole
mini-batch: exactly the gradient one process would have computed. Every replica then takes the
same SGD step from the same gradient, so the replicas stay identical without ever sending weights.
``torch.nn.parallel.DistributedDataParallel`` does this all-reduce for you, on many GPUs.

torch is imported inside the functions only, so ``import introdl`` stays torch-free. The worker
functions live here, in an importable module, because the "spawn" start method sends a function
to a new Python process *by name*: a function defined in a notebook cell cannot be started there.
For the same reason a *script* that calls these functions must do so under
``if __name__ == "__main__":``, because each new process imports the script again (a notebook, or
pytest, needs nothing).
"""
import datetime
import os
import pickle
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from . import nn
from ._validation import as_float_array, check_number, check_positive_int, check_rng
from .torch_twin import to_numpy
from .train.batches import minibatches


@dataclass
class Replica:
    """What one worker of ``data_parallel_sgd`` saw and ended with (arrays in ``parameters()`` order).

    rank: the worker's number, 0 … world_size − 1.
    shard_gradients: one list of arrays per step: the gradient of this worker's shard alone.
    gradients: one list of arrays per step: the all-reduced mean, the gradient the step used.
    weights: the replica's parameters after the last step.
    """

    rank: int
    shard_gradients: list
    gradients: list
    weights: list


def data_parallel_gradients(model, loss_fn, X, y, *, world_size=2, timeout=60.0):
    """The gradient of ``loss_fn(model(X), y)``, computed by ``world_size`` processes together.

    model: an ``introdl.nn`` model (each worker runs its torch twin, float64, on the CPU).
    loss_fn: an ``introdl.nn`` loss (MSELoss, BCELoss, BCEWithLogitsLoss or CrossEntropyLoss).
    X: (B, ...) one mini-batch; y: (B, ...) its targets. B must be divisible by ``world_size``:
    worker r takes rows r·B/W … (r+1)·B/W − 1.
    timeout: seconds allowed for the whole run (and for the workers to find each other).
    Returns the all-reduced mean gradient as a list of arrays, one per parameter, in
    ``model.parameters()`` order, as rank 0 holds it.
    """
    X, y = _check_batch(X, y)
    world_size = check_positive_int(world_size, "world_size")
    _check_equal_shards(len(X), world_size, "the mini-batch")
    _check_model(model, loss_fn)
    results = _run(_gradients_task, (model, loss_fn, X, y), world_size, timeout)
    return results[0]


def data_parallel_sgd(model, loss_fn, X, y, *, lr, epochs, batch_size, rng, world_size=2, timeout=60.0):
    """Synchronous data-parallel SGD: ``world_size`` replicas, one all-reduce per step.

    Every worker gets a copy of ``rng`` in the same state, so all of them draw the same shuffle
    with ``introdl.train.minibatches`` and agree on every mini-batch without talking; each then
    takes its shard of the batch, computes its gradient, all-reduces, and takes the plain SGD
    step W ← W − lr·g (what ``torch.optim.SGD(lr=lr)`` does). (The caller's ``rng`` is not
    advanced.) With the same ``rng``
    state this visits the same mini-batches as ``introdl.train.fit`` in one process.

    X: (N, ...), y: (N, ...). Every mini-batch (of ``batch_size`` rows, and the last one of
    N mod batch_size rows, if any) must split into ``world_size`` equal shards.
    Returns a list of ``Replica``, one per worker, in rank order.
    """
    X, y = _check_batch(X, y)
    lr = check_number(lr, "lr", low=0)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    rng = check_rng(rng)
    world_size = check_positive_int(world_size, "world_size")
    _check_equal_shards(min(batch_size, len(X)), world_size, f"a mini-batch of batch_size={batch_size}")
    if len(X) % batch_size:
        _check_equal_shards(len(X) % batch_size, world_size,
                            f"the last mini-batch (N mod batch_size = {len(X)} mod {batch_size})")
    _check_model(model, loss_fn)
    results = _run(_sgd_task, (model, loss_fn, X, y, lr, epochs, batch_size, rng), world_size, timeout)
    return [Replica(rank=rank, **result) for rank, result in enumerate(results)]


# ---------------------------------------------------------------------------------------------
# What each worker runs. Module-level functions, so that spawn can find them by name.

def _worker(rank, world_size, rendezvous, out_dir, timeout, task, args):
    """One worker process: join the group, run ``task``, leave the group, save the result."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # W workers share the machine's cores
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=timeout))
    try:
        result = task(rank, world_size, *args)
    finally:
        dist.destroy_process_group()
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as file:
        pickle.dump(result, file)


def _gradients_task(rank, world_size, model, loss_fn, X, y):
    """The all-reduced gradient of one mini-batch: a list of arrays."""
    twin, loss = _torch_twin(model), _torch_loss(loss_fn)
    X_shard, y_shard = _shard(X, y, rank, world_size)
    loss(twin(X_shard), y_shard).backward()
    _all_reduce_mean(twin.parameters(), world_size)
    return [to_numpy(p.grad) for p in twin.parameters()]


def _sgd_task(rank, world_size, model, loss_fn, X, y, lr, epochs, batch_size, rng):
    """``epochs`` of synchronous SGD; returns this replica's record as a dict."""
    import torch

    twin, loss = _torch_twin(model), _torch_loss(loss_fn)
    parameters = list(twin.parameters())
    shard_gradients, gradients = [], []
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):  # the same on every rank
            X_shard, y_shard = _shard(X_batch, y_batch, rank, world_size)
            for p in parameters:
                p.grad = None
            loss(twin(X_shard), y_shard).backward()
            shard_gradients.append([to_numpy(p.grad) for p in parameters])
            _all_reduce_mean(parameters, world_size)
            gradients.append([to_numpy(p.grad) for p in parameters])
            with torch.no_grad():
                for p in parameters:
                    # W ← W − η g, as torch.optim.SGD(lr=lr) and introdl.optim.SGD(lr=lr) do. (Written
                    # out because building a torch.optim optimizer costs a worker about a second.)
                    p -= lr * p.grad
    weights = [to_numpy(p) for p in parameters]
    return dict(shard_gradients=shard_gradients, gradients=gradients, weights=weights)


def _shard(X, y, rank, world_size):
    """Rank ``rank``'s rows of the batch, as torch tensors: (B / world_size, ...) each."""
    import torch

    size = len(X) // world_size  # equal shards, checked by the caller
    rows = slice(rank * size, (rank + 1) * size)
    return torch.as_tensor(X[rows]), torch.as_tensor(y[rows])


def _all_reduce_mean(parameters, world_size):
    """Replace every gradient by the mean of that gradient over all workers, in place."""
    import torch.distributed as dist

    for p in parameters:
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= world_size


def _torch_twin(model):
    import torch

    from .torch_twin import to_torch

    return to_torch(model, on_device="cpu", dtype=torch.float64)


def _torch_loss(loss_fn):
    """The torch function with the same mean-reduced loss as the introdl loss module."""
    import torch.nn.functional as F

    losses = {nn.MSELoss: F.mse_loss, nn.BCELoss: F.binary_cross_entropy,
              nn.BCEWithLogitsLoss: F.binary_cross_entropy_with_logits,
              nn.CrossEntropyLoss: F.cross_entropy}
    return losses[type(loss_fn)]


# ---------------------------------------------------------------------------------------------
# The parent's side: checks, then start the workers and collect what they saved.

def _run(task, args, world_size, timeout):
    """Run ``task(rank, world_size, *args)`` in ``world_size`` fresh processes; their results by rank."""
    import torch.multiprocessing as mp

    timeout = check_number(timeout, "timeout", low=0, low_open=True)
    with tempfile.TemporaryDirectory(prefix="introdl-distributed-") as folder:
        rendezvous = os.path.join(folder, "rendezvous")  # the file the workers meet through
        context = mp.spawn(_worker, args=(world_size, rendezvous, folder, timeout, task, args),
                           nprocs=world_size, join=False)
        deadline = time.monotonic() + timeout
        # join raises, with the worker's traceback, if a worker fails (and stops the others).
        while not context.join(timeout=max(deadline - time.monotonic(), 0.0)):
            if time.monotonic() >= deadline:
                for process in context.processes:
                    process.kill()
                    process.join()
                raise TimeoutError(f"the {world_size} worker processes did not finish within {timeout:g} s")
        results = []
        for rank in range(world_size):
            with open(os.path.join(folder, f"rank{rank}.pkl"), "rb") as file:
                results.append(pickle.load(file))
    return results


def _check_batch(X, y):
    X = as_float_array(X, "X")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} and {len(y)}")
    return X, y


def _check_equal_shards(n_rows, world_size, what):
    if n_rows % world_size:
        raise ValueError(
            f"{what} has {n_rows} rows, which do not split into {world_size} equal shards. "
            f"Averaging the shard gradients (sum / world_size) gives the gradient of the whole mini-batch only "
            f"when every shard has the same number of rows; use a number of rows divisible by "
            f"world_size={world_size} (DistributedSampler pads or drops rows for the same reason)."
        )


def _check_model(model, loss_fn):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an introdl.nn module, got {type(model).__name__}")
    if type(loss_fn) not in (nn.MSELoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss):
        raise TypeError("loss_fn must be an introdl.nn loss (MSELoss, BCELoss, BCEWithLogitsLoss or "
                        f"CrossEntropyLoss), got {type(loss_fn).__name__}")
    if any(isinstance(layer, nn.Dropout) and layer.training and layer.p > 0 for layer in _modules(model)):
        raise ValueError("the replicas would draw different dropout masks; call model.eval() or "
                         "remove Dropout (the data-parallel demo needs a deterministic model)")


def _modules(module):
    """``module`` and all its sub-modules, depth first."""
    yield module
    for child in module.children():
        yield from _modules(child)
