"""Training speed: introdl against scikit-learn and a plain PyTorch loop, on the same work.

The work: a one-hidden-layer ReLU network on the digits (``introdl.data.digits()``, 75 % of it
to train on, stratified), cross-entropy, Adam with lr 1e-3 and default betas and eps, shuffled
mini-batches, float64 everywhere. Two sizes:

* small: 64 → 128 → 10, batch 64, 30 epochs (the book's kind of network, where Python overhead
  and tiny matrix products dominate);
* wide: 64 → 1024 → 10, batch 512, 30 epochs (where the matrix products, that is BLAS, dominate).

The contenders, timed only while they train:

* ``introdl.train.fit`` with ``nn.Sequential(Linear, ReLU, Linear)``, ``CrossEntropyLoss`` and
  ``optim.Adam``;
* scikit-learn's ``MLPClassifier`` set to the same problem: ``solver="adam"``, ``alpha=0`` (no L2
  penalty), ``tol=0`` and ``n_iter_no_change=max_iter+1`` so that it runs every epoch. It then
  warns that it "did not converge"; that ``ConvergenceWarning`` is silenced explicitly;
* a plain PyTorch loop on the CPU (float64, ``torch.optim.Adam``) that starts from introdl's
  initial weights and visits the examples in the same order, so that it computes the same
  thing.

Each runs twice: with its library's default thread count, and with one thread (threadpoolctl
for the OpenBLAS under NumPy, which introdl and scikit-learn share; ``torch.set_num_threads(1)``
for torch). On a machine whose cores are shared with other work, a thread pool mostly waits for
its other threads to be scheduled, and one thread can be several times faster; each library's
goal is judged at its faster setting. The runs are interleaved (A B C … A B C …) so that every
contender shares the machine's noise, and we report the medians. scikit-learn draws its own
initial weights and batch order.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from introdl import data, nn, optim, train
from introdl.torch_twin import to_torch
from report import Section, Table, load_average, median, met, timed, torch_threads

GOALS = {  # (case, baseline) -> the largest acceptable ratio introdl time / baseline time
    ("small", "scikit-learn"): 0.6,
    ("small", "PyTorch"): 0.5,
    ("wide", "PyTorch"): 1.2,
}
PAUSE_S = 0.3  # between two timed runs
CASES = {
    "small": dict(hidden=128, batch_size=64, epochs=30),
    "wide": dict(hidden=1024, batch_size=512, epochs=30),
}


def digits_split(seed=0):
    """(X_train, X_test, y_train, y_test): the digits, 75 % / 25 %, stratified, float64 in [0, 1]."""
    X, y = data.digits()
    return data.train_test_split(X, y, test_size=0.25, rng=np.random.default_rng(seed))


def introdl_model(hidden, seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(64, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, 10, rng=rng))


# ---------------------------------------------------------------- the contenders
def run_introdl(split, *, hidden, batch_size, epochs, seed=0):
    """Train with introdl.train.fit; returns (seconds, test accuracy, model)."""
    X_train, X_test, y_train, y_test = split
    model = introdl_model(hidden, seed)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    seconds, _ = timed(train.fit, model, loss_fn, optimizer, X_train, y_train, epochs=epochs,
                       batch_size=batch_size, rng=np.random.default_rng(seed))
    return seconds, train.accuracy(model, X_test, y_test, outputs="logits"), model


def run_sklearn(split, *, hidden, batch_size, epochs, seed=0):
    """Train scikit-learn's MLPClassifier on the same problem; returns (seconds, test accuracy, model)."""
    from sklearn.exceptions import ConvergenceWarning  # here: importing scikit-learn takes 2 s
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = split
    classifier = MLPClassifier(
        hidden_layer_sizes=(hidden,), activation="relu", solver="adam", alpha=0.0,
        batch_size=batch_size, learning_rate_init=1e-3, max_iter=epochs, shuffle=True,
        tol=0, n_iter_no_change=epochs + 1, early_stopping=False, random_state=seed,
    )
    # With tol=0 it never "converges", so it warns after the last epoch: expected, silenced.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds, _ = timed(classifier.fit, X_train, y_train)
    return seconds, classifier.score(X_test, y_test), classifier


def run_torch(split, *, hidden, batch_size, epochs, seed=0, threads=None):
    """The same training as run_introdl, written as a plain PyTorch loop on the CPU.

    Starts from introdl_model(hidden, seed)'s weights and draws the batch order from the same
    Generator as fit does, so both compute the same thing. Returns (seconds, test accuracy, model).
    """
    X_train, X_test, y_train, y_test = split
    model = to_torch(introdl_model(hidden, seed), on_device="cpu", dtype=torch.float64)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train)

    def loop():
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(X)))
            for start in range(0, len(X), batch_size):
                rows = order[start:start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(X[rows]), y[rows])
                loss.backward()
                optimizer.step()

    with torch_threads(threads or torch.get_num_threads()):
        seconds, _ = timed(loop)
    with torch.no_grad():
        predicted = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return seconds, float(np.mean(predicted == y_test)), model


def one_thread(runner):
    """``runner`` with NumPy's BLAS (or torch) limited to one thread while it trains."""
    if runner is run_torch:
        return lambda split, **case: run_torch(split, threads=1, **case)

    def limited(split, **case):
        with threadpool_limits(limits=1, user_api="blas"):
            return runner(split, **case)
    return limited


