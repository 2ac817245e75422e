"""Plots and diagrams that the chapters share, each drawn from the real object it shows.

Training curves (:func:`plot_history`), a perceptron (:func:`draw_perceptron`), a network of
``introdl.nn`` layers with its weights, values, gradients and dropout masks (:func:`draw_network`),
the computational graph of a chain of scalar layers (:func:`draw_computational_graph`),
data-parallel workers and their ring all-reduce (:func:`draw_data_parallel`) and the loss
landscape of a trained network (:func:`plot_loss_landscape`).

Every ``draw_*`` and ``plot_loss_landscape`` function returns ``(figure, alt)``: the matplotlib
figure and a one-sentence description of it for screen readers, written from the same object.
Colours: blue for a positive number, red for a negative one, the line width grows with the size.
Matplotlib only, so a picture looks the same in JupyterLab, on Colab, on the website and in the PDF.
"""
import copy

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from . import functional as F
from . import nn

POSITIVE, NEGATIVE, DROPPED = "tab:blue", "tab:red", "0.6"
_FONT = 11  # points; every diagram is drawn small enough to be read at phone width
_COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


# ---------------------------------------------------------------------------- training curves
def plot_history(ax, history, *, title=None, patience=None):
    """Training and validation loss per epoch; the best epoch and (if any) the stop marked.

    history: an ``introdl.train.History``. ``patience`` shades the window early stopping waited.
    Returns ``ax``.
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


def figure_texts(fig):
    """Every piece of text drawn in ``fig`` (node and edge labels, titles, legends), as a list of str.

    The drawings write a minus as the sign "−" (U+2212); here it is "-" again, so that a chapter can
    assert that a number it computed, formatted with ``f"{value:.4f}"``, is on the drawing.
    """
    return [text.get_text().replace("\u2212", "-") for text in fig.findobj(plt.Text) if text.get_text()]


# ---------------------------------------------------------------------------- drawing primitives
def _new_axes(ax, size):
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
    ax.set_axis_off()
    return ax.figure, ax


def _node(ax, xy, text="", *, radius=0.3, face="white", edge="black", dropped=False, fontsize=_FONT):
    """A unit: a circle with ``text`` in it; a dropped unit is grey and crossed out."""
    ax.add_patch(plt.Circle(xy, radius, facecolor="0.9" if dropped else face,
                            edgecolor=DROPPED if dropped else edge, linewidth=1.2, zorder=3, gid="node"))
    if dropped:
        r = radius * 0.75
        for sign in (1, -1):
            ax.plot([xy[0] - r, xy[0] + r], [xy[1] - sign * r, xy[1] + sign * r], color="black", lw=1.6, zorder=5)
    if text:
        ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4,
                color="0.5" if dropped else "black")


def _edge(ax, start, end, value, largest, *, radius=0.3, label=None, muted=False, fontsize=_FONT):
    """A connection from ``start`` to ``end`` coloured by the sign of ``value``, as wide as |value|."""
    if muted:
        color, width, style = DROPPED, 0.8, (0, (2, 2))
    else:
        color = POSITIVE if value >= 0 else NEGATIVE
        width, style = 0.5 + 3.0 * abs(value) / largest if largest > 0 else 0.5, "-"
    (x0, y0), (x1, y1) = start, end
    length = np.hypot(x1 - x0, y1 - y0)
    dx, dy = (x1 - x0) / length * radius, (y1 - y0) / length * radius
    ax.add_line(Line2D([x0 + dx, x1 - dx], [y0 + dy, y1 - dy], color=color, linewidth=width, linestyle=style,
                       zorder=2, gid="edge"))
    if label is not None:
        t = 0.4  # nearer the tail, where the edges of a fan into one node are apart
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), label, ha="center", va="center", fontsize=fontsize,
                color=color, zorder=4, bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.85))


def _sign_legend(ax, what="weight", *, dropped=False):
    handles = [Line2D([], [], color=POSITIVE, lw=2.5, label=f"{what} > 0"),
               Line2D([], [], color=NEGATIVE, lw=2.5, label=f"{what} < 0")]
    if dropped:
        handles.append(Line2D([], [], color="black", marker="x", linestyle="none", markersize=9,
                              label="dropped by the mask"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles), frameon=False,
              fontsize=_FONT, handlelength=1.6, columnspacing=1.2)


def _below(ax, xy, radius, value, decimals, prefix="", *, kind="f"):
    """A node's value, written under it."""
    ax.text(xy[0], xy[1] - radius - 0.08, prefix + _number(value, decimals, kind), ha="center", va="top",
            fontsize=_FONT)


