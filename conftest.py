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
    "tests/test_browser.py", "tests/test_editions.py", "tests/test_book.py", "tests/test_grading.py",
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

