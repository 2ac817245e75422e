"""Every graded exercise of the book, as data: what the student writes and how it is checked.

One ``Exercise`` per graded test cell (its grade id is the exercise's id plus ``-test``). Two
programs read these specs:

* ``introdl.check.check_exercise`` (the self-check in the student's notebook) draws the inputs
  from the exercise's public ``seed``: test ``t`` gets ``np.random.default_rng([seed, t])``.
* ``introdl.grading`` (the teacher's grader) draws them from a seed held in the course
  directory, ``np.random.default_rng([hidden_seed, seed, t])``, runs the student's solution cells
  in a separate, sandboxed Python that may import only ``allowed`` modules, and compares there
  nothing: the student's results come back as data and are compared in the grader's process.

Fields of an ``Exercise``:

* ``function``: the name the student's solution cell defines.
* ``inputs(rng)``: a tuple of plain data (arrays, numbers, lists, None); it runs in the grader's
  process, never in the student's sandbox, and may use the library.
* ``reference(*inputs)``: the right result for those inputs (a library function, or torch).
* ``call(function, *inputs)``: optional, trusted: how the test calls the student's function when
  an argument must be built from data (a loss function, a network, a generator) or when the
  result must be reduced to numbers. Without it the function is called as ``function(*inputs)``.
* ``names``: the names the chapter's own cells give the solution cells (``np``, and for some
  exercises a few library functions the exercise allows); the sandbox binds exactly these.
* ``parts``: for partial credit, ``(label, index, hint)``: each part compares item ``index`` of
  the result and earns ``points / len(parts)`` on its own.
* ``arguments``, ``shown_call``: the inputs' names in failure messages, and a line of code that
  does what ``call`` does with them, where ``call`` stands between the inputs and the function.
* ``trials``, ``rtol``, ``atol``, ``time_limit`` (seconds for ONE call of ``call``), ``hint``,
  ``new_arrays`` (results may not share memory with inputs), ``inputs_unchanged``.
"""
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable, Optional

import numpy as np

# What student code may import in the grader's sandbox; everything else is refused there.
ALLOWED_MODULES = ("numpy", "math", "cmath", "itertools", "functools", "collections", "operator",
                   "statistics", "random", "logging", "warnings", "typing", "dataclasses", "copy", "time")


@dataclass(frozen=True)
class Exercise:
    id: str
    function: str
    inputs: Callable
    reference: Callable
    seed: int
    points: float
    hint: str = ""
    call: Optional[Callable] = None
    names: tuple = ("np",)
    parts: tuple = ()
    trials: int = 5
    rtol: float = 1e-9
    atol: float = 1e-12
    time_limit: float = 3.0
    new_arrays: bool = False
    inputs_unchanged: bool = False
    allowed: tuple = ALLOWED_MODULES
    label: str = field(default="")
    arguments: tuple = ()  # names of the inputs, where ``call`` builds the function's arguments from them
    shown_call: str = ""   # the call that ``call`` makes, as a line of code for failure messages

    @property
    def name(self):
        return self.label or self.function

    @property
    def grade_id(self):
        return f"{self.id}-test"

    def run(self, function, *args):
        """The student's (or the reference's) function applied to one test's inputs."""
        return self.call(function, *args) if self.call else function(*args)


def chapter_names(names):
    """The objects the chapter's cells bind for the solution cells: ``np`` and, for ``F`` or
    ``train``, a namespace holding only the functions this exercise allows (written "F.sigmoid")."""
    bound = {}
    for name in names:
        if name == "np":
            bound["np"] = np
            continue
        module, _, function = name.partition(".")
        source = {"F": "introdl.functional", "train": "introdl.train"}[module]
        imported = __import__(source, fromlist=["_"])
        space = bound.setdefault(module, SimpleNamespace())
        setattr(space, function, getattr(imported, function))
    return bound


EXERCISES = {}


def exercise(**spec):
    item = Exercise(**spec)
    assert item.id not in EXERCISES, item.id
    EXERCISES[item.id] = item
    return item


def get(exercise_id):
    """The Exercise called ``exercise_id`` (e.g. "ch04-mse"); KeyError naming the known ones."""
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(EXERCISES)}") from None


def _classifier(seed, d, c, hidden=16, dropout=0.0):
    """A fresh network d → hidden → c (ReLU, optional dropout) from np.random.default_rng(seed)."""
    from introdl import nn
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(d, hidden, rng=rng), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout, rng=rng))
    return nn.Sequential(*layers, nn.Linear(hidden, c, rng=rng))


def _F(name):
    def reference(*args):
        import introdl.functional as F
        return getattr(F, name)(*args)
    return reference


# --- chapter 1 --------------------------------------------------------------------------------

def _perceptron_output(x, w, w0):
    from introdl import nn
    layer = nn.Linear(x.shape[1], 1)
    layer.weight.data[...], layer.bias.data[...] = w, w0
    import introdl.functional as F
    return F.sigmoid(layer(x)[:, 0])


exercise(id="ch01-perceptron-output", function="perceptron_output", seed=101, points=1,
         names=("np", "F.sigmoid"),
         inputs=lambda rng: (rng.normal(size=(int(rng.integers(1, 8)), 3)), rng.normal(size=3), float(rng.normal())),
         reference=_perceptron_output,
         hint="x @ w gives the weighted sum of every row at once, one number per row; then add the bias "
              "and apply the activation.")


def _side_inputs(rng):
    return rng.normal(size=(20, 2)), rng.normal(size=2), float(rng.normal())


