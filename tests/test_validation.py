"""Bad input gets an error that names what was expected and what came, and the error loses nothing.

Where torch would propagate a NaN or broadcast mismatched shapes, introdl refuses with a message:
that is a deliberate difference, since the book's readers should see the mistake where it happens.
"""
import re

import numpy as np
import pytest
import torch

from introdl import functional as F
from introdl import nn, torch_twin


def rng(seed=0):
    return np.random.default_rng(seed)


def good_batch(shape=(4, 3), seed=1):
    return rng(seed).normal(size=shape)


# Every module, built fresh, with the input shape it takes; activations and dropout take any shape.
MODULES = {
    "Linear": lambda: nn.Linear(3, 2, rng=rng()),
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "Dropout": lambda: nn.Dropout(0.5, rng=rng()),
    "Sequential": lambda: nn.Sequential(nn.Linear(3, 4, rng=rng()), nn.ReLU(), nn.Linear(4, 2, rng=rng(1))),
}
INPUT_NAMES = {"Sequential": "input to Linear"}  # the layer that sees the input reports the problem


def input_name(module_name):
    return INPUT_NAMES.get(module_name, f"input to {module_name}")


# ---------------------------------------------------------------- shapes
def test_linear_with_the_wrong_number_of_features_names_both():
    with pytest.raises(ValueError, match=r"Linear\(3, 2\) expects input of shape \(N, 3\), got \(4, 5\)"):
        nn.Linear(3, 2, rng=rng())(np.ones((4, 5)))


@pytest.mark.parametrize("shape", [(3,), (2, 4, 3)])
def test_linear_wants_a_2d_batch(shape):
    expected = rf"input to Linear must be 2-D, got {len(shape)}-D with shape {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=expected):
        nn.Linear(3, 2, rng=rng())(np.ones(shape))


def test_a_sequential_reports_the_layer_whose_shape_does_not_fit():
    model = nn.Sequential(nn.Linear(3, 4, rng=rng()), nn.ReLU(), nn.Linear(5, 2, rng=rng()))
    with pytest.raises(ValueError, match=r"Linear\(5, 2\) expects input of shape \(N, 5\), got \(6, 4\)"):
        model(np.ones((6, 3)))


@pytest.mark.parametrize(
    "loss_fn, names",
    [(nn.MSELoss(), "prediction and target"), (nn.BCELoss(), "probability and target"),
     (nn.BCEWithLogitsLoss(), "logits and target")],
)
@pytest.mark.parametrize("target_shape", [(4,), (4, 2), (1, 4)])
def test_losses_refuse_prediction_and_target_of_different_shapes(loss_fn, names, target_shape):
    """No silent broadcasting: an (N, 1) prediction against an (N,) target is an error, not an (N, N) loss."""
    prediction, target = np.full((4, 1), 0.5), np.full(target_shape, 0.5)
    expected = rf"{names} must have the same shape, got \(4, 1\) and {re.escape(str(target_shape))}"
    with pytest.raises(ValueError, match=expected):
        loss_fn(prediction, target)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_cross_entropy_wants_2d_logits(shape):
    with pytest.raises(ValueError, match=rf"logits must be 2-D, got {len(shape)}-D with shape {re.escape(str(shape))}"):
        nn.CrossEntropyLoss()(np.zeros(shape), np.zeros(shape[0], dtype=int))


@pytest.mark.parametrize("labels_shape", [(3,), (5,), (4, 1)])
def test_cross_entropy_wants_one_label_per_row(labels_shape):
    expected = rf"labels must have shape \(N,\) = \(4,\) to match logits \(4, 3\), got {re.escape(str(labels_shape))}"
    with pytest.raises(ValueError, match=expected):
        nn.CrossEntropyLoss()(np.zeros((4, 3)), np.zeros(labels_shape, dtype=int))


@pytest.mark.parametrize("name", MODULES)
def test_backward_with_a_grad_output_of_the_wrong_shape(name):
    module = MODULES[name]()
    out = module(good_batch())
    wrong = np.ones((out.shape[0], out.shape[1] + 1))
    with pytest.raises(ValueError, match=r"grad_output must have .*shape.* got \(4, [0-9]+\)"):
        module.backward(wrong)


# ---------------------------------------------------------------- non-finite values
NON_FINITE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("name", MODULES)
def test_modules_refuse_non_finite_input(name, bad):
    x = good_batch()
    x[1, 2] = bad
    with pytest.raises(ValueError, match=rf"{input_name(name)} must be finite, got 1 NaN or infinite value\(s\)"):
        MODULES[name]()(x)


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("name", MODULES)
def test_backward_refuses_a_non_finite_grad_output(name, bad):
    module = MODULES[name]()
    grad_output = np.ones_like(module(good_batch()))
    grad_output[0, 0] = bad
    with pytest.raises(ValueError, match=r"grad_output must be finite"):
        module.backward(grad_output)


