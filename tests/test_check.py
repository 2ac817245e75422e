"""introdl.check: the checks behind every graded cell give fair, reproducible, readable verdicts."""
import re

import numpy as np
import pytest

import introdl.check as check_module
import introdl.functional as F
from introdl.check import check_exercise, check_function


def dense_inputs(rng):
    n, m, d = rng.integers(1, 4, size=3)
    return rng.normal(size=(n, m)), rng.normal(size=(d, m)), rng.normal(size=d)


def step_inputs(rng):
    return rng.normal(size=4), rng.normal(size=4), 0.1


def failure(student, reference=F.linear, inputs=dense_inputs, **options):
    """The message of the AssertionError the check raises for ``student``."""
    options.setdefault("seed", 7)
    with pytest.raises(AssertionError) as raised:
        check_function(student, reference, inputs=inputs, **options)
    return str(raised.value)


def test_a_right_answer_passes_and_says_so(capsys):
    check_function(lambda x, W, b: x @ W.T + b, F.linear, inputs=dense_inputs, seed=1, name="dense")
    assert capsys.readouterr().out.startswith("✓ dense matches the reference on 5 test inputs (seed 1)")


def test_the_seed_is_required():
    with pytest.raises(TypeError, match="seed"):
        check_function(F.linear, F.linear, inputs=dense_inputs)
    with pytest.raises(TypeError, match="seed"):
        check_function(F.linear, F.linear, inputs=dense_inputs, seed=None)


def test_the_same_answer_always_gets_the_same_verdict():
    """An answer right only to float32 precision fails on some inputs and not on others; with a
    seed every run meets the same inputs, so the verdict and the message never change."""
    def float32_rounded(x, W, b):
        return (x.astype(np.float32) @ W.T.astype(np.float32) + b.astype(np.float32)).astype(np.float64)

    messages = {failure(float32_rounded, trials=3) for _ in range(5)}
    assert len(messages) == 1, messages


def test_each_test_draws_from_its_own_seeded_generator():
    seen = []
    check_function(lambda *a: 0.0, lambda *a: 0.0, inputs=lambda rng: (rng.normal(),), seed=11, trials=3)
    check_function(lambda v: seen.append(v) or 0.0, lambda v: 0.0, inputs=lambda rng: (rng.normal(),),
                   seed=11, trials=3)
    assert seen == [np.random.default_rng([11, t]).normal() for t in range(3)]


def test_float32_is_named_before_any_value_is_compared():
    message = failure(lambda x, W, b: (x @ W.T + b).astype(np.float32), name="dense_forward")
    assert message.startswith("dense_forward returned float32 numbers (test 1 of 5, seed 7); "
                              "this exercise needs float64")


def test_a_result_that_shares_memory_with_an_input_fails_where_new_arrays_are_promised():
    def step(w, grad, lr):
        new = w.copy()
        new -= lr * grad
        return grad[:]  # a view of the input

    message = failure(step, reference=lambda w, grad, lr: grad, inputs=step_inputs, name="step",
                      new_arrays=True)
    assert message.startswith("step returned an array that shares memory with its input `grad`")


def test_changing_an_input_in_place_fails_where_the_exercise_forbids_it():
    def step(w, grad, lr):
        w -= lr * grad
        return w

    message = failure(step, reference=lambda w, grad, lr: w - lr * grad, inputs=step_inputs, name="step",
                      inputs_unchanged=True)
    assert message.startswith("step changed its input `w` in place")


def test_an_endless_loop_is_stopped_with_its_own_message():
    def loops(x, W, b):
        while True:
            pass

    message = failure(loops, name="dense_forward", time_limit=0.2)
    assert message.startswith("dense_forward did not return within 0.2 s (one call of loops) — "
                              "does it loop forever? (test 1 of 5, seed 7)")


def test_not_implemented_yet():
    def blank(x, W, b):
        raise NotImplementedError()

    assert failure(blank, name="dense_forward").startswith("dense_forward is not implemented yet")


def test_a_wrong_answer_says_where_and_how_to_rerun_the_case():
    message = failure(lambda x, W, b: x @ W.T, name="dense_forward", hint="add the bias")
    first = message.splitlines()[0]
    assert first == "dense_forward gave a different answer (test 1 of 5, seed 7)."
    assert "x: array of shape" in message and message.endswith("Hint: add the bias")
    # the printed lines rebuild the inputs of the failing case exactly
    lines = message[message.index("To run this case yourself:"):].splitlines()[1:]
    code = "\n".join(line.strip() for line in lines if re.match(r"\s+\w+ = |\s+\[|\s+\d|\s+-", line))
    namespace = {"np": np}
    exec(code, namespace)
    x, W, b = dense_inputs(np.random.default_rng([7, 0]))
    assert np.array_equal(namespace["x"], x) and np.array_equal(namespace["W"], W)
    assert np.array_equal(namespace["b"], b)