exercise(id="ch01-decision-side", function="decision_side", seed=102, points=1, inputs=_side_inputs,
         reference=lambda x, w, w0: (x @ w + w0 > 0).astype(int),
         hint="compute z = w0 + x @ w for every row and compare it with 0; a boolean array turns into "
              "1s and 0s with .astype(int).")


def _intercept_inputs(rng):
    w = rng.normal(size=2)
    w[0] += np.sign(w[0]) * 0.5          # keep w1 away from 0
    return w, float(rng.normal(0.0, 2.0))


def _x1_intercept(w, w0):
    """Where the decision line meets x2 = 0, found as the root of the line's equation."""
    return float(np.roots([w[0], w0])[0])


exercise(id="ch01-x1-intercept", function="x1_intercept", seed=103, points=1, inputs=_intercept_inputs,
         reference=_x1_intercept,
         hint="set x2 = 0 in the equation of the line and solve for x1; w1 is w[0] (Python counts from 0).")

# --- chapter 2 --------------------------------------------------------------------------------

exercise(id="ch02-tanh-derivative", function="tanh_derivative", seed=201, points=1,
         inputs=lambda rng: (rng.normal(0.0, 3.0, size=(4, 5)),), reference=_F("tanh_derivative"),
         hint="compute t = np.tanh(z) once, then use the formula above elementwise (no loop needed).")


def _relu_inputs(rng):
    z = rng.normal(size=(4, 6))
    z[rng.random(z.shape) < 0.25] = 0.0     # the kink must give 0
    return (z,)


exercise(id="ch02-relu-derivative", function="relu_derivative", seed=202, points=1, inputs=_relu_inputs,
         reference=_F("relu_derivative"),
         hint="a comparison such as (z > 0) gives a boolean array, and .astype(float) turns it into 1.0 "
              "and 0.0. Check what your comparison gives at z = 0 exactly.")


def _strict(function, z):
    """The function with overflow, division by zero and invalid operations turned into errors."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        return function(z)


exercise(id="ch02-stable-sigmoid", function="stable_sigmoid", seed=203, points=2, call=_strict,
         arguments=("z",),
         shown_call="with np.errstate(over='raise', divide='raise', invalid='raise'): stable_sigmoid(z)",
         inputs=lambda rng: (np.concatenate([[-1000.0, 1000.0, 0.0], rng.normal(0.0, 300.0, size=17)]),),
         reference=_F("sigmoid"),
         hint="compute e = np.exp(-np.abs(z)), which is at most 1 and never overflows, and write both "
              "forms of the sigmoid with e: for z >= 0 and for z < 0. Choose between them with np.where.")


def _through_collapsed_layer(collapse_linear, W1, b1, W2, b2, x):
    """The student's single layer (W, b) applied to x: x @ W.T + b."""
    result = collapse_linear(W1, b1, W2, b2)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError(f"collapse_linear should return a pair (W, b), got {type(result).__name__}")
    W, b = np.asarray(result[0]), np.asarray(result[1])
    if (W.shape, b.shape) != ((W2.shape[0], W1.shape[1]), (W2.shape[0],)):
        raise ValueError(f"collapse_linear returned W of shape {W.shape} and b of shape {b.shape}; "
                         f"expected W {(W2.shape[0], W1.shape[1])} = (d, m) and b {(W2.shape[0],)} = (d,)")
    return x @ W.T + b


def _two_layers(W1, b1, W2, b2, x):
    import introdl.functional as F
    return F.linear(F.linear(x, W1, b1), W2, b2)


exercise(id="ch02-collapse-linear", function="collapse_linear", seed=204, points=2,
         arguments=("W1", "b1", "W2", "b2", "x"),
         shown_call='W, b = collapse_linear(W1, b1, W2, b2); x @ W.T + b   # compared with two layers',
         call=_through_collapsed_layer, reference=_two_layers,
         inputs=lambda rng: (rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=(2, 5)),
                             rng.normal(size=2), rng.normal(size=(4, 3))),
         hint="substitute h = W1 x + b1 into y = W2 h + b2 and multiply out: the part that multiplies x "
              "is W, the rest is b.")

# --- chapter 3 --------------------------------------------------------------------------------


def _dense_inputs(rng):
    n, m, d = rng.integers(1, 6, size=3)
    return rng.normal(size=(n, m)), rng.normal(size=(d, m)), rng.normal(size=d)


exercise(id="ch03-dense-forward", function="dense_forward", seed=301, points=1, inputs=_dense_inputs,
         reference=_F("linear"),
         hint="W has shape (out, in) = (d, m): to multiply each row of x by W you need W's transpose; "
              "the bias is added to every row.")


def _parameters_of_introdl_model(layer_sizes):
    from introdl import nn
    pairs = zip(layer_sizes[:-1], layer_sizes[1:])
    return nn.Sequential(*(nn.Linear(a, b, rng=np.random.default_rng(0)) for a, b in pairs)).num_parameters()


exercise(id="ch03-count-parameters", function="count_parameters", seed=302, points=1,
         inputs=lambda rng: ([int(n) for n in rng.integers(1, 100, size=rng.integers(2, 6))],),
         reference=_parameters_of_introdl_model,
         hint="Linear(m, d) has a (d, m) weight matrix and d biases; add this up over consecutive pairs "
              "of sizes.")


