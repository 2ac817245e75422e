"""The dropout explorer: the book's overfitting setup trained once per dropout rate, one slider.

The setup is the one chapter 10 overfits: ``introdl.data.digits_overfitting_split(150,
rng=np.random.default_rng(10))``, 150 handwritten digits to learn from and about 820 to validate
on. The network is wide for so few examples::

    64 → 128 → ReLU → Dropout(p) → 128 → ReLU → Dropout(p) → 10

trained with Adam (learning rate 0.003) on mini-batches of 32 for 60 epochs, long enough for the
network without dropout to learn every training example and then keep growing more confident, so
that its validation loss turns and rises again: overfitting.

Training a network takes a fraction of a second, far too long to repeat on every move of a
slider. So the work is split in two:

* ``dropout_curves(p)`` trains the network with dropout rate ``p`` and records, after every
  epoch, the loss and accuracy on the training and validation sets (a pure function: the same
  settings give the same curves). Every rate starts from the *same* initial weights and sees the
  mini-batches in the *same* order; only the dropout masks differ.
* ``dropout_explorer()`` calls it once for every rate on the slider's grid when it is built.
  Moving the slider only draws the curves that were already computed (and each figure is drawn
  at most once, then reused). The website's static twin shows the same precomputed frames.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from .. import data, nn, optim, train
from .._validation import check_number, check_positive_int
from .explorer import Explorer
from .static_twin import figure_to_png

# The slider's grid: from no dropout to dropping 80 % of the hidden units.
DROPOUT_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
# The experiment's settings (the defaults of every function below).
HIDDEN = 128
LAYERS = 2
EPOCHS = 60
BATCH_SIZE = 32
LR = 0.003
SEED = 11


# ---------------------------------------------------------------- the setup
@lru_cache(maxsize=1)
def overfitting_data():
    """The book's overfitting split, made once and cached (so: read the arrays, don't change them):
    ``data.digits_overfitting_split(150, rng=np.random.default_rng(10))``.

    Returns (X_train, y_train, X_val, y_val, X_test, y_test); X_*: (N, 64) pixel values in
    [0, 1], y_*: (N,) digits 0..9; N = 150 for training, about 820 each for validation and test.
    """
    return data.digits_overfitting_split(150, rng=np.random.default_rng(10))


def _streams(seed):
    """Three independent random streams from one seed: initial weights, dropout masks, batch order."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


def dropout_network(p, *, hidden=HIDDEN, layers=LAYERS, seed=SEED):
    """The experiment's network: 64 → hidden → … → 10, each hidden layer followed by ReLU and
    ``nn.Dropout(p)``; ``layers`` hidden layers of ``hidden`` units. Input (N, 64), logits (N, 10).

    The weights are drawn from ``seed`` alone (Dropout has no weights), so the networks for every
    p start identical; the masks come from another stream of the same seed.
    """
    p = check_number(p, "dropout rate p", low=0.0, high=1.0, high_open=True)
    hidden = check_positive_int(hidden, "hidden")
    layers = check_positive_int(layers, "layers")
    weights, masks, _ = _streams(seed)
    modules, width = [], 64
    for _ in range(layers):
        modules += [nn.Linear(width, hidden, rng=weights), nn.ReLU(), nn.Dropout(p, rng=masks)]
        width = hidden
    return nn.Sequential(*modules, nn.Linear(width, 10, rng=weights))


def batch_order_rng(seed=SEED):
    """The Generator that shuffles the mini-batches: the same stream for every run of ``seed``.

    Pass it as ``rng=`` to ``train.fit`` (together with ``dropout_network(p, seed=seed)``) to
    train exactly as ``dropout_curves`` does.
    """
    return _streams(seed)[2]


# ---------------------------------------------------------------- one training run
@dataclass(frozen=True)
class DropoutRun:
    """The record of one training run with dropout rate ``p``.

    train_loss, val_loss: (epochs,) the cross-entropy loss on the training and validation sets
        after each epoch, measured in eval mode (dropout off), so that the two are comparable;
    train_acc, val_acc: (epochs,) the fraction classified correctly, also in eval mode;
    model: the trained network (shared by every caller of the cached explorer: evaluate it,
        don't train it further).
    """

    p: float
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    model: nn.Module

    @property
    def epochs(self):
        return len(self.train_loss)

    @property
    def loss_gap(self):
        """Validation loss minus training loss after the last epoch."""
        return float(self.val_loss[-1] - self.train_loss[-1])

    @property
    def accuracy_gap(self):
        """Training accuracy minus validation accuracy after the last epoch."""
        return float(self.train_acc[-1] - self.val_acc[-1])


def _loss_and_accuracy(model, loss_fn, X, y):
    logits = train.predict(model, X)  # eval mode: dropout off
    return loss_fn(logits, y), float(np.mean(logits.argmax(axis=1) == y))