def _number(value, decimals, kind="f"):
    """``value`` with ``decimals`` decimals (kind "f") or significant digits ("g"), and a true minus sign."""
    return f"{value:.{decimals}{kind}}".replace("-", "\u2212")


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


# ---------------------------------------------------------------------------- the perceptron
def draw_perceptron(weights, bias=None, *, x=None, activation="sigmoid", simplified=False, digits=4, ax=None):
    """One perceptron, ŷ = g(w0 + xᵀw): inputs, weights, the sum, the non-linearity and the output.

    weights: the m weights, an array (m,), or an ``nn.Linear(m, 1)`` (then ``bias`` is read from it).
    bias: w0, a number (not drawn with ``simplified``, but part of z). x: (m,) an input whose values
    are written under the input nodes, with z and ŷ computed from it. activation: "sigmoid", "tanh"
    or "relu", the g of ``introdl.functional``.
    simplified: draw it as chapter 3 does from then on: no bias and no g, the node stands for z.
    Edges are coloured by the sign of their weight, as wide as its size, and labelled with it; numbers
    are written with ``digits`` significant digits.
    Returns (figure, alt text). Raises ValueError for a layer with more than one output or an x of
    the wrong length. Source: the lecture's perceptron slide (MIT 6.S191, lecture 1).
    """
    if isinstance(weights, nn.Linear):
        if weights.out_features != 1:
            raise ValueError(f"draw_perceptron draws one output; this Linear has {weights.out_features} "
                             "(draw it with draw_network)")
        bias = None if weights.bias is None else float(weights.bias.data[0])
        weights = weights.weight.data[0]
    w = np.asarray(weights, dtype=float).ravel()
    m = len(w)
    if bias is None and not simplified:
        raise ValueError("draw_perceptron needs the bias w0 (or simplified=True, which leaves it out)")
    if x is not None:
        x = np.asarray(x, dtype=float).ravel()
        if len(x) != m:
            raise ValueError(f"x has {len(x)} entries but the perceptron has {m} inputs")
    functions = {"sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu}
    if activation not in functions:
        raise ValueError(f"activation must be one of {sorted(functions)}, not {activation!r}")
    g = functions[activation]

    n_in = m + (0 if simplified else 1)
    height = (n_in - 1) * 1.5
    fig, ax = _new_axes(ax, (5.8 if not simplified else 3.6, 0.5 * height + 2.0))
    ys = np.linspace(height / 2, -height / 2, n_in)
    sum_xy, r_in = (3.6, 0.0), 0.42
    largest = np.abs(np.append(w, 0.0 if simplified else bias)).max()
    for j in range(m):
        _node(ax, (0.0, ys[j]), f"$x_{j + 1}$", radius=r_in, fontsize=_FONT + 1)
        if x is not None:
            _below(ax, (0.0, ys[j]), r_in, x[j], digits, kind="g")
        _edge(ax, (0.0, ys[j]), sum_xy, w[j], largest, radius=r_in,
              label=f"$w_{j + 1}$ = {_number(w[j], digits, 'g')}")
    z = None if x is None else (0.0 if bias is None else bias) + x @ w
    parts = [f"a perceptron with {_count(m, 'input')}"]
    if simplified:
        _node(ax, sum_xy, "$z$", radius=r_in, fontsize=_FONT + 1)
        if z is not None:
            _below(ax, sum_xy, r_in, z, digits, kind="g")
        ax.set_xlim(-0.6, 4.2)
        parts.append("drawn without the bias and without g: its one node stands for z, the weighted sum plus bias")
    else:
        _node(ax, (0.0, ys[-1]), "1", radius=r_in, fontsize=_FONT + 1)
        _edge(ax, (0.0, ys[-1]), sum_xy, bias, largest, radius=r_in, label=f"$w_0$ = {_number(bias, digits, 'g')}")
        _node(ax, sum_xy, r"$\Sigma$", radius=r_in, fontsize=_FONT + 1)
        if z is not None:
            _below(ax, sum_xy, r_in, z, digits, "z = ", kind="g")
        g_xy, out_xy = (5.5, 0.0), (7.4, 0.0)
        ax.add_patch(plt.Rectangle((g_xy[0] - 0.65, -0.45), 1.3, 0.9, facecolor="white", edgecolor="black", zorder=3))
        ax.text(*g_xy, f"$g$\n{activation}", ha="center", va="center", fontsize=_FONT - 1, zorder=4)
        ax.annotate("", xy=(g_xy[0] - 0.65, 0), xytext=(sum_xy[0] + r_in, 0),
                    arrowprops=dict(arrowstyle="-|>", color="black"))
        ax.text((sum_xy[0] + g_xy[0]) / 2, 0.15, "$z$", ha="center", va="bottom", fontsize=_FONT)
        y_hat = None if z is None else float(g(np.float64(z)))
        _node(ax, out_xy, r"$\hat y$", radius=r_in, fontsize=_FONT + 1)
        if y_hat is not None:
            _below(ax, out_xy, r_in, y_hat, digits, kind="g")
        ax.annotate("", xy=(out_xy[0] - r_in, 0), xytext=(g_xy[0] + 0.65, 0),
                    arrowprops=dict(arrowstyle="-|>", color="black"))
        ax.set_xlim(-0.6, 8.0)
        parts.append(f"a bias node 1 with weight w0 = {bias:.{digits}g}, a sum node and a {activation} g giving y-hat")
    signs = ", ".join(f"w{j + 1} = {w[j]:.{digits}g}" for j in range(m))
    parts.append(f"weights {signs}")
    if x is not None:
        parts.append(f"the input ({', '.join(f'{v:.{digits}g}' for v in x)}) gives z = {z:.{digits}g}"
                     + ("" if simplified else f" and y-hat = {float(g(np.float64(z))):.{digits}g}"))
    parts.append("blue edges positive, red negative, thicker for larger weights")
    ax.set_ylim(-height / 2 - 0.75, height / 2 + 0.6)
    ax.set_aspect("equal")
    _sign_legend(ax)
    alt = "; ".join(parts) + "."
    return fig, alt[0].upper() + alt[1:]


# ---------------------------------------------------------------------------- networks
def _layers(model):
    """The Linear layers of ``model`` with the activation name and Dropout that follow each one."""
    modules = [model] if isinstance(model, nn.Linear) else list(model) if isinstance(model, nn.Sequential) else None
    if modules is None:
        raise TypeError(f"draw_network draws an nn.Linear or an nn.Sequential, not {type(model).__name__}")
    layers = []
    for module in modules:
        if isinstance(module, nn.Linear):
            layers.append({"linear": module, "activation": None, "dropout": None, "modules": [module]})
        elif not layers:
            raise ValueError(f"draw_network: the model must start with an nn.Linear, not {module!r}")
        elif isinstance(module, nn.Dropout):
            layers[-1]["dropout"] = module
            layers[-1]["modules"].append(module)
        elif isinstance(module, (nn.Sigmoid, nn.Tanh, nn.ReLU)):
            layers[-1]["activation"] = type(module).__name__.replace("Sigmoid", "sigmoid").replace("Tanh", "tanh")
            layers[-1]["modules"].append(module)
        else:
            raise ValueError(f"draw_network draws Linear, Sigmoid, Tanh, ReLU and Dropout layers, not {module!r}")
    return layers


def _forward_values(layers, x):
    """Each layer's output for one example x, and the mask each training-mode Dropout drew (or None)."""
    values, masks = [x], []
    a = x[None, :]
    for layer in layers:
        mask = None
        for module in layer["modules"]:
            if isinstance(module, nn.Dropout) and module.training and module.p > 0:
                scaled = module(np.ones_like(a))  # the module's own mask m / (1 − p), drawn now
                mask = scaled[0] != 0
                a = a * scaled  # exactly what module(a) returns with this mask
            else:
                a = module(a)
        values.append(a[0])
        masks.append(mask)
    return values, masks


def _describe_network(sizes, activations):
    hidden = list(zip(sizes[1:-1], activations[:-1]))
    parts = [f"a network with {_count(sizes[0], 'input')}"]
    if hidden:
        same = len(set(hidden)) == 1
        n_word = _COUNT_WORDS.get(len(hidden), str(len(hidden)))
        if len(hidden) == 1:
            parts.append(f"one hidden layer of {hidden[0][0]} {hidden[0][1] or 'linear'} units")
        elif same:
            parts.append(f"{n_word} hidden layers of {hidden[0][0]} {hidden[0][1] or 'linear'} units each")
        else:
            parts.append(f"{n_word} hidden layers of " + ", ".join(f"{n} {a or 'linear'}" for n, a in hidden)
                         + " units")
    out, act = sizes[-1], activations[-1]
    parts.append(f"{out} {act} output" + ("s" if out > 1 else "") if act else
                 f"{_count(out, 'output')} with no activation")
    if len(sizes) == 2:
        return f"a dense layer with {_count(sizes[0], 'input')} and " + parts[-1]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def draw_network(model, *, x=None, edges="weight", max_units=None, decimals=2, title=None, ax=None):
    """A network drawn from its layers: one node per unit, one edge per weight.

    model: an ``nn.Linear`` or an ``nn.Sequential`` of Linear, Sigmoid, Tanh, ReLU and Dropout layers.
    x: (in_features,) or (1, in_features): one example; each unit then shows its value in the forward
    pass (the layers are called one by one, so this is a forward pass of the model). A Dropout layer
    in training mode draws its mask in that pass; the units it dropped are crossed out and their
    outgoing edges greyed. In evaluation mode dropout drops nothing.
    edges: "weight" colours each edge by the sign of its weight; "grad" by the sign of the weight's
    ``.grad`` from the last backward pass (RuntimeError if there is none). Width grows with the size.
    max_units: draw at most this many units of each layer (the first ones), with "+k more" for the rest.
    The bias is not drawn (chapter 3's simplified notation); each column is titled with its size and g.
    Returns (figure, alt text).
    """
    if edges not in ("weight", "grad"):
        raise ValueError(f"edges must be 'weight' or 'grad', not {edges!r}")
    layers = _layers(model)
    sizes = [layers[0]["linear"].in_features] + [layer["linear"].out_features for layer in layers]
    activations = [layer["activation"] for layer in layers]
    values, masks = [None] * len(sizes), [None] * len(layers)
    if x is not None:
        x = np.asarray(x, dtype=float)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.shape != (sizes[0],):
            raise ValueError(f"x must be one example of shape ({sizes[0]},) or (1, {sizes[0]}), not {x.shape}")
        values, masks = _forward_values(layers, x)
    matrices = []
    for layer in layers:
        parameter = layer["linear"].weight
        if edges == "grad" and parameter.grad is None:
            raise RuntimeError("draw_network(edges='grad') needs the gradients: run backward first")
        matrices.append(parameter.grad if edges == "grad" else parameter.data)
    shown = [n if max_units is None else min(n, max_units) for n in sizes]
    largest = max(np.abs(m[: shown[k + 1], : shown[k]]).max() for k, m in enumerate(matrices))

    column_gap, row_gap, radius = 2.6, 1.1, 0.46
    rows = max(shown) + (1 if shown != sizes else 0)
    x_range, y_range = (len(sizes) - 1) * column_gap + 1.2, (rows - 1) * row_gap + 2.6
    scale = min(0.62, 9.0 / y_range, 6.4 / x_range)  # inches per unit: text and circles keep their sizes
    fig, ax = _new_axes(ax, (scale * x_range, scale * y_range))
    positions = [[(k * column_gap, (n - 1) / 2 * row_gap - i * row_gap) for i in range(n)] for k, n in enumerate(shown)]
    for k, matrix in enumerate(matrices):
        dropped_in = masks[k - 1] if k > 0 else None
        for i in range(shown[k + 1]):
            for j in range(shown[k]):
                muted = dropped_in is not None and not dropped_in[j]
                _edge(ax, positions[k][j], positions[k + 1][i], matrix[i, j], largest, radius=radius, muted=muted)
    for k, column in enumerate(positions):
        mask = masks[k - 1] if k > 0 else None
        for i, xy in enumerate(column):
            text = "" if values[k] is None else _number(values[k][i], decimals)
            _node(ax, xy, text, radius=radius, dropped=mask is not None and not mask[i], fontsize=_FONT - 2)
        if shown[k] < sizes[k]:
            ax.text(k * column_gap, column[-1][1] - row_gap, f"+{sizes[k] - shown[k]} more", ha="center",
                    va="center", fontsize=_FONT - 1)
        if k == 0:
            heading = f"input\n{sizes[0]}"
        else:
            role = "output" if k == len(sizes) - 1 else f"hidden {k}"
            heading = f"{role}\n{sizes[k]} {activations[k - 1] or 'no g'}"
        ax.text(k * column_gap, (rows - 1) / 2 * row_gap + 0.55, heading, ha="center", va="bottom", fontsize=_FONT)
    ax.set_xlim(-0.6, (len(sizes) - 1) * column_gap + 0.6)
    ax.set_ylim(-(rows - 1) / 2 * row_gap - 0.6, (rows - 1) / 2 * row_gap + 1.4)
    ax.set_aspect("equal")
    what = "weight" if edges == "weight" else "gradient"
    if title:
        ax.set_title(title, fontsize=_FONT + 1)
    _sign_legend(ax, "weight" if edges == "weight" else "∂J/∂w", dropped=any(m is not None for m in masks))

    alt = _describe_network(sizes, activations)
    if max_units is not None and shown != sizes:
        alt += f" (the first {max_units} units of each layer drawn)"
    if x is not None and sum(shown) <= 12:
        columns = ["inputs"] + [f"hidden layer {k}" for k in range(1, len(sizes) - 1)] + ["outputs"]
        alt += "; the values for one example: " + ", ".join(
            f"{name} " + " ".join(f"{v:.{decimals}f}" for v in values[k][: shown[k]]) for k, name in enumerate(columns))
    elif x is not None:
        alt += "; each unit shows its value for one example"
    for k, mask in enumerate(masks):
        if mask is not None:
            dropout = layers[k]["dropout"]
            alt += (f"; dropout with p = {dropout.p:g} dropped {int((~mask[: shown[k + 1]]).sum())} of the "
                    f"{shown[k + 1]} drawn units of hidden layer {k + 1}, crossed out")
    drawn = np.concatenate([m[: shown[k + 1], : shown[k]].ravel() for k, m in enumerate(matrices)])
    alt += (f"; of the {drawn.size} edges drawn, {int((drawn >= 0).sum())} are blue (positive {what}) and "
            f"{int((drawn < 0).sum())} red (negative), thicker for larger ones.")
    return fig, alt[0].upper() + alt[1:]


# ---------------------------------------------------------------------------- computational graph
def draw_computational_graph(model, x, target, loss_fn, *, decimals=4, ax=None):
    """The computational graph of a chain of scalar layers, with the forward values and the gradients.

    model: an ``nn.Sequential`` of ``nn.Linear(1, 1)`` and activation layers (one unit wide), such as
    chapter 6's x → z₁ = w₁x + b₁ → a₁ = σ(z₁) → ŷ = w₂a₁ + b₂. x, target: numbers. loss_fn: an
    ``introdl.nn`` loss, e.g. ``nn.MSELoss()``. Runs one forward and one backward pass, layer by
    layer (the model's gradients are zeroed first and hold ∂J/∂w afterwards). The graph runs top to
    bottom, the parameters on the left; every node's value and its gradient ∂J/∂· stand in two
    columns on its row, rounded to ``decimals``.
    Returns (figure, alt text). Raises ValueError for a layer wider than one unit or a Dropout.
    """
    layers = _layers(model)
    if any(layer["linear"].in_features != 1 or layer["linear"].out_features != 1 for layer in layers):
        raise ValueError("draw_computational_graph draws a chain of nn.Linear(1, 1) layers and activations")
    if any(layer["dropout"] is not None for layer in layers):
        raise ValueError("draw_computational_graph draws no Dropout: its value would be random")
    modules = list(model)
    model.zero_grad()
    values = [np.array([[float(x)]])]
    for module in modules:  # forward, one layer at a time
        values.append(module(values[-1]))
    loss = loss_fn(values[-1], np.array([[float(target)]]))
    grads = [loss_fn.backward()]
    for module in reversed(modules):  # backward: grads[i] is ∂J/∂(the input of module i)
        grads.insert(0, module.backward(grads[0]))

    # The rows, top to bottom: (name, column 0 for parameters or 1 for the chain, value, gradient or None,
    # the label of the arrow into it).
    rows, k = [("x", 1, float(x), None, "")], 0
    for i, module in enumerate(modules):
        last = i == len(modules) - 1
        if isinstance(module, nn.Linear):
            k += 1
            for symbol, parameter in ((f"w_{k}", module.weight), (f"b_{k}", module.bias)):
                rows.append((symbol, 0, parameter.data.item(), parameter.grad.item(), ""))
            name, label = (r"\hat y" if last else f"z_{k}"), ""
        else:
            name = r"\hat y" if last else f"a_{k}"
            label = "σ" if isinstance(module, nn.Sigmoid) else type(module).__name__.lower()
        rows.append((name, 1, values[i + 1].item(), grads[i + 1].item(), label))
    rows.append(("y", 0, float(target), None, ""))
    rows.append(("J", 1, loss, 1.0, "loss"))

    gap, radius, d = 0.62, 0.25, decimals
    ys, y = [], 0.0
    for r, row in enumerate(rows):  # one row each; a chain node right under another gets room for its arrow
        ys.append(y)
        y -= gap * (2 if r + 1 < len(rows) and row[1] == 1 and rows[r + 1][1] == 1 else 1)
    fig, ax = _new_axes(ax, (4.8, 0.9 - 0.8 * ys[-1]))
    column_x, value_x, grad_x = (0.3, 1.4), 3.2, 4.6
    previous_chain, waiting = None, []  # the chain node above; parameters waiting for their node
    for (name, column, value, grad, label), y in zip(rows, ys):
        xy = (column_x[column], y)
        _node(ax, xy, f"${name}$", radius=radius, fontsize=_FONT)
        ax.text(value_x, y, _number(value, d), ha="right", va="center", fontsize=_FONT)
        if grad is not None:
            ax.text(grad_x, y, _number(grad, d), ha="right", va="center", fontsize=_FONT, color=NEGATIVE)
        if column == 0:
            waiting.append(xy)
            continue
        arrow = dict(arrowstyle="-|>", color="black", shrinkA=0, shrinkB=0)
        if previous_chain is not None:
            ax.annotate("", xy=(xy[0], y + radius), xytext=(xy[0], previous_chain[1] - radius), arrowprops=arrow)
            if label:
                ax.text(xy[0] + 0.1, (y + previous_chain[1]) / 2, label, ha="left", va="center", fontsize=_FONT)
        for source in waiting:
            ax.annotate("", xy=xy, xytext=source, arrowprops=dict(arrowstyle="-|>", color="0.45", lw=0.9,
                                                                  shrinkA=radius * 72 * 0.9, shrinkB=radius * 72 * 0.9))
        previous_chain, waiting = xy, []
    top = gap * 0.9
    ax.text(value_x, top, "value", ha="right", va="center", fontsize=_FONT, fontweight="bold")
    ax.text(grad_x, top, "∂J/∂·", ha="right", va="center", fontsize=_FONT, fontweight="bold", color=NEGATIVE)
    ax.set_xlim(-0.1, grad_x + 0.1)
    ax.set_ylim(ys[-1] - 0.45, top + 0.3)
    ax.set_aspect("equal")

    def spoken(name):
        return name.replace("\\hat y", "y-hat").replace("_", "")

    described = ", ".join(f"{spoken(name)} = {value:.{d}f}" + ("" if grad is None else f" (gradient {grad:.{d}f})")
                          for name, _, value, grad, _ in rows)
    alt = (f"The computational graph of the chain, from the input x at the top to the loss J at the bottom, "
           f"the parameters on the left with arrows into the node they feed; beside each node its forward value "
           f"and, in red, the gradient of J with respect to it: {described}.")
    return fig, alt


# ---------------------------------------------------------------------------- data parallelism
def draw_data_parallel(replicas, batch_size):
    """Data-parallel SGD: one mini-batch cut into K shards, K workers, and their ring all-reduce.

    replicas: the list that ``introdl.distributed.data_parallel_sgd`` returns, one ``Replica`` per
    worker (K = its length; P, the number of gradient numbers, is read from its weights).
    batch_size: B, the mini-batch that is cut into K shards of B/K examples.
    Top: the batch, its shards and the workers, each labelled with the length of its first shard
    gradient ‖g_r‖ and of the all-reduced mean ‖ḡ‖. Below: the ring: in K − 1 reduce-scatter steps
    and K − 1 all-gather steps each worker passes one chunk of P/K numbers to its right-hand
    neighbour, 2(K − 1)/K · P numbers in all. Returns (figure, alt text).
    Raises ValueError if B is not divisible by K (the library refuses unequal shards too).
    """
    K = len(replicas)
    if K < 1:
        raise ValueError("draw_data_parallel needs at least one replica")
    if batch_size % K:
        raise ValueError(f"a batch of {batch_size} cannot be cut into {K} equal shards")
    P = sum(np.size(w) for w in replicas[0].weights)
    shard = batch_size // K
    sent = 2 * (K - 1) * P / K
    colours = plt.get_cmap("tab10")(np.arange(K) % 10)
    # Top: the batch, its shards and the workers; bottom: the ring. One column, to stay legible on a phone.
    fig, (left, right) = plt.subplots(2, 1, figsize=(4.4, 6.4), gridspec_kw={"height_ratios": [1, 1]})
    for ax in (left, right):
        ax.set_axis_off()
        ax.set_aspect("equal")

    # the batch and its shards, top; the workers below
    width = 4.0
    for r in range(K):
        x0 = r * width / K
        left.add_patch(plt.Rectangle((x0, 2.4), width / K, 0.5, facecolor=colours[r], alpha=0.45, edgecolor="black"))
        left.text(x0 + width / K / 2, 2.65, f"{shard}", ha="center", va="center", fontsize=_FONT)
        worker_x = (r + 0.5) * width / K
        left.annotate("", xy=(worker_x, 1.45), xytext=(worker_x, 2.35), arrowprops=dict(arrowstyle="-|>"))
        left.add_patch(plt.Rectangle((worker_x - 0.8 * width / K / 2, 0.2), 0.8 * width / K, 1.2,
                                     facecolor="white", edgecolor=colours[r], linewidth=2))
        g_r = np.sqrt(sum(np.sum(g ** 2) for g in replicas[r].shard_gradients[0])) if replicas[r].shard_gradients else None
        label = f"worker\n{r}" + ("" if g_r is None else f"\n‖$g_{r}$‖\n{g_r:.2f}")
        left.text(worker_x, 0.8, label, ha="center", va="center", fontsize=_FONT - 1)
    left.text(width / 2, 3.0, f"one mini-batch, B = {batch_size}", ha="center", va="bottom", fontsize=_FONT)
    mean = replicas[0].gradients[0] if replicas[0].gradients else None
    below = "all-reduce: every worker gets the mean ḡ"
    if mean is not None:
        below += f",\n‖ḡ‖ = {np.sqrt(sum(np.sum(g ** 2) for g in mean)):.2f}: the same step everywhere"
    left.text(width / 2, 0.05, below, ha="center", va="top", fontsize=_FONT - 1)
    left.set_xlim(-0.1, width + 0.1)
    left.set_ylim(-0.9, 3.5)

    # the ring
    angles = np.pi / 2 - 2 * np.pi * np.arange(K) / K
    centres = np.column_stack([np.cos(angles), np.sin(angles)]) * (1.0 if K > 1 else 0.0)
    for r in range(K):
        right.add_patch(plt.Circle(centres[r], 0.3, facecolor="white", edgecolor=colours[r], linewidth=2, zorder=3))
        right.text(*centres[r], f"{r}", ha="center", va="center", fontsize=_FONT + 1, zorder=4)
        if K > 1:
            start, end = centres[r], centres[(r + 1) % K]
            bend = 0.35 if K == 2 else 0.2
            right.annotate("", xy=end, xytext=start, zorder=2,
                           arrowprops=dict(arrowstyle="-|>", color="black", shrinkA=14, shrinkB=14,
                                           connectionstyle=f"arc3,rad={-bend}"))
    right.set_title(f"the ring, K = {K}", fontsize=_FONT)
    right.text(0, -1.45, f"2(K−1) = {2 * (K - 1)} steps; in each, every worker\npasses one chunk of P/K = {P / K:g} "
               f"numbers\nto its neighbour: {sent:g} sent per worker (P = {P})", ha="center", va="top",
               fontsize=_FONT - 1)
    right.set_xlim(-2.1, 2.1)
    right.set_ylim(-2.5, 1.4)
    fig.tight_layout()
    alt = (f"Data-parallel SGD with K = {K} workers: a mini-batch of {batch_size} examples is cut into {K} shards of "
           f"{shard}, each worker computes the gradient of its shard on its own replica of the model, and an "
           f"all-reduce gives every worker the mean; below, the {K} workers sit in a ring, each passing "
           f"one chunk of P/K = {P / K:g} of the P = {P} gradient numbers to its neighbour in each of "
           f"2(K − 1) = {2 * (K - 1)} steps, {sent:g} numbers sent per worker.")
    if all(replica.shard_gradients for replica in replicas) and mean is not None:
        lengths = [np.sqrt(sum(np.sum(g ** 2) for g in replica.shard_gradients[0])) for replica in replicas]
        alt += (f" At the first step the shard gradients have lengths {', '.join(f'{n:.2f}' for n in lengths)}"
                f" and their mean {np.sqrt(sum(np.sum(g ** 2) for g in mean)):.2f}.")
    return fig, alt


# ---------------------------------------------------------------------------- the loss landscape
def filter_normalized_direction(model, rng):
    """A random direction in weight space, scaled filter by filter like the weights (Li et al. 2018).

    One Gaussian array per parameter of ``model``; for a weight matrix of shape (out, in), each row
    (the weights into one unit, a "filter") is rescaled to the norm of the same row of the weight.
    Biases get 0, as in Li et al.'s code. Returns a list of arrays in ``model.parameters()`` order.
    Source: H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, "Visualizing the Loss Landscape of
    Neural Nets", NeurIPS 2018, section 4.
    """
    direction = []
    for parameter in model.parameters():
        w = parameter.data
        if w.ndim < 2:
            direction.append(np.zeros_like(w))
            continue
        d = rng.standard_normal(w.shape)
        d *= np.linalg.norm(w, axis=1, keepdims=True) / np.linalg.norm(d, axis=1, keepdims=True)
        direction.append(d)
    return direction


def loss_landscape(model, loss_fn, X, y, *, rng, steps=21, span=1.0):
    """The loss around the model's weights θ along two filter-normalized random directions δ, η.

    Returns (alphas, losses): alphas (steps,) from −span to span, and losses (steps, steps) with
    losses[i, j] = loss_fn(model(X), y) at θ + alphas[j] δ + alphas[i] η, computed with the
    library's forward pass on a copy of the model in evaluation mode (the model is not changed).
    rng: a numpy Generator for the two directions.
    """
    probe = copy.deepcopy(model)
    probe.eval()
    theta = [p.data.copy() for p in probe.parameters()]
    delta = filter_normalized_direction(probe, rng)
    eta = filter_normalized_direction(probe, rng)
    alphas = np.linspace(-span, span, steps)
    losses = np.empty((steps, steps))
    for i, b in enumerate(alphas):
        for j, a in enumerate(alphas):
            for p, t, d, e in zip(probe.parameters(), theta, delta, eta):
                p.data[...] = t + a * d + b * e
            losses[i, j] = loss_fn(probe(X), y)
    return alphas, losses


def plot_loss_landscape(model, loss_fn, X, y, *, rng, steps=21, span=1.0, title=None):
    """Contours of :func:`loss_landscape` (log scale) with the trained weights at the centre.

    Returns (figure, alt text); the figure's axes hold the grid in their ``landscape`` attribute
    as (alphas, losses) so that a chapter can check what it shows.
    """
    alphas, losses = loss_landscape(model, loss_fn, X, y, rng=rng, steps=steps, span=span)
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    levels = np.geomspace(losses.min(), losses.max(), 16)
    filled = ax.contourf(alphas, alphas, losses, levels=levels, cmap="viridis",
                         norm=plt.matplotlib.colors.LogNorm(losses.min(), losses.max()))
    ax.contour(alphas, alphas, losses, levels=levels, colors="white", linewidths=0.5)
    centre = steps // 2
    ax.plot(0, 0, marker="*", color="white", markeredgecolor="black", markersize=14, linestyle="none",
            label=f"trained weights, loss {losses[centre, centre]:.3f}")
    colorbar = fig.colorbar(filled, ax=ax, format="%.2g")
    colorbar.set_label("loss (log scale)")
    ax.set_xlabel(r"$\alpha$ along direction $\delta$")
    ax.set_ylabel(r"$\beta$ along direction $\eta$")
    ax.legend(loc="upper right", fontsize=_FONT - 1)
    if title:
        ax.set_title(title, fontsize=_FONT + 1)
    ax.landscape = (alphas, losses)
    fig.tight_layout()
    alt = (f"Contour map of the loss around the trained weights along two random filter-normalized directions, "
           f"{steps} by {steps} points from {-span:g} to {span:g}; the loss is {losses[centre, centre]:.3f} at the "
           f"centre, where the trained weights are, and {losses.max():.3g} at the highest point of the map.")
    return fig, alt