def _two_layer_inputs(rng):
    n, m, h, k = rng.integers(1, 6, size=4)
    return (rng.normal(size=(n, m)), rng.normal(size=(h, m)), rng.normal(size=h),
            rng.normal(size=(k, h)), rng.normal(size=k))


def _two_layer_reference(x, W1, b1, W2, b2):
    import introdl.functional as F
    return F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)


exercise(id="ch03-two-layer-forward", function="two_layer_forward", seed=303, points=2,
         inputs=_two_layer_inputs, reference=_two_layer_reference,
         hint="first the hidden layer with W1 and b1 as in Exercise 1, then ReLU (np.maximum with 0), "
              "then the output layer with W2 and b2, with no activation on the output.")

# --- chapter 4 --------------------------------------------------------------------------------


def _mse_inputs(rng):
    shape = tuple(int(s) for s in rng.integers(1, 6, size=rng.integers(1, 3)))
    return rng.normal(size=shape), rng.normal(size=shape)


exercise(id="ch04-mse", function="mse", seed=401, points=1, inputs=_mse_inputs, reference=_F("mse_loss"),
         hint="square the differences, then average over every entry (not only over one axis). "
              "MSE is never negative.")


def _bce_inputs(rng):
    n = rng.integers(1, 10)
    return rng.uniform(0.01, 0.99, n), rng.integers(0, 2, n).astype(float)


exercise(id="ch04-binary-cross-entropy", function="binary_cross_entropy", seed=402, points=1,
         inputs=_bce_inputs, reference=_F("binary_cross_entropy"),
         hint="mind the minus sign in front (log p <= 0), and the term for the examples with y = 0; "
              "average over the examples.")


def _logits_inputs(rng, low_too):
    n, c = rng.integers(2, 6, size=2)
    logits = rng.normal(0.0, 3.0, (n, c))
    logits[0, rng.integers(c)] = 1000.0       # naive exp overflows here
    if low_too:
        logits[1, rng.integers(c)] = -1000.0  # and a true class here may get probability 0
    return logits, rng.integers(0, c, n)


exercise(id="ch04-softmax-cross-entropy", function="softmax_cross_entropy", seed=403, points=2,
         inputs=lambda rng: _logits_inputs(rng, True), reference=_F("cross_entropy"),
         hint="subtract each row's maximum before np.exp, and compute the log of the softmax directly "
              "(shifted logits minus the log of their exponentials' sum) rather than log(softmax).")
exercise(id="ch04-cross-entropy-grad", function="cross_entropy_grad", seed=404, points=2,
         inputs=lambda rng: _logits_inputs(rng, False), reference=_F("cross_entropy_grad"),
         hint="each row: the softmax probabilities, minus 1 at the true class; then divide everything "
              "by N, the number of rows.")

# --- chapter 5 --------------------------------------------------------------------------------


def _sgd_step_reference(w, grad, lr):
    """One step of introdl.optim.SGD on a Parameter holding w, with the given gradient."""
    from introdl import nn, optim
    parameter = nn.Parameter(w.copy())
    parameter.grad = np.array(grad, dtype=np.float64)
    optim.SGD([parameter], lr=lr).step()
    return parameter.data


def _step_inputs(rng):
    shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 3)))
    return rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.01, 1.0))


exercise(id="ch05-gradient-descent-step", function="gradient_descent_step", seed=501, points=1,
         inputs=_step_inputs, reference=_sgd_step_reference, new_arrays=True, inputs_unchanged=True,
         hint="the gradient points uphill, so the step goes the other way; build a new array rather "
              "than changing w (no -=).")


def _bowl_inputs(rng):
    """A random bowl J(w) = ½ wᵀAw − bᵀw (A symmetric positive definite), a start, lr, steps."""
    d = int(rng.integers(2, 5))
    M = rng.normal(size=(d, d))
    A = M @ M.T + np.eye(d)
    b = rng.normal(size=d)
    lr = float(rng.uniform(0.1, 1.0) / np.linalg.eigvalsh(A).max())   # small enough to go downhill
    return A, b, rng.normal(size=d), lr, int(rng.integers(1, 20))


def _descend_bowl(gradient_descent, A, b, w0, lr, steps):
    return gradient_descent(lambda w: A @ w - b, w0, lr, steps)


