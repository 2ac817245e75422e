"""How long each diagram of ``introdl.plots`` takes: drawing plus encoding the PNG the notebook stores.

Each picture is drawn from a model of the size its chapter uses and saved as a PNG at 100 dpi with a
tight bounding box, as the inline backend of Jupyter does. We report the median and the slowest of
a few runs, and the size of the PNG, with one BLAS thread as the chapters use. The wish is under half a second per picture; the loss landscape
also runs 441 forward passes of chapter 12's network (21 × 21 grid, 256 images), which dominate it.

Run: ``python benchmarks/plot_speed.py`` (from the repository root).
"""
import io
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from introdl import nn, plots  # noqa: E402
from introdl.distributed import Replica  # noqa: E402


def pictures():
    """(name, function drawing the picture and returning (figure, alt)), chapter by chapter."""
    rng = np.random.default_rng(0)
    hidden = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.ReLU(), nn.Linear(3, 1, rng=rng), nn.Sigmoid())
    deep = nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 16, rng=rng), nn.Tanh(),
                         nn.Linear(16, 1, rng=rng))
    dropout = nn.Sequential(nn.Linear(64, 128, rng=rng), nn.ReLU(), nn.Dropout(0.5, rng=rng),
                            nn.Linear(128, 128, rng=rng), nn.ReLU(), nn.Dropout(0.5, rng=rng), nn.Linear(128, 10, rng=rng))
    chain = nn.Sequential(nn.Linear(1, 1, rng=rng), nn.Sigmoid(), nn.Linear(1, 1, rng=rng))
    shapes = [(16, 2), (16,), (2, 16), (2,)]
    replicas = [Replica(r, [[rng.normal(size=s) for s in shapes]], [[np.ones(s) for s in shapes]],
                        [np.ones(s) for s in shapes]) for r in range(2)]
    digits = nn.Sequential(nn.Linear(64, 128, rng=rng), nn.ReLU(), nn.Dropout(0.2, rng=rng),
                           nn.Linear(128, 64, rng=rng), nn.ReLU(), nn.Dropout(0.2, rng=rng), nn.Linear(64, 10, rng=rng))
    X, y = rng.uniform(size=(256, 64)), rng.integers(0, 10, 256)
    return [
        ("ch01 perceptron", lambda: plots.draw_perceptron([3.0, -2.0], 1.0, x=[-1.0, 2.0])),
        ("ch03 simplified perceptron", lambda: plots.draw_perceptron([0.5, -0.8], simplified=True)),
        ("ch03 dense layer 2 → 3", lambda: plots.draw_network(hidden[0], x=[4.0, 5.0])),
        ("ch03 one hidden layer 2 → 3 → 1", lambda: plots.draw_network(hidden, x=[4.0, 5.0])),
        ("ch03 deep 2 → 16 → 16 → 1", lambda: plots.draw_network(deep)),
        ("ch06 computational graph", lambda: plots.draw_computational_graph(chain, 1.5, 1.0, nn.MSELoss())),
        ("ch09 data parallel, K = 2", lambda: plots.draw_data_parallel(replicas, 64)),
        ("ch11 dropout, 10 units a layer", lambda: plots.draw_network(dropout, x=X[0], max_units=10, decimals=1)),
        ("ch12 loss landscape 21 × 21", lambda: plots.plot_loss_landscape(
            digits, nn.CrossEntropyLoss(), X, y, rng=np.random.default_rng(1), steps=21)),
    ]


def measure(draw, repeats):
    times, size = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        fig, _ = draw()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        times.append(time.perf_counter() - start)
        size = buffer.tell()
        plt.close(fig)
    return statistics.median(times), max(times), size


def main(repeats=5):
    threadpool_limits(limits=1)  # one BLAS thread, as the chapters run (chapter 12's setup cell)
    print(f"| picture | median (s) | slowest (s) | PNG (kB) |\n| --- | ---: | ---: | ---: |")
    for name, draw in pictures():
        median, slowest, size = measure(draw, repeats if "landscape" not in name else 3)
        print(f"| {name} | {median:.3f} | {slowest:.3f} | {size / 1000:.0f} |")


if __name__ == "__main__":
    main()