def dropout_curves(p, *, make_network=None, batch_order=None, split=None, epochs=EPOCHS, hidden=HIDDEN,
                   layers=LAYERS, batch_size=BATCH_SIZE, lr=LR, seed=SEED):
    """Train a network with dropout rate ``p`` and record its curves.

    make_network: p -> a fresh network (a chapter passes its own); default
        ``dropout_network(p, hidden=hidden, layers=layers, seed=seed)``.
    batch_order: () -> a fresh np.random.Generator that shuffles the mini-batches (the same
        stream for every p); default ``batch_order_rng(seed)``.
    split: (X_train, y_train, X_val, y_val); default the book's overfitting split.
    Adam with learning rate ``lr``, cross-entropy loss, mini-batches of ``batch_size``; after
    every epoch the loss and accuracy on the training and validation sets are measured in eval
    mode. Deterministic: the same arguments give the same curves. Returns a ``DropoutRun`` whose
    arrays have shape (epochs,).
    """
    epochs = check_positive_int(epochs, "epochs")
    X_train, y_train, X_val, y_val = overfitting_data()[:4] if split is None else split
    if make_network is None:
        model = dropout_network(p, hidden=hidden, layers=layers, seed=seed)
    else:
        model = make_network(p)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    order = batch_order_rng(seed) if batch_order is None else batch_order()
    curves = []
    # The matrices are small (at most 820 × 128): one BLAS thread is fastest, and several
    # threads fighting over a shared machine's cores are many times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs):
            # One epoch at a time is the same as fit(epochs=...): the same order stream, the same
            # optimizer state; it lets us measure the curves in between.
            train.fit(model, loss_fn, optimizer, X_train, y_train, epochs=1, batch_size=batch_size, rng=order)
            curves.append(_loss_and_accuracy(model, loss_fn, X_train, y_train)
                          + _loss_and_accuracy(model, loss_fn, X_val, y_val))
    model.eval()
    train_loss, train_acc, val_loss, val_acc = np.array(curves).T
    return DropoutRun(p=float(p), train_loss=train_loss, val_loss=val_loss, train_acc=train_acc,
                      val_acc=val_acc, model=model)


def dropout_runs(grid=DROPOUT_GRID, **settings):
    """``dropout_curves(p, **settings)`` for every p in ``grid``: a dict {p: DropoutRun}."""
    return {float(p): dropout_curves(p, **settings) for p in grid}


def describe_dropout_run(run):
    """The readout under the slider, e.g.
    'p = 0.5: train acc 1.00, val acc 0.90, gap 0.10 | train loss 0.007, val loss 0.45, gap 0.44'."""
    return (f"p = {run.p:.1f}: train acc {run.train_acc[-1]:.2f}, val acc {run.val_acc[-1]:.2f}, "
            f"gap {run.accuracy_gap:.2f} | train loss {run.train_loss[-1]:.3f}, "
            f"val loss {run.val_loss[-1]:.2f}, gap {run.loss_gap:.2f}")


# ---------------------------------------------------------------- drawing
# Every frame has the same axis limits, so that moving the slider compares like with like.
# Labels are plain Unicode rather than $math$: matplotlib's math parser is slow.
_LOSS_LIMITS = (0.0, 1.2)  # the first epochs (loss ≈ ln 10 ≈ 2.3) are cut off
_ACCURACY_LIMITS = (0.6, 1.01)
_FIGSIZE = (8.0, 3.4)
_TRAIN, _VAL, _REFERENCE = "tab:blue", "tab:orange", "0.7"


def _mark_gap(ax, epoch, top, bottom, *, fmt):
    """A double arrow from ``top`` to ``bottom`` at ``epoch``, labelled with their difference."""
    ax.annotate("", xy=(epoch, bottom), xytext=(epoch, top),
                arrowprops=dict(arrowstyle="<->", color="black", shrinkA=0, shrinkB=0))
    ax.text(epoch - 1, (top + bottom) / 2, f"gap {fmt.format(abs(top - bottom))}", ha="right", va="center",
            fontsize=9)


