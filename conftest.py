"""The order in which the test command hands its files to its two worker processes.

pyproject.toml runs the tests in two processes (pytest-xdist, ``-n 2 --dist loadfile``): each file
(each notebook too, whose cells nbval runs one after another in one kernel) runs from start to end
in one worker, so that its fixtures are made once. Files are handed out in the order below, the
slowest first, so that the two workers finish at about the same time. Each worker starts with two
files: tests/test_browser.py and tests/test_book.py go to the same one, which then builds the
site once for both.
"""
from pathlib import Path

import pytest

FIRST = [
    "tests/test_browser.py", "tests/test_editions.py", "tests/test_book.py",
    "book/09_mini_batches.ipynb", "book/11_regularization.ipynb", "book/08_adaptive_optimizers.ipynb",
    "book/10_overfitting.ipynb", "book/12_putting_it_together.ipynb", "book/07_learning_rate.ipynb",
    "book/05_gradient_descent.ipynb",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    root = Path(str(config.rootpath)).resolve()
    rank = {name: index for index, name in enumerate(FIRST)}

    def position(item):
        try:
            name = Path(str(item.path)).resolve().relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=position)  # a stable sort: every file keeps its own order


# --- kernels ------------------------------------------------------------------------------------
# nbval and nbgrader start their kernels from the kernelspec that tests/_forked_kernels.py puts
# first on JUPYTER_PATH: this Python's ipykernel (as nbval's --nbval-current-env would), forked from
# a server that has imported torch, scikit-learn and matplotlib once, instead of importing them again
# for every chapter and every graded submission. See that file.

def _forked_kernels():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_forked_kernels", Path(__file__).parent / "tests" / "_forked_kernels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_kernels = {}


def pytest_configure(config):
    import tempfile

    module = _forked_kernels()
    folder = tempfile.mkdtemp(prefix="introdl-kernels-")
    module.install(folder)
    _kernels.update(module=module, folder=folder, server=None)


def pytest_collection_finish(session):
    """Start the server in each process that runs notebooks or grades submissions (not in
    pytest-xdist's controller, which runs no test)."""
    module, config = _kernels["module"], session.config
    if config.pluginmanager.getplugin("dsession") or config.option.collectonly or not module.available():
        return
    if any(item.path.suffix == ".ipynb" or item.path.name == "test_editions.py" for item in session.items):
        _kernels["server"] = module.start_server()


def pytest_unconfigure(config):
    import shutil

    if _kernels.get("server"):
        _kernels["module"].stop_server(_kernels["server"])
    if _kernels.get("folder"):
        shutil.rmtree(_kernels["folder"], ignore_errors=True)
