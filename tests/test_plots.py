"""The diagrams of introdl.plots show the objects they are given: their units, weights, values,
gradients and dropout masks, and say so in their alt text."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from introdl import nn, plots  # noqa: E402
from introdl.distributed import Replica  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _nodes(fig):
    return [p for p in fig.findobj(matplotlib.patches.Circle) if p.get_gid() == "node"]


def _edges(fig):
    return [line for line in fig.findobj(matplotlib.lines.Line2D) if line.get_gid() == "edge"]


def _small_network(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 4, rng=rng), nn.Tanh(), nn.Linear(4, 1, rng=rng), nn.Sigmoid())


@pytest.mark.parametrize("sizes", [(2, 4, 1), (3, 5, 5, 2), (4, 1)])
def test_a_network_has_one_node_per_unit_and_one_edge_per_weight(sizes):
    rng = np.random.default_rng(1)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, rng=rng), nn.ReLU()]
    fig, _ = plots.draw_network(nn.Sequential(*layers))
    assert len(_nodes(fig)) == sum(sizes)
    assert len(_edges(fig)) == sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def test_max_units_draws_the_first_units_and_counts_the_rest():
    model = nn.Sequential(nn.Linear(20, 30, rng=np.random.default_rng(0)))
    fig, alt = plots.draw_network(model, max_units=6)
    assert len(_nodes(fig)) == 12 and len(_edges(fig)) == 36
    assert "+14 more" in plots.figure_texts(fig) and "+24 more" in plots.figure_texts(fig)
    assert "first 6 units" in alt


def test_an_edge_is_coloured_by_the_sign_of_its_weight_and_as_wide_as_its_size():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    layer.weight.data[...] = [[1.0, -0.5, 2.0], [-2.0, 0.25, -1.0]]
    fig, _ = plots.draw_network(layer)
    edges = _edges(fig)
    weights = layer.weight.data.ravel()  # edges are drawn output by output, input by input
    colours = [to_rgba(plots.POSITIVE if w > 0 else plots.NEGATIVE) for w in weights]
    assert [to_rgba(e.get_color()) for e in edges] == colours
    widths = np.array([e.get_linewidth() for e in edges])
    assert np.array_equal(np.argsort(widths, kind="stable"), np.argsort(np.abs(weights), kind="stable"))


def test_gradient_edges_follow_the_sign_of_the_gradient_of_a_backward_pass():
    model = _small_network()
    with pytest.raises(RuntimeError, match="backward"):
        plots.draw_network(model, edges="grad")
    loss_fn = nn.BCELoss()
    loss_fn(model(np.array([[0.5, -1.0]])), np.array([[1.0]]))
    model.backward(loss_fn.backward())
    fig, alt = plots.draw_network(model, edges="grad")
    grads = np.concatenate([model[0].weight.grad.ravel(), model[2].weight.grad.ravel()])
    colours = [to_rgba(plots.POSITIVE if g >= 0 else plots.NEGATIVE) for g in grads]
    assert [to_rgba(e.get_color()) for e in _edges(fig)] == colours
    assert f"{int((grads >= 0).sum())} are blue (positive gradient)" in alt


def test_node_labels_carry_the_forward_values_of_the_model():
    model = _small_network()
    x = np.array([0.3, -1.2])
    hidden = np.tanh(model[0](x[None, :]))[0]
    output = model(x[None, :])[0]
    fig, _ = plots.draw_network(model, x=x, decimals=3)
    texts = plots.figure_texts(fig)
    for value in list(x) + list(hidden) + list(output):
        assert f"{value:.3f}" in texts


def test_the_perceptron_shows_its_weights_bias_and_output():
    fig, alt = plots.draw_perceptron([3.0, -2.0], 1.0, x=[-1.0, 2.0], digits=4)
    texts = plots.figure_texts(fig)
    assert "$w_1$ = 3" in texts and "$w_2$ = -2" in texts and "$w_0$ = 1" in texts
    assert "-1" in texts and "2" in texts and "z = -6" in texts
    assert f"{1 / (1 + np.exp(6.0)):.4g}" == "0.002473" and "0.002473" in texts
    assert len(_nodes(fig)) == 5 and len(_edges(fig)) == 3  # x1, x2, 1, the sum, y-hat; w1, w2, w0
    assert alt.startswith("A perceptron with 2 inputs") and "sigmoid" in alt


def test_the_simplified_perceptron_has_no_bias_and_reads_an_nn_linear():
    layer = nn.Linear(3, 1, rng=np.random.default_rng(0))
    fig, alt = plots.draw_perceptron(layer, simplified=True)
    assert len(_nodes(fig)) == 4 and len(_edges(fig)) == 3
    assert "without the bias" in alt
    with pytest.raises(ValueError, match="one output"):
        plots.draw_perceptron(nn.Linear(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="bias"):
        plots.draw_perceptron([1.0, 2.0])


def test_alt_text_names_the_layer_sizes_and_activations():
    model = _small_network()
    _, alt = plots.draw_network(model)
    assert alt.startswith("A network with 2 inputs, one hidden layer of 4 tanh units and 1 sigmoid output")
    weights = np.concatenate([model[0].weight.data.ravel(), model[2].weight.data.ravel()])
    assert f"of the 12 edges drawn, {(weights >= 0).sum()} are blue (positive weight) and {(weights < 0).sum()} red" in alt
    _, alt = plots.draw_network(nn.Linear(3, 2, rng=np.random.default_rng(0)), x=[1.0, 2.0, 3.0])
    assert alt.startswith("A dense layer with 3 inputs and 2 outputs") and "inputs 1.00 2.00 3.00" in alt


def test_the_crossed_out_units_are_the_mask_the_dropout_module_drew():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 12, rng=rng), nn.ReLU(), nn.Dropout(0.5, rng=np.random.default_rng(7)),
                          nn.Linear(12, 2, rng=rng))
    expected_kept = np.random.default_rng(7).random((1, 12))[0] >= 0.5  # the first draw of that generator
    fig, alt = plots.draw_network(model, x=[1.0, 2.0, 3.0])
    hidden = _nodes(fig)[3:15]
    crossed = np.array([to_rgba(n.get_facecolor()) == to_rgba("0.9") for n in hidden])
    assert np.array_equal(crossed, ~expected_kept) and crossed.any() and not crossed.all()
    assert f"dropped {int((~expected_kept).sum())} of the 12" in alt
    muted = [e.get_linestyle() != "-" for e in _edges(fig)[36:]]  # the edges out of the hidden units
    assert muted == [not k for k in expected_kept] * 2
    model.eval()
    fig, alt = plots.draw_network(model, x=[1.0, 2.0, 3.0])
    assert "dropout" not in alt and all(to_rgba(n.get_facecolor()) != to_rgba("0.9") for n in _nodes(fig))


def test_a_drawing_is_deterministic():
    def png():
        fig, alt = plots.draw_network(_small_network(), x=[0.1, 0.2])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        return buffer.getvalue(), alt

    assert png() == png()


def test_the_computational_graph_shows_autograds_values_and_gradients():
    x, y, w1, b1, w2, b2 = 1.5, 1.0, 0.8, -0.4, 0.5, 0.3
    model = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid(), nn.Linear(1, 1))
    for parameter, value in zip(model.parameters(), (w1, b1, w2, b2)):
        parameter.data[...] = value
    fig, alt = plots.draw_computational_graph(model, x, y, nn.MSELoss())

    t = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (w1, b1, w2, b2)]
    z1 = t[0] * x + t[1]
    a1 = torch.sigmoid(z1)
    y_hat = t[2] * a1 + t[3]
    for node in (z1, a1, y_hat):
        node.retain_grad()
    loss = (y_hat - y) ** 2
    loss.backward()
    texts = plots.figure_texts(fig)
    expected = [z1, a1, y_hat, loss] + [z1.grad, a1.grad, y_hat.grad] + [p.grad for p in t] + t
    for number in expected:
        assert f"{number.item():.4f}" in texts, number
    assert "y-hat" in alt and f"{loss.item():.4f}" in alt
    with pytest.raises(ValueError, match="Linear\\(1, 1\\)"):
        plots.draw_computational_graph(_small_network(), 1.0, 1.0, nn.MSELoss())


def _replicas(K, rng):
    shapes = [(4, 2), (4,), (1, 4), (1,)]
    return [Replica(r, [[rng.normal(size=s) for s in shapes]], [[np.ones(s) for s in shapes]],
                    [np.ones(s) for s in shapes]) for r in range(K)]


def test_data_parallel_reads_k_and_p_from_the_replicas():
    replicas = _replicas(4, np.random.default_rng(0))
    fig, alt = plots.draw_data_parallel(replicas, batch_size=32)
    texts = " ".join(plots.figure_texts(fig))
    assert "K = 4" in texts and "P = 17" in texts and texts.count("8") >= 4  # four shards of 8
    norm = np.sqrt(sum(np.sum(g ** 2) for g in replicas[2].shard_gradients[0]))
    assert f"{norm:.2f}" in texts
    assert "K = 4 workers" in alt and "4 shards of 8" in alt and f"{2 * 3 / 4 * 17:g} numbers sent" in alt
    with pytest.raises(ValueError, match="equal shards"):
        plots.draw_data_parallel(replicas, batch_size=30)


def test_filter_normalized_directions_have_the_norms_of_the_weights():
    model = _small_network()
    direction = plots.filter_normalized_direction(model, np.random.default_rng(0))
    for parameter, d in zip(model.parameters(), direction):
        assert d.shape == parameter.data.shape
        if parameter.data.ndim == 1:
            assert not d.any()  # biases are not moved (Li et al.)
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(parameter.data, axis=1))


def test_the_loss_landscape_is_the_models_loss_at_its_centre_and_leaves_the_model_alone():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Dropout(0.5, rng=rng), nn.Linear(5, 2, rng=rng))
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    before = [p.data.copy() for p in model.parameters()]
    alphas, losses = plots.loss_landscape(model, nn.CrossEntropyLoss(), X, y, rng=np.random.default_rng(1), steps=5)
    assert losses.shape == (5, 5) and alphas[2] == 0.0
    model.eval()
    assert losses[2, 2] == pytest.approx(nn.CrossEntropyLoss()(model(X), y), rel=1e-12)
    assert model.training is False and all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))
    fig, alt = plots.plot_loss_landscape(model, nn.CrossEntropyLoss(), X, y, rng=np.random.default_rng(1), steps=5)
    assert np.array_equal(fig.axes[0].landscape[1], losses)  # the same directions from the same seed
    assert "5 by 5" in alt and f"{losses[2, 2]:.3f}" in alt


def test_bad_input_gets_a_clear_error():
    with pytest.raises(TypeError, match="nn.Linear or an nn.Sequential"):
        plots.draw_network(nn.ReLU())
    with pytest.raises(ValueError, match="one example of shape \\(2,\\)"):
        plots.draw_network(_small_network(), x=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="start with an nn.Linear"):
        plots.draw_network(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    with pytest.raises(ValueError, match="edges must be"):
        plots.draw_network(_small_network(), edges="bias")


def test_every_chapter_picture_gives_the_website_its_alt_text():
    """A cell that draws with introdl.plots carries the drawing's alt text in its metadata, where
    myst-nb reads it ({"mystnb": {"image": {"alt": ...}}}); the text is the one the drawing wrote."""
    import json
    from pathlib import Path

    openings = ("A perceptron with", "A dense layer with", "A network with", "The computational graph",
                "Data-parallel SGD", "Contour map of the loss")
    drawing_cells = 0
    for path in sorted((Path(__file__).parents[1] / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not any(f"plots.{name}(" in source for name in (
                    "draw_perceptron", "draw_network", "draw_computational_graph", "draw_data_parallel",
                    "plot_loss_landscape")):
                continue
            drawing_cells += 1
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert alt.startswith(openings), f"{path.name}, cell {cell['id']}: no alt text from the drawing"
            assert "plt.show()" in source, f"{path.name}, cell {cell['id']}: end the cell with plt.show()"
    assert drawing_cells >= 9


def test_the_perceptron_refuses_an_activation_it_does_not_know():
    with pytest.raises(ValueError, match="activation must be one of"):
        plots.draw_perceptron([1.0, 2.0], 0.5, activation="softplus")