def _sgd_path(A, b, w0, lr, steps):
    """The path of introdl.optim.SGD on one Parameter whose gradient is A w − b."""
    from introdl import nn, optim
    parameter = nn.Parameter(w0.copy())
    optimizer = optim.SGD([parameter], lr=lr)
    path = [parameter.data.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        parameter.grad = A @ parameter.data - b
        optimizer.step()
        path.append(parameter.data.copy())
    return np.array(path)


exercise(id="ch05-gradient-descent", function="gradient_descent", seed=502, points=2, inputs=_bowl_inputs,
         arguments=("A", "b", "w0", "lr", "steps"),
         shown_call='gradient_descent(lambda w: A @ w - b, w0, lr, steps)',
         call=_descend_bowl, reference=_sgd_path,
         hint="the path has steps + 1 rows: the start, then the weights after each step. Collect the rows "
              "in a list and stack them at the end.")


def _wavy(a, b, c):
    return lambda w: a * w[0] ** 2 + b * w[0] * w[1] + np.sin(c * w[1]) + np.exp(0.3 * w[0])


def _numerical_gradient_inputs(rng):
    a, b, c = (float(v) for v in rng.normal(size=3))
    return a, b, c, rng.normal(size=2), float(rng.choice([1e-3, 1e-4, 1e-5]))


def _numerical_gradient_reference(a, b, c, w, h):
    from introdl.gradcheck import numerical_gradient
    return numerical_gradient(_wavy(a, b, c), w, h)


exercise(id="ch05-numerical-gradient-2d", function="numerical_gradient_2d", seed=503, points=2,
         arguments=("a", "b", "c", "w", "h"),
         shown_call=(
             'numerical_gradient_2d(lambda w: a * w[0] ** 2 + b * w[0] * w[1] + np.sin(c * w[1]) + '
             'np.exp(0.3 * w[0]), w, h)'
         ),
         inputs=_numerical_gradient_inputs, reference=_numerical_gradient_reference,
         call=lambda numerical_gradient_2d, a, b, c, w, h: numerical_gradient_2d(_wavy(a, b, c), w, h),
         rtol=1e-6, atol=1e-8, inputs_unchanged=True,
         hint="for each i in (0, 1) build a step vector that is h at position i and 0 elsewhere, and use "
              "the centred difference above. Mind the denominator.")

# --- chapter 6 --------------------------------------------------------------------------------


def _sigmoid_backward_reference(grad_output, z):
    from introdl import nn
    layer = nn.Sigmoid()
    layer(z)
    return layer.backward(grad_output)


def _sigmoid_backward_inputs(rng):
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    return rng.normal(size=shape), rng.normal(0.0, 3.0, size=shape)


exercise(id="ch06-sigmoid-layer-backward", function="sigmoid_layer_backward", seed=601, points=1,
         names=("np", "F.sigmoid"), inputs=_sigmoid_backward_inputs, reference=_sigmoid_backward_reference,
         hint="multiply grad_output elementwise by the sigmoid's derivative, taken at the layer's INPUT z; "
              "nothing is summed.")


def _linear_backward_inputs(rng):
    n, n_in, n_out = (int(v) for v in rng.integers(1, 6, size=3))
    return rng.normal(size=(n, n_out)), rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in))


exercise(id="ch06-linear-backward", function="linear_backward", seed=602, points=3,
         names=("np", "F.sigmoid"), inputs=_linear_backward_inputs, reference=_F("linear_backward"),
         parts=(("grad_x", 0, "grad_x has x's shape (N, in); G is (N, out) and W is (out, in)."),
                ("grad_W", 1, "grad_W has W's shape (out, in): transpose G so that the N examples are summed."),
                ("grad_b", 2, "grad_b has b's shape (out,): the bias touches every example, so add up over them.")))


def _chain_rule_autograd(x, y, w1, w2):
    """dJ/dw1 from torch's autograd, in float64 on the CPU."""
    import torch
    w1_tensor = torch.tensor(w1, dtype=torch.float64, requires_grad=True)
    ((w2 * torch.sigmoid(w1_tensor * x) - y) ** 2).backward()
    return w1_tensor.grad.item()


exercise(id="ch06-chain-rule-w1", function="chain_rule_w1", seed=603, points=2, names=("np", "F.sigmoid"),
         inputs=lambda rng: tuple(float(v) for v in rng.normal(0.0, 1.5, size=4)),
         reference=_chain_rule_autograd,
         hint="compute the forward pass (z1, a1, y_hat) first, then multiply the four derivatives: "
              "dJ/dy_hat, dy_hat/da1, da1/dz1 and dz1/dw1.")

# --- chapter 7 --------------------------------------------------------------------------------


def _spd_matrix(rng, d):
    B = rng.normal(size=(d, d))
    return B @ B.T + 0.1 * np.eye(d)


def _max_stable_learning_rate(H):
    """2 / a_max: beyond it gradient descent on ½ wᵀHw diverges along H's steepest eigenvector."""
    from scipy.linalg import eigh
    a_max = eigh(H, eigvals_only=True, subset_by_index=[len(H) - 1, len(H) - 1])[0]
    return 2.0 / a_max


exercise(id="ch07-max-stable-lr", function="max_stable_learning_rate", seed=701, points=1,
         inputs=lambda rng: (_spd_matrix(rng, int(rng.integers(2, 6))),), reference=_max_stable_learning_rate,
         hint="you need the LARGEST eigenvalue of H; mind which end of eigvalsh's list it is.")


def _run_inputs(rng):
    """A bowl ½ (w − c)ᵀ H (w − c) in d = 2..4 weights, a start, lr between 0.2 and 1.6 times 2/a_max."""
    H = _spd_matrix(rng, int(rng.integers(2, 5)))
    d = len(H)
    lr = float(rng.uniform(0.2, 1.6) * 2 / np.linalg.eigvalsh(H)[-1])
    return H, rng.normal(size=d), 3 * rng.normal(size=d), lr, int(rng.integers(10, 60))


def _bowl(H, c):
    return (lambda w: 0.5 * (w - c) @ H @ (w - c)), (lambda w: H @ (w - c))


def _run_on_bowl(run_gradient_descent, H, c, w0, lr, steps):
    """(path, diverged_at) with -1 standing for None."""
    result = run_gradient_descent(*_bowl(H, c), w0, lr, steps)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError(f"run_gradient_descent should return a pair (path, diverged_at), got "
                         f"{type(result).__name__}")
    path, diverged_at = result
    return path, -1 if diverged_at is None else diverged_at


def _descent_reference(H, c, w0, lr, steps):
    from introdl.descent import gradient_descent
    run = gradient_descent(*_bowl(H, c), w0, lr, steps, bound=1e8)
    return run.path, -1 if run.diverged_at is None else run.diverged_at