def contenders():
    """name -> function(split, **case) -> (seconds, accuracy, model), each library at its default
    thread count and at one thread."""
    blas_threads = max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    defaults = {"introdl": (run_introdl, blas_threads), "scikit-learn": (run_sklearn, blas_threads),
                "PyTorch": (run_torch, torch.get_num_threads())}
    found = {}
    for name, (runner, threads) in defaults.items():
        found[(name, f"{threads} (default)")] = runner
        if threads != 1:
            found[(name, "1")] = one_thread(runner)
    return found


# ---------------------------------------------------------------- measuring
def measure(case, *, repeats, split=None):
    """Run every contender ``repeats`` times, interleaved.

    Returns {(library, threads): (times, accuracy)} and the largest relative difference between
    introdl's and PyTorch's final weights (both at their default thread counts).
    """
    split = digits_split() if split is None else split
    runners = contenders()
    times = {key: [] for key in runners}
    accuracy, models = {}, {}
    for runner in runners.values():  # warm-up: first-call costs (imports, allocations) are not timed
        runner(split, **dict(case, epochs=1))
    for _ in range(repeats):
        for key, runner in runners.items():
            # A pause, untimed: a thread pool that has just finished keeps spinning for a moment,
            # and would slow down whichever contender runs next.
            time.sleep(PAUSE_S)
            seconds, accuracy[key], models[key] = runner(split, **case)
            times[key].append(seconds)
    ours, theirs = (next(models[key] for key in runners if key[0] == name) for name in ("introdl", "PyTorch"))
    weight_gap = max(float(np.max(np.abs(p.data - q.detach().numpy())) / np.max(np.abs(p.data)))
                     for p, q in zip(ours.parameters(), theirs.parameters()))
    return {key: (times[key], accuracy[key]) for key in runners}, weight_gap


def fastest(measured, library):
    """The smallest median time of ``library`` over its thread settings."""
    return min(median(times) for (name, _), (times, _) in measured.items() if name == library)


def steps_per_run(case, n_train):
    return case["epochs"] * -(-n_train // case["batch_size"])


def run(quick=False):
    repeats = 1 if quick else 5
    split = digits_split()
    n_train = len(split[0])
    cases = {name: dict(case, epochs=2) if quick else case for name, case in CASES.items()}
    section = Section(
        "Training speed against scikit-learn and PyTorch",
        intro=(
            f"The same training three ways: a ReLU network on {n_train} digits (75 % of "
            "`introdl.data.digits()`), cross-entropy, Adam (lr 1e-3), float64, every epoch run. "
            "introdl is `train.fit`; scikit-learn is `MLPClassifier(solver=\"adam\", alpha=0, "
            "tol=0, n_iter_no_change=max_iter+1)` (its ConvergenceWarning, which says that it ran "
            "out of epochs, is silenced explicitly with `warnings.catch_warnings`); PyTorch is a "
            "plain loop on the CPU that starts from introdl's initial weights and visits the "
            "examples in the same order. "
            "Each library runs at its default thread count and at one thread; on a machine whose "
            "cores are busy with other work, a thread pool spends most of its time waiting for its "
            "other threads to be scheduled, so each library is judged at its faster setting. "
            f"Times are medians of {repeats} interleaved runs (A B C … A B C …), training only."
        ),
    )
    results = Table(["case", "library", "threads", "median time (s)", "per step (ms)", "test accuracy",
                     "all runs (s)"], caption="Time to train")
    goals = Table(["case", "ratio (each at its faster thread setting)", "measured", "goal", "goal met?",
                   "both at default threads", "both at 1 thread"], caption="Goals")
    loads = []
    for case_name, case in cases.items():
        measured, weight_gap = measure(case, repeats=repeats, split=split)
        loads.append(load_average())
        steps = steps_per_run(case, n_train)
        label = (f"{case_name}: 64 → {case['hidden']} → 10, batch {case['batch_size']}, "
                 f"{case['epochs']} epochs ({steps} steps)")
        for (name, threads), (times, accuracy) in measured.items():
            results.add(label, name, threads, f"{median(times):.3f}", f"{1000 * median(times) / steps:.2f}",
                        f"{accuracy:.3f}", ", ".join(f"{t:.2f}" for t in times))
        for (goal_case, baseline), goal in GOALS.items():
            if goal_case != case_name:
                continue
            ratio = fastest(measured, "introdl") / fastest(measured, baseline)
            same = {}
            for setting in ("default", "1"):
                pair = [median(t) for (name, threads), (t, _) in measured.items()
                        if name in ("introdl", baseline) and (threads == "1") == (setting == "1")]
                same[setting] = f"{pair[0] / pair[1]:.2f}×" if len(pair) == 2 else "n/a"
            goals.add(case_name, f"introdl / {baseline}", f"{ratio:.2f}×", f"≤ {goal}×", met(ratio, goal),
                      same["default"], same["1"])
        section.notes.append(
            f"{case_name}: introdl's and PyTorch's final weights differ by at most "
            f"{weight_gap:.1e} (relative): the two loops did the same arithmetic."
        )
    section.tables += [results, goals]
    section.notes.append("Load average after each case (1, 5, 15 min): " + "; ".join(loads) + ".")
    return section
