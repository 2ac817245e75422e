"""Plotting helpers that several chapters share: decision boundaries and training curves."""
import numpy as np


def plot_decision_boundary(ax, predict, X, y, *, resolution=200, padding=0.5, levels=(0.5,), cmap="RdBu"):
    """Colour the plane by ``predict`` and draw the labelled points on top.

    predict: (M, 2) points → (M,) scores, e.g. probabilities of class 1; X: (N, 2); y: (N,) in {0, 1}.
    ``levels`` are the contour lines drawn in black (0.5 for probabilities, 0 for logits).
    """
    X = np.asarray(X)
    x_min, y_min = X.min(axis=0) - padding
    x_max, y_max = X.max(axis=0) + padding
    gx, gy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    scores = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    ax.contourf(gx, gy, scores, levels=20, cmap=cmap, alpha=0.6)
    ax.contour(gx, gy, scores, levels=list(levels), colors="black", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, edgecolors="black", linewidths=0.5, s=18)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def plot_history(ax, history, *, title=None, patience=None):
    """Training and validation loss per epoch; the best epoch and (if any) the stop marked.

    history: an ``introdl.train.History``. ``patience`` shades the window early stopping waited.
    """
    epochs = np.arange(1, history.epochs_run + 1)
    ax.plot(epochs, history.train_loss, label="training loss")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, label="validation loss")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="green", linestyle="--", label=f"best epoch ({history.best_epoch})")
    if history.stopped_epoch is not None:
        ax.axvline(history.stopped_epoch, color="red", linestyle=":", label=f"stopped ({history.stopped_epoch})")
        if patience is not None:
            ax.axvspan(history.stopped_epoch - patience, history.stopped_epoch, color="red", alpha=0.08,
                       label=f"patience window ({patience} epochs)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