exercise(id="ch07-run-gradient-descent", function="run_gradient_descent", seed=702, points=3, trials=10,
         arguments=("H", "c", "w0", "lr", "steps"),
         shown_call=(
             'run_gradient_descent(lambda w: 0.5 * (w - c) @ H @ (w - c), lambda w: H @ (w - c), w0, '
             'lr, steps)'
         ),
         inputs=_run_inputs, call=_run_on_bowl, reference=_descent_reference,
         parts=(("diverged_at (-1 stands for None)", 1,
                 "after each step t = 1, 2, ... look at the loss; stop and return t as soon as it is not "
                 "finite or larger than 1e8; return None if every step stays below."),
                ("path", 0, "the path starts with w0 and gets one row per step that stayed finite and below "
                            "1e8; the step that diverged is not stored.")))


def _best_inputs(rng):
    """M increasing learning rates and their final losses, some of them nan or inf."""
    m = int(rng.integers(5, 15))
    learning_rates = np.sort(10 ** rng.uniform(-4, 1, m))
    final_losses = 10 ** rng.uniform(-3, 2, m)
    broken = rng.random(m) < 0.3
    broken[rng.integers(m)] = False   # keep at least one finite loss
    final_losses[broken] = rng.choice([np.nan, np.inf], broken.sum())
    return learning_rates, final_losses


exercise(id="ch07-best-learning-rate", function="best_learning_rate", seed=703, points=1, trials=10,
         inputs=_best_inputs,
         reference=lambda lrs, losses: float(lrs[np.nanargmin(np.where(np.isinf(losses), np.nan, losses))]),
         hint="a diverged run (nan or inf) must never be picked: leave those runs out (np.isfinite tells "
              "which are left), then take the learning rate of the smallest remaining loss.")

# --- chapter 8 --------------------------------------------------------------------------------


def _torch_step(optimizer_class, w, grad, state, **settings):
    """One step of a torch optimizer from the given state; (new w, the state's arrays)."""
    import torch
    p = torch.tensor(w, requires_grad=True)
    optimizer = optimizer_class([p], **settings)
    if state:
        optimizer.state[p].update({key: torch.tensor(value) for key, value in state.items()})
    p.grad = torch.tensor(grad)
    optimizer.step()
    return p.detach().numpy().copy(), optimizer.state[p]


def _momentum_reference(w, grad, buffer, lr, momentum):
    import torch
    new_w, state = _torch_step(torch.optim.SGD, w, grad, None if buffer is None else {"momentum_buffer": buffer},
                               lr=lr, momentum=momentum)
    return new_w, state["momentum_buffer"].numpy().copy()


def _momentum_inputs(rng):
    """w, grad, buffer (None in every other test: the first step), lr, momentum."""
    w, grad, buffer = rng.normal(size=(3, 4))
    first_step = rng.random() < 0.5
    return w, grad, None if first_step else buffer, float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))


exercise(id="ch08-momentum-step", function="momentum_step", seed=801, points=2, trials=8,
         inputs=_momentum_inputs, reference=_momentum_reference, new_arrays=True, inputs_unchanged=True,
         hint="on the first step the new buffer equals the gradient, but as an array of its own (a copy); "
              "later it is momentum * buffer + grad. Then step w with lr times the new buffer.")


def _adam_reference(w, grad, m, v, t, lr, betas, eps):
    import torch
    new_w, state = _torch_step(torch.optim.Adam, w, grad, {"step": float(t - 1), "exp_avg": m, "exp_avg_sq": v},
                               lr=lr, betas=tuple(betas), eps=eps)
    return new_w, state["exp_avg"].numpy().copy(), state["exp_avg_sq"].numpy().copy()


def _adam_inputs(rng):
    w, grad, m = rng.normal(size=(3, 5)) * rng.uniform(0.1, 3)
    v = rng.uniform(0, 2, size=5)
    t = int(rng.integers(1, 20))
    if t == 1:
        m, v = np.zeros(5), np.zeros(5)
    betas = (float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999)))
    return w, grad, m, v, t, float(rng.uniform(1e-3, 0.1)), betas, 1e-8


exercise(id="ch08-adam-update", function="adam_update", seed=802, points=3, trials=8, inputs=_adam_inputs,
         arguments=("w", "grad", "m", "v", "t", "lr", "betas", "eps"),
         shown_call='adam_update(w, grad, m, v, t, lr, tuple(betas), eps)',
         call=lambda adam_update, w, grad, m, v, t, lr, betas, eps: adam_update(w, grad, m, v, t, lr, tuple(betas), eps),
         reference=_adam_reference, new_arrays=True, inputs_unchanged=True,
         hint="update m and v first; the bias corrections divide by 1 - beta**t with t counting from 1; "
              "eps is added after the square root.")


def _rmsprop_reference(w, grad, v, lr, alpha, eps):
    import torch
    new_w, state = _torch_step(torch.optim.RMSprop, w, grad, {"step": 1.0, "square_avg": v},
                               lr=lr, alpha=alpha, eps=eps)
    return new_w, state["square_avg"].numpy().copy()


def _rmsprop_inputs(rng):
    w, grad = rng.normal(size=(2, 5))
    v = rng.uniform(0, 2, size=5) * (rng.random() < 0.7)   # zeros before the first step
    return w, grad, v, float(rng.uniform(1e-3, 0.1)), float(rng.uniform(0.8, 0.999)), 1e-8