LOSS_INPUTS = {
    # name: (loss, good prediction, good target, prediction's name in messages)
    "MSELoss": (nn.MSELoss, np.full((4, 2), 0.3), np.full((4, 2), 0.6), "prediction"),
    "BCELoss": (nn.BCELoss, np.full((4, 2), 0.3), np.full((4, 2), 1.0), "probability"),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, np.full((4, 2), 0.3), np.full((4, 2), 1.0), "logits"),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, np.full((4, 3), 0.3), np.array([0, 2, 1, 0]), "logits"),
}


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("name", LOSS_INPUTS)
def test_losses_refuse_a_non_finite_prediction(name, bad):
    loss_cls, prediction, target, prediction_name = LOSS_INPUTS[name]
    prediction = prediction.copy()
    prediction[2, 1] = bad
    with pytest.raises(ValueError, match=rf"{prediction_name} must be finite, got 1 NaN or infinite"):
        loss_cls()(prediction, target)


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("name", ["MSELoss", "BCELoss", "BCEWithLogitsLoss"])
def test_losses_refuse_a_non_finite_target(name, bad):
    loss_cls, prediction, target, _ = LOSS_INPUTS[name]
    target = target.copy()
    target[0, 0] = bad
    with pytest.raises(ValueError, match=r"target must be finite, got 1 NaN or infinite"):
        loss_cls()(prediction, target)


@pytest.mark.parametrize("function", [F.sigmoid, F.tanh, F.relu, F.softmax, F.log_softmax])
def test_functional_activations_refuse_nan(function):
    with pytest.raises(ValueError, match=r"z must be finite, got 2 NaN or infinite value\(s\)"):
        function(np.array([[0.0, np.nan, np.inf]]))


# ---------------------------------------------------------------- labels and probabilities
@pytest.mark.parametrize("labels, low, high", [([0, 3, 1, 2], 0, 3), ([0, -1, 1, 2], -1, 2)])
def test_cross_entropy_refuses_labels_out_of_range(labels, low, high):
    expected = rf"labels must be in \[0, 2\] for logits with C = 3 classes, got values from {low} to {high}"
    with pytest.raises(ValueError, match=expected):
        nn.CrossEntropyLoss()(np.zeros((4, 3)), np.array(labels))


@pytest.mark.parametrize(
    "labels, dtype",
    [(np.array([0.0, 1.0, 2.0, 1.0]), "float64"), (np.array([True, False, True, True]), "bool"),
     (np.eye(3)[[0, 1, 2, 1]], "float64")],
    ids=["float", "bool", "one-hot"],
)
def test_cross_entropy_refuses_labels_that_are_not_integers(labels, dtype):
    with pytest.raises(TypeError, match=rf"labels must be integer class indices of shape \(N,\), got dtype {dtype}"):
        nn.CrossEntropyLoss()(np.zeros((4, 3)), labels)


@pytest.mark.parametrize("probabilities, low, high", [([0.2, 1.5], "0.2", "1.5"), ([-0.1, 0.5], "-0.1", "0.5")])
def test_bce_refuses_probabilities_outside_0_1(probabilities, low, high):
    expected = rf"probability \(BCELoss expects sigmoid outputs; use BCEWithLogitsLoss for raw scores\) " \
               rf"must lie in \[0, 1\], got values from {low} to {high}"
    with pytest.raises(ValueError, match=expected):
        nn.BCELoss()(np.array(probabilities), np.array([0.0, 1.0]))


@pytest.mark.parametrize("loss_cls", [nn.BCELoss, nn.BCEWithLogitsLoss])
def test_binary_losses_refuse_targets_outside_0_1(loss_cls):
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\], got values from 0 to 2"):
        loss_cls()(np.array([0.5, 0.5]), np.array([0.0, 2.0]))


# ---------------------------------------------------------------- empty batches
@pytest.mark.parametrize("name", MODULES)
def test_modules_map_an_empty_batch_to_an_empty_output_as_torch_does(name):
    module = MODULES[name]()
    twin = torch_twin.to_torch(module, on_device="cpu")
    expected = twin(torch.zeros((0, 3), dtype=torch.float64))
    out = module(np.zeros((0, 3)))
    assert out.shape == tuple(expected.shape)
    assert module.backward(np.zeros(out.shape)).shape == (0, 3)


@pytest.mark.parametrize("name", LOSS_INPUTS)
def test_losses_refuse_an_empty_batch(name):
    loss_cls, prediction, target, prediction_name = LOSS_INPUTS[name]
    with pytest.raises(ValueError, match=rf"{prediction_name} is empty \(shape \(0, {prediction.shape[1]}\)\)"):
        loss_cls()(prediction[:0], target[:0])