def test_a_crash_shows_the_learners_line_not_the_library():
    def crashes(x, W, b):
        return x @ W + b

    message = failure(crashes, name="dense_forward")
    assert message.startswith("dense_forward raised ValueError")
    assert "of crashes: return x @ W + b" in message


def test_library_frames_are_hidden_from_the_traceback():
    """IPython leaves out every frame whose locals hold __tracebackhide__ = True, except the last,
    which is the one line that raises the message, and no second, chained traceback."""
    with pytest.raises(AssertionError) as raised:
        check_function(lambda x, W, b: x @ W.T, F.linear, inputs=dense_inputs, seed=1)
    traceback, frames = raised.value.__traceback__, []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    assert frames[-1].f_code.co_filename == "<introdl.check>"
    library = [frame for frame in frames if frame.f_code.co_filename == check_module.__file__]
    assert library and all(frame.f_locals.get("__tracebackhide__") for frame in library), (
        [frame.f_code.co_name for frame in library if not frame.f_locals.get("__tracebackhide__")])
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_a_warning_is_not_a_wrong_answer(capsys):
    """nbgrader gives 0 to a test cell that writes to stderr, as a warning does."""
    def exp_of_large(z):
        return np.minimum(np.exp(z), 1.0)  # NumPy warns "overflow encountered in exp"

    check_function(exp_of_large, lambda z: np.ones_like(z), inputs=lambda rng: (np.array([1000.0]),), seed=1)
    captured = capsys.readouterr()
    assert captured.out.startswith("✓") and captured.err == ""


def test_a_wrong_scalar_says_expected_and_got():
    """A scalar answer (a 0-d difference) gets the same message as an array, not a TypeError."""
    message = failure(lambda x: 2.0 * x, reference=lambda x: x, inputs=lambda rng: (1.5,), name="double")
    assert "The value: expected 1.5, got 3" in message
    message = failure(lambda x: np.float64(2.0), reference=lambda x: 1.0, inputs=lambda rng: (0.0,), name="loss")
    assert "expected 1, got 2" in message


def test_check_exercise_prints_a_pass_line_and_returns_nothing(capsys):
    def mse(prediction, target):
        return float(np.mean((target - prediction) ** 2))

    assert check_exercise("ch04-mse", mse) is None
    assert capsys.readouterr().out == "✓ mse matches the reference on 5 test inputs (seed 401).\n"


def test_check_exercise_reports_each_failing_part():
    def linear_backward(grad_output, x, W):
        return grad_output @ W, grad_output.T @ x, grad_output.sum(axis=1)  # grad_b summed the wrong way

    with pytest.raises(AssertionError) as raised:
        check_exercise("ch06-linear-backward", linear_backward)
    message = str(raised.value)
    assert "linear_backward's grad_b" in message and "grad_x" not in message
    assert message.endswith("2 of 3 parts right: 2 of 3 points.")


def test_check_exercise_names_an_unknown_exercise():
    with pytest.raises(KeyError, match="no exercise 'ch99-nothing'"):
        check_exercise("ch99-nothing", print)


def test_the_self_check_warns_of_what_grading_will_not_give(capsys):
    """A function that passes here by calling what the grader's sandbox does not bind
    (``train.predict`` where the exercise gives only np, the library's functional module, scipy)
    gets a ✓ and the names it will miss when graded; honest imports of allowed modules get none."""
    import functools
    import math
    import operator

    from introdl import train
    namespace = {"np": np, "train": train, "F": F, "math": math, "functools": functools, "operator": operator,
                 "exp": np.exp, "__name__": "__main__"}
    exec("def helper(model, X):\n    return train.predict(model, X)\n\n"
         "def through_helper(model, X):\n    return helper(model, X).argmax(axis=1)\n\n"
         "def honest(model, X):\n    was = model.training\n    model.eval()\n"
         "    scale = functools.reduce(operator.mul, [1.0, math.sqrt(1.0), float(exp(0.0))])\n"
         "    out = (scale * model(X)).argmax(axis=1)\n    model.train(was)\n    return out\n", namespace)
    check_exercise("ch12-predict-classes", namespace["through_helper"])
    out = capsys.readouterr().out
    assert out.startswith("✓") and "when this exercise is graded, `train` will not be there" in out, out
    check_exercise("ch12-predict-classes", namespace["honest"])
    assert "will not be there" not in capsys.readouterr().out
    exec("def sigmoid_layer_backward(grad_output, z):\n    return grad_output * F.sigmoid_derivative(z)\n", namespace)
    check_exercise("ch06-sigmoid-layer-backward", namespace["sigmoid_layer_backward"])
    assert "`F.sigmoid_derivative` will not be there" in capsys.readouterr().out