exercise(id="ch08-rmsprop-update", function="rmsprop_update", seed=803, points=2, trials=8,
         inputs=_rmsprop_inputs, reference=_rmsprop_reference, new_arrays=True, inputs_unchanged=True,
         hint="update v first, then divide the gradient by the square root of the NEW v plus eps "
              "(eps outside the root); RMSprop has no bias correction.")


def _cosine_reference(eta_max, eta_min, T_max, t):
    """η of epoch t from introdl.optim.lr_scheduler.CosineAnnealingLR on an SGD optimizer."""
    from introdl import nn, optim
    w = nn.Parameter(np.zeros(1))
    optimizer = optim.SGD([w], lr=eta_max)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
    for _ in range(t):
        w.grad = np.zeros(1)
        optimizer.step()
        scheduler.step()
    return scheduler.get_last_lr()[0]


def _cosine_inputs(rng):
    eta_max = float(10 ** rng.uniform(-4, 0))
    eta_min = 0.0 if rng.random() < 0.3 else float(eta_max * rng.uniform(0, 0.5))
    T_max = int(rng.integers(1, 60))
    return eta_max, eta_min, T_max, int(rng.integers(0, T_max + 1))


exercise(id="ch08-cosine-annealing-lr", function="cosine_annealing_lr", seed=804, points=1, trials=10,
         inputs=_cosine_inputs, reference=_cosine_reference,
         hint="the cosine runs over half a period, from cos(0) = 1 at t = 0 to cos(pi) = -1 at t = T_max; "
              "(1 + cos(...)) / 2 then goes from 1 to 0, and scales the distance between eta_max and eta_min.")

# --- chapter 9 --------------------------------------------------------------------------------


def _optimizer_steps_reference(epochs, n, batch_size):
    from introdl import train
    return epochs * train.batches_per_epoch(n, batch_size)


exercise(id="ch09-optimizer-steps", function="optimizer_steps", seed=901, points=1, trials=20,
         inputs=lambda rng: (int(rng.integers(1, 20)), int(rng.integers(1, 2000)), int(rng.integers(1, 300))),
         reference=_optimizer_steps_reference,
         hint="the last, smaller batch is a step too, so N // B is too small when B does not divide N. "
              "Round up, in integers.")
exercise(id="ch09-gradient-variance", function="gradient_variance", seed=902, points=1,
         inputs=lambda rng: (rng.normal(size=(int(rng.integers(2, 50)), 7)) * rng.uniform(0.1, 3), rng.normal(size=7)),
         reference=lambda grads, full_grad: float(np.mean(np.linalg.norm(grads - full_grad, axis=1) ** 2)),
         hint="subtract full_grad from every row (broadcasting); the squared length of a row is a sum over "
              "its P coordinates (axis=1); then average over the R rows.")


def _linear_mse_gradient(X, y, weight, bias):
    """introdl's gradient of the MSE of a Linear(d, 1) layer on (X, y), flattened: (d + 1,)."""
    from introdl import nn
    layer = nn.Linear(X.shape[1], 1, rng=np.random.default_rng(0))
    layer.weight.data[...], layer.bias.data[...] = weight, bias
    mse = nn.MSELoss()
    mse(layer(X), y)
    layer.backward(mse.backward())
    return np.concatenate([layer.weight.grad.ravel(), layer.bias.grad])


def _shard_inputs(rng):
    """Each shard's gradient and size (2 to 4 shards of random sizes), and the whole data set."""
    n, shards = int(rng.integers(8, 40)), int(rng.integers(2, 5))
    cuts = np.sort(rng.choice(np.arange(1, n), size=shards - 1, replace=False))
    X, y, weight, bias = rng.normal(size=(n, 3)), rng.normal(size=(n, 1)), rng.normal(size=(1, 3)), rng.normal(size=1)
    parts = list(zip(np.split(X, cuts), np.split(y, cuts)))
    grads = np.stack([_linear_mse_gradient(X_part, y_part, weight, bias) for X_part, y_part in parts])
    return grads, np.array([len(X_part) for X_part, _ in parts]), X, y, weight, bias


exercise(id="ch09-average-gradients", function="average_gradients", seed=903, points=2, inputs=_shard_inputs,
         arguments=("shard_grads", "shard_sizes", "X", "y", "weight", "bias"),
         shown_call=(
             'average_gradients(shard_grads, shard_sizes)   # compared with the gradient on all of '
             'X, y'
         ),
         call=lambda average_gradients, grads, sizes, *data: average_gradients(grads, sizes),
         reference=lambda grads, sizes, *data: _linear_mse_gradient(*data),
         label="average_gradients (shards of unequal size)",
         hint="each g_r is a mean over n_r examples, so n_r * g_r is that shard's sum; a plain mean of the "
              "g_r is right only for equal shards.")

# --- chapter 10 -------------------------------------------------------------------------------

exercise(id="ch10-design-matrix", function="polynomial_design_matrix", seed=1001, points=1,
         inputs=lambda rng: (rng.uniform(-1.5, 1.5, size=int(rng.integers(1, 12))), int(rng.integers(0, 7))),
         reference=lambda x, degree: np.vander(x, degree + 1, increasing=True),
         hint="column k holds x ** k for k = 0, 1, ..., degree: degree + 1 columns, the first all ones. "
              "Broadcasting a column of x against a row of powers builds it without a loop.")