# ---------------------------------------------------------------- constructor arguments
@pytest.mark.parametrize("p, shown", [(1, "1.0"), (1.0, "1.0"), (-0.1, "-0.1"), (1.5, "1.5"), (float("nan"), "nan")])
def test_dropout_rate_must_lie_in_0_1(p, shown):
    with pytest.raises(ValueError, match=re.escape(f"dropout rate p must be in [0, 1), got {shown}")):
        nn.Dropout(p)


@pytest.mark.parametrize("p", ["0.5", None, True])
def test_dropout_rate_must_be_a_number(p):
    with pytest.raises(TypeError, match=r"dropout rate p must be a real number, got"):
        nn.Dropout(p)


@pytest.mark.parametrize("in_features, out_features, name", [(0, 2, "in_features"), (3, 0, "out_features"),
                                                             (-1, 2, "in_features")])
def test_linear_needs_at_least_one_feature_each_way(in_features, out_features, name):
    bad = in_features if name == "in_features" else out_features
    with pytest.raises(ValueError, match=rf"{name} must be an integer >= 1, got {bad}"):
        nn.Linear(in_features, out_features, rng=rng())


@pytest.mark.parametrize("in_features", [2.5, "3", True])
def test_linear_sizes_must_be_integers(in_features):
    with pytest.raises(TypeError, match=r"in_features must be an integer, got"):
        nn.Linear(in_features, 2, rng=rng())


@pytest.mark.parametrize(
    "not_a_module, type_name",
    [(np.tanh, "ufunc"), (nn.MSELoss(), "MSELoss"), ("relu", "str"), (None, "NoneType")],
)
def test_sequential_refuses_what_is_not_a_module(not_a_module, type_name):
    with pytest.raises(TypeError, match=rf"Sequential expects introdl.nn modules, got {type_name} at position 1"):
        nn.Sequential(nn.ReLU(), not_a_module)


@pytest.mark.parametrize("bad_rng", [0, np.random.RandomState(0), "seed"], ids=["int", "RandomState", "str"])
@pytest.mark.parametrize("make", [lambda r: nn.Linear(2, 2, rng=r), lambda r: nn.Dropout(0.5, rng=r)],
                         ids=["Linear", "Dropout"])
def test_rng_must_be_a_generator(make, bad_rng):
    expected = re.escape("rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), got")
    with pytest.raises(TypeError, match=expected):
        make(bad_rng)


@pytest.mark.parametrize(
    "bad, expected",
    [("abc", r"must be an array of numbers, got str"), (None, r"must be an array of numbers, got NoneType"),
     ([[1.0, 2.0], [3.0]], r"must be an array of numbers"), (np.array([1j, 2j]), r"must be real, got dtype complex")],
    ids=["str", "None", "ragged", "complex"],
)
def test_inputs_must_be_real_numbers(bad, expected):
    with pytest.raises(TypeError, match=expected):
        nn.Sigmoid()(bad)


# ---------------------------------------------------------------- backward before forward
@pytest.mark.parametrize("name", MODULES)
def test_backward_before_forward_is_an_error(name):
    with pytest.raises(RuntimeError, match=r"backward needs a forward call before it"):
        MODULES[name]().backward(np.ones((4, 2)))


@pytest.mark.parametrize("name", ["Dropout", "Sigmoid"])
def test_backward_before_forward_is_an_error_in_eval_mode_too(name):
    with pytest.raises(RuntimeError, match=rf"{name}.backward needs a forward call before it"):
        MODULES[name]().eval().backward(np.ones((4, 2)))


@pytest.mark.parametrize("name", LOSS_INPUTS)
def test_loss_backward_before_the_loss_is_an_error(name):
    loss_cls = LOSS_INPUTS[name][0]
    with pytest.raises(RuntimeError, match=rf"{name}.backward called before computing a loss"):
        loss_cls().backward()


# ---------------------------------------------------------------- an error loses nothing
def bad_inputs_for(name):
    """Inputs the module must refuse: non-finite, not numbers, and (where shape matters) the wrong shape."""
    nan_batch = good_batch()
    nan_batch[0, 0] = np.nan
    bad = [nan_batch, "not numbers"]
    if name in ("Linear", "Sequential"):
        bad += [np.ones((4, 5)), np.ones(3)]
    return bad


@pytest.mark.parametrize("name", MODULES)
def test_a_refused_forward_leaves_the_module_as_it_was(name):
    """After a refused call: same parameters, same gradients, and a new pass gives the same numbers."""
    module = MODULES[name]().eval()  # eval: dropout is deterministic, so outputs can be compared
    x = good_batch()
    out = module(x)
    grad_output = rng(2).normal(size=out.shape)
    grad_input = module.backward(grad_output)
    weights = [p.data.copy() for p in module.parameters()]
    grads = [p.grad.copy() for p in module.parameters()]

    for bad in bad_inputs_for(name):
        with pytest.raises((ValueError, TypeError)):
            module(bad)
        for p, w, g in zip(module.parameters(), weights, grads):
            np.testing.assert_array_equal(p.data, w)
            np.testing.assert_array_equal(p.grad, g)

    module.zero_grad()
    np.testing.assert_array_equal(module(x), out)
    np.testing.assert_array_equal(module.backward(grad_output), grad_input)