def draw_dropout_run(run, *, reference=None):
    """Two panels for one ``DropoutRun``: the training and validation loss per epoch and the
    training and validation accuracy per epoch, each with the final gap marked. ``reference``
    (e.g. the run without dropout) is drawn in grey behind, unless it is ``run``'s own rate.
    Returns a matplotlib Figure (not registered with pyplot: nothing to close)."""
    figure = Figure(figsize=_FIGSIZE)
    FigureCanvasAgg(figure)
    loss_ax, acc_ax = figure.subplots(1, 2)
    epochs = np.arange(1, run.epochs + 1)
    if reference is not None and reference.p != run.p:
        ref_epochs = np.arange(1, reference.epochs + 1)
        for ax, train_curve, val_curve in ((loss_ax, reference.train_loss, reference.val_loss),
                                           (acc_ax, reference.train_acc, reference.val_acc)):
            ax.plot(ref_epochs, train_curve, color=_REFERENCE, linestyle="--", linewidth=1)
            ax.plot(ref_epochs, val_curve, color=_REFERENCE, linewidth=1,
                    label=f"p = {reference.p:g}: training --, validation —")
    for ax, train_curve, val_curve in ((loss_ax, run.train_loss, run.val_loss),
                                       (acc_ax, run.train_acc, run.val_acc)):
        ax.plot(epochs, train_curve, color=_TRAIN, linestyle="--", label=f"p = {run.p:.1f}: training")
        ax.plot(epochs, val_curve, color=_VAL, label=f"p = {run.p:.1f}: validation")
        ax.set_xlim(0, run.epochs + 1)
        ax.set_xlabel("epoch")
    _mark_gap(loss_ax, run.epochs, run.val_loss[-1], run.train_loss[-1], fmt="{:.2f}")
    loss_ax.set_ylim(*_LOSS_LIMITS)
    loss_ax.set_ylabel("cross-entropy loss")
    loss_ax.set_title(f"loss: training {run.train_loss[-1]:.3f}, validation {run.val_loss[-1]:.2f}", fontsize=10)
    loss_ax.legend(loc="upper right", fontsize=7)
    _mark_gap(acc_ax, run.epochs, run.train_acc[-1], run.val_acc[-1], fmt="{:.2f}")
    acc_ax.set_ylim(*_ACCURACY_LIMITS)
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_title(f"accuracy: training {run.train_acc[-1]:.2f}, validation {run.val_acc[-1]:.2f}", fontsize=10)
    acc_ax.legend(loc="lower right", fontsize=7)
    title = "no dropout" if run.p == 0 else f"each hidden unit dropped with probability {run.p:.1f}"
    figure.suptitle(f"dropout rate p = {run.p:.1f} ({title})", fontsize=11)
    # A fixed layout: tight_layout would draw the whole figure once more just to measure it.
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.82, wspace=0.25)
    return figure


# ---------------------------------------------------------------- the explorer
class DropoutExplorer(Explorer):
    """An ``Explorer`` over the dropout rate whose runs were all trained when it was built.

    runs: {p: DropoutRun} for every p on the grid. Moving the slider picks the run of the
    nearest grid value and draws it (each frame is drawn once, then reused).
    """

    def __init__(self, runs, *, initial=0.5):
        self.runs = dict(sorted(runs.items()))
        self._rates = np.array(list(self.runs))
        self._frames = {}
        super().__init__(self.frame, self._rates, description="dropout rate p", initial=initial,
                         readout=lambda p: describe_dropout_run(self.run(p)), step=0.1,
                         value_format="{:.1f}",
                         alt=lambda p: (f"Training and validation curves with dropout rate "
                                        f"{describe_dropout_run(self.run(p))}; first the loss, then the "
                                        f"accuracy per epoch, the run without dropout in grey behind."),
                         # The two panels of ``draw_dropout_run`` without the title (the readout
                         # says the same): they stack on a narrow screen.
                         panels={"loss per epoch": (0.0, 0.09, 0.5, 1.0),
                                 "accuracy per epoch": (0.5, 0.09, 1.0, 1.0)})

    def run(self, p):
        """The precomputed run whose rate is nearest to ``p``."""
        return self.runs[float(self._rates[np.argmin(np.abs(self._rates - p))])]

    def frame(self, p):
        """The figure for the rate nearest to ``p``, as PNG bytes: drawn on first use, then reused."""
        run = self.run(p)
        if run.p not in self._frames:
            self._frames[run.p] = figure_to_png(draw_dropout_run(run, reference=self.runs.get(0.0)), palette=True)
        return self._frames[run.p]


def dropout_explorer(grid=DROPOUT_GRID, *, initial=0.5, **settings):
    """A slider over the dropout rates in ``grid`` showing the curves trained with each.

    Every rate is trained once, here, with ``dropout_curves(p, **settings)`` (a few seconds in
    all); moving the slider only redraws. A chapter passes its own network and settings, e.g.
    ``dropout_explorer(make_network=network, batch_order=order, split=(X_train, y_train, X_val,
    y_val), epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR)``. Returns a ``DropoutExplorer`` (an ``Explorer``): in a
    kernel a live slider, on the website a static twin of precomputed frames. Its ``runs`` attribute
    holds the ``DropoutRun`` of every rate.
    """
    return DropoutExplorer(dropout_runs(grid, **settings), initial=initial)