def _fit_inputs(rng):
    degree = int(rng.integers(0, 6))
    n = int(rng.integers(degree + 2, 30))
    x = rng.uniform(-1, 1, size=n)
    y = np.polynomial.polynomial.polyval(x, rng.normal(size=int(rng.integers(1, 8)))) + rng.normal(0, 0.1, size=n)
    return x, y, degree


exercise(id="ch10-fit-polynomial", function="fit_polynomial", seed=1002, points=2, inputs=_fit_inputs,
         reference=lambda x, y, degree: np.polynomial.polynomial.polyfit(x, y, degree),
         rtol=1e-6, atol=1e-8,
         hint="build Phi with your polynomial_design_matrix and solve the least-squares problem named "
              "above; its first result is w. Keep w in increasing order of power.")


def _errors_inputs(rng):
    d, c = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    n_train, n_test = int(rng.integers(5, 40)), int(rng.integers(5, 40))
    return (int(rng.integers(10 ** 6)), d, c, rng.normal(size=(n_train, d)), rng.integers(0, c, size=n_train),
            rng.normal(size=(n_test, d)), rng.integers(0, c, size=n_test))


def _errors_reference(seed, d, c, X_train, y_train, X_test, y_test):
    from introdl import train
    model = _classifier(seed, d, c, hidden=8)
    return 1 - train.accuracy(model, X_train, y_train, outputs="logits"), 1 - train.accuracy(model, X_test, y_test, outputs="logits")


exercise(id="ch10-train-test-errors", function="train_test_errors", seed=1003, points=1, inputs=_errors_inputs,
         arguments=("network_seed", "d", "c", "X_train", "y_train", "X_test", "y_test"),
         names=("np", "train.predict"), reference=_errors_reference,
         call=lambda train_test_errors, seed, d, c, *data: train_test_errors(_classifier(seed, d, c, hidden=8), *data),
         hint="for each set, the predicted class of a row is the index of its largest logit; the error is "
              "the fraction of rows where it differs from y. Return the two errors as a pair, training first.")

# --- chapter 11 -------------------------------------------------------------------------------


def _dropout_reference(x, p, seed):
    """introdl.nn.Dropout with a generator seeded by seed; the mask read back from its backward pass."""
    from introdl import nn
    layer = nn.Dropout(p, rng=np.random.default_rng(seed))
    y = layer(x)
    return y, layer.backward(np.ones_like(x)) != 0  # dy/dx is keep / (1 - p)


def _dropout_inputs(rng):
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    if rng.random() < 0.2:
        shape = (100, 1000)  # large enough that the fraction kept shows p's convention
    return rng.normal(size=shape), float(rng.uniform(0.05, 0.9)), int(rng.integers(1000))


exercise(id="ch11-dropout-forward", function="dropout_forward", seed=1101, points=2, trials=6,
         arguments=("x", "p", "seed"),
         shown_call='dropout_forward(x, p, np.random.default_rng(seed))',
         inputs=_dropout_inputs, reference=_dropout_reference,
         call=lambda dropout_forward, x, p, seed: dropout_forward(x, p, np.random.default_rng(seed)),
         hint="draw the mask exactly as described (one call of rng.random with x's shape), then scale the "
              "kept units; return the pair (y, keep). A unit is KEPT with probability 1 - p.")


def _stop_epoch_reference(val_losses, patience):
    """The epoch (from 1) at which train.EarlyStopping stops on val_losses, or 0 if it never does."""
    from introdl import nn, train
    stopper, network = train.EarlyStopping(patience=patience), nn.Linear(1, 1, rng=np.random.default_rng(0))
    for epoch, loss in enumerate(val_losses, start=1):
        if stopper.update(loss, epoch, network):
            return epoch
    return 0


def _stop_epoch(should_stop, val_losses, patience):
    """The first epoch at which should_stop says stop, or 0 if it never does."""
    for epoch in range(1, len(val_losses) + 1):
        if should_stop([float(v) for v in val_losses[:epoch]], patience):
            return epoch
    return 0


def _curve_inputs(rng):
    """A noisy U-shaped curve, rounded to 2 decimals so that ties happen, and a patience."""
    t = np.arange(40)
    curve = 1 / (1 + 0.3 * t) + rng.uniform(0, 0.02) * t + rng.normal(0, 0.05, t.size)
    return np.round(curve, 2), int(rng.integers(1, 8))


exercise(id="ch11-should-stop", function="should_stop", seed=1103, points=2, trials=20, inputs=_curve_inputs,
         arguments=("val_losses", "patience"),
         shown_call=(
             '[should_stop(list(val_losses[:e]), patience) for e in range(1, len(val_losses) + 1)]   '
             '# the first True'
         ),
         call=_stop_epoch, reference=_stop_epoch_reference, label="should_stop (the epoch it stops at)",
         hint="find the epoch of the best loss so far (its FIRST occurrence: a tie is no improvement) and "
              "count how many epochs have passed since it.")


def _weight_decay_reference(w, grads, lr, weight_decay):
    """introdl.optim.SGD with weight_decay, one step per row of grads."""
    from introdl import nn, optim
    parameter = nn.Parameter(w.copy())
    optimizer = optim.SGD([parameter], lr=lr, weight_decay=weight_decay)
    for g in grads:
        parameter.grad = g.copy()
        optimizer.step()
    return parameter.data


def _weight_decay_steps(step, w, grads, lr, weight_decay):
    for g in grads:
        w = step(w, g, lr, weight_decay)
    return w