@pytest.mark.parametrize("name", MODULES)
def test_a_refused_backward_accumulates_nothing(name):
    module = MODULES[name]()
    out = module(good_batch())
    module.backward(np.ones_like(out))
    grads = [p.grad.copy() for p in module.parameters()]
    for bad in (np.ones((out.shape[0], out.shape[1] + 1)), np.full_like(out, np.nan)):
        module(good_batch())
        with pytest.raises(ValueError):
            module.backward(bad)
    for p, g in zip(module.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)


def test_a_training_dropout_keeps_its_mask_after_a_refused_forward():
    dropout = nn.Dropout(0.5, rng=rng(3))
    mask = dropout(np.ones((6, 6)))  # x = 1: the output is the scaled mask itself
    with pytest.raises(ValueError):
        dropout(np.full((6, 6), np.inf))
    np.testing.assert_array_equal(dropout.backward(np.ones((6, 6))), mask)


@pytest.mark.parametrize("name", LOSS_INPUTS)
def test_a_refused_loss_keeps_the_last_good_one_for_backward(name):
    loss_cls, prediction, target, _ = LOSS_INPUTS[name]
    loss_fn = loss_cls()
    value = loss_fn(prediction, target)
    gradient = loss_fn.backward()
    bad_prediction = prediction.copy()
    bad_prediction[0, 0] = np.nan
    for bad in ((bad_prediction, target), (prediction[:, :1], target), (prediction[:0], target[:0])):
        with pytest.raises(ValueError):
            loss_fn(*bad)
    np.testing.assert_array_equal(loss_fn.backward(), gradient)
    assert loss_fn(prediction, target) == value


def test_a_refused_call_does_not_change_the_callers_array():
    x = good_batch()
    x[0, 0] = np.nan
    before = x.copy()
    with pytest.raises(ValueError):
        nn.Linear(3, 2, rng=rng())(x)
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------- the library's words, not NumPy's
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.softmax(np.ones((2, 3)), axis=2), ValueError, r"axis must be in \[-2, 1\] for a 2-D array, got 2"),
    (lambda: F.log_softmax(np.ones((2, 3)), axis="1"), TypeError, r"axis must be an integer, got '1'"),
    (lambda: nn.Parameter("weights"), TypeError, r"Parameter data must be an array of numbers, got str"),
    (lambda: nn.Parameter([[1.0, 2.0], [3.0]]), TypeError, r"Parameter data must be an array of numbers, got a list"),
    (lambda: nn.Parameter(np.zeros(2)).accumulate_grad(None), TypeError, r"gradient must be an array of numbers"),
    (lambda: nn.Linear(2, 2, bias="no"), TypeError, r"bias must be True or False, got 'no'"),
    (lambda: nn.Linear(2, 2).load_state_dict([1, 2]), TypeError, r"load_state_dict expects a dict from names to arrays, got list"),
    (lambda: nn.Linear(2, 2).load_state_dict({"weight": "a", "bias": np.ones(2)}), TypeError,
     r"state_dict\['weight'\] must be an array of numbers, got str"),
    (lambda: F.cross_entropy(np.ones((2, 3)), [[0], [1, 2]]), TypeError, r"labels must be integer class indices"),
    (lambda: F.sigmoid(torch.ones(2)), TypeError, r"z must be a NumPy array, got a torch Tensor; convert it with introdl.torch_twin.to_numpy"),
    (lambda: torch_twin.to_numpy(np.ones(2)), TypeError, r"to_numpy expects a torch.Tensor, got ndarray"),
    (lambda: torch_twin.tensor(["a", "b"]), TypeError, r"tensor expects an array of numbers, got dtype <U1"),
    (lambda: torch_twin.tensor([[1.0], [2.0, 3.0]]), TypeError, r"tensor expects an array of numbers, got a list"),
    (lambda: torch_twin.tolerance("gpu0"), ValueError, r"on_device must be a device such as 'cpu' or 'cuda', got 'gpu0'"),
    (lambda: torch_twin.copy_weights(np.ones(2), nn.Linear(2, 2)), TypeError,
     r"copy_weights expects introdl.nn or torch.nn modules, got ndarray as the source"),
    (lambda: torch_twin.from_torch_state_dict([1]), TypeError, r"from_torch_state_dict expects a dict"),
])
def test_public_functions_refuse_bad_input_in_their_own_words(call, error, message):
    with pytest.raises(error, match=message):
        call()