exercise(id="ch11-sgd-weight-decay", function="sgd_step_with_weight_decay", seed=1104, points=1,
         arguments=("w", "grads", "lr", "weight_decay"),
         shown_call='for g in grads: w = sgd_step_with_weight_decay(w, g, lr, weight_decay)',
         inputs=lambda rng: (rng.normal(size=6), rng.normal(size=(4, 6)), float(rng.uniform(0.01, 0.5)),
                             float(rng.uniform(0.001, 0.5))),
         call=_weight_decay_steps, reference=_weight_decay_reference,
         label="sgd_step_with_weight_decay (4 steps in a row)",
         hint="differentiate the penalty (λ/2)‖w‖² with respect to w and add it to grad before the usual step.")

# --- chapter 12 -------------------------------------------------------------------------------


def _early_stopping_inputs(rng):
    """A small noisy 3-class problem (training and validation), a network seed, a patience, a seed."""
    teacher = rng.normal(size=(8, 3))
    X, X_val = rng.normal(size=(160, 8)), rng.normal(size=(80, 8))
    y = np.argmax(X @ teacher + rng.normal(0, 1.5, (160, 3)), axis=1)
    y_val = np.argmax(X_val @ teacher + rng.normal(0, 1.5, (80, 3)), axis=1)
    return int(rng.integers(10 ** 6)), X, y, X_val, y_val, int(rng.integers(2, 5)), int(rng.integers(10 ** 6))


def _train_with(loop, network_seed, X, y, X_val, y_val, patience, seed):
    """Train a fresh network (8 → 32 → 3 with dropout) with ``loop``; (best epoch, stopped epoch or
    -1, the restored weights' validation loss)."""
    from introdl import nn, optim, train
    model = _classifier(network_seed, 8, 3, hidden=32, dropout=0.2)
    result = loop(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-2), X, y, X_val, y_val,
                  patience, np.random.default_rng(seed))
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError(f"fit_with_early_stopping should return (best_epoch, stopped_epoch), got "
                         f"{type(result).__name__}")
    best, stopped = result
    return best, -1 if stopped is None else stopped, train.evaluate_loss(model, nn.CrossEntropyLoss(), X_val, y_val)


def _early_stopping_yours(fit_with_early_stopping, *case):
    def loop(model, loss_fn, optimizer, X, y, X_val, y_val, patience, rng):
        return fit_with_early_stopping(model, loss_fn, optimizer, X, y, X_val, y_val, epochs=40,
                                       batch_size=32, rng=rng, patience=patience)
    return _train_with(loop, *case)


def _early_stopping_reference(*case):
    from introdl import train

    def loop(model, loss_fn, optimizer, X, y, X_val, y_val, patience, rng):
        history = train.fit(model, loss_fn, optimizer, X, y, epochs=40, batch_size=32, rng=rng,
                            validation=(X_val, y_val), early_stopping=train.EarlyStopping(patience=patience))
        return history.best_epoch, history.stopped_epoch
    return _train_with(loop, *case)


exercise(id="ch12-early-stopping-loop", function="fit_with_early_stopping", seed=1201, points=3, trials=3,
         arguments=("network_seed", "X", "y", "X_val", "y_val", "patience", "seed"),
         names=("np", "train.minibatches", "train.evaluate_loss"), inputs=_early_stopping_inputs,
         call=_early_stopping_yours, reference=_early_stopping_reference, time_limit=30, rtol=1e-12, atol=0,
         label="fit_with_early_stopping (best epoch, stopped epoch (-1 for None), restored validation loss)",
         hint="reset the count at every new best (strictly lower loss) and stop as soon as it reaches "
              "patience; keep a COPY of each p.data at the best epoch and write it back into p.data after "
              "the loop.")


def _classifier_inputs(rng):
    d, c, n = int(rng.integers(2, 8)), int(rng.integers(2, 10)), int(rng.integers(1, 50))
    return int(rng.integers(10 ** 6)), d, c, rng.normal(size=(n, d))


def _predict_yours(predict_classes, seed, d, c, X):
    """The classes, and 1 if the network (in training mode before) is in training mode after."""
    network = _classifier(seed, d, c, dropout=0.5)
    classes = predict_classes(network, X)
    return classes, int(network.training)


def _predict_reference(seed, d, c, X):
    from introdl import train
    return train.predict(_classifier(seed, d, c, dropout=0.5), X).argmax(axis=1), 1


exercise(id="ch12-predict-classes", function="predict_classes", seed=1202, points=2, inputs=_classifier_inputs,
         arguments=("network_seed", "d", "c", "X"),
         call=_predict_yours, reference=_predict_reference,
         parts=(("classes", 0, "dropout must be off while predicting: switch the model to evaluation mode "
                               "first; the class is the index of the largest logit in each row."),
                ("training mode restored (1: yes)", 1,
                 "remember model.training before switching, and restore that mode at the end.")))


def _confusion_inputs(rng):
    c, n = int(rng.integers(2, 11)), int(rng.integers(1, 200))
    return rng.integers(0, c, size=n), rng.integers(0, c, size=n), c


def _confusion_reference(y_true, y_pred, n_classes):
    from sklearn.metrics import confusion_matrix
    return confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


exercise(id="ch12-confusion-matrix", function="confusion_matrix_np", seed=1204, points=2,
         inputs=_confusion_inputs, reference=_confusion_reference,
         hint="start from a zero integer matrix of shape (n_classes, n_classes); rows are true classes, "
              "columns predicted ones; count repeated (true, predicted) pairs every time.")
