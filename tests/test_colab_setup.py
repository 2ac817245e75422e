"""The chapters' setup cell: on Colab it installs introdl and changes nothing Colab already has;
anywhere else it does nothing; on the website and in the PDF it is hidden.

The Colab path is proved without a network: the cell runs in a fresh interpreter that cannot
import introdl, with a stand-in ``google.colab`` module on its path and INTRODL_SOURCE pointing
at a copy of the local library.  Like Colab, the interpreter has an ipywidgets older than
pyproject.toml asks for (7.7.1, as Colab ships), and pip is offered a newer one (a stand-in
wheel), so an install that upgraded what Colab has would show in ``pip list``.
"""
import json
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import sync_setup_cells  # scripts/ (pyproject.toml puts it on the tests' path)

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sync_setup_cells.chapters()

PROBE = textwrap.dedent('''
    import importlib.util, sys
    assert importlib.util.find_spec("introdl") is None, "introdl importable before the setup cell"
    exec(open(sys.argv[1]).read())
    import introdl
    print(introdl.__file__)
''')


def test_every_chapter_starts_with_the_setup_cell_in_step_with_config():
    source = sync_setup_cells.setup_source()
    url, branch = sync_setup_cells.repository()
    assert f"git+{url}@{branch}" in source
    for path in CHAPTERS:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        first_code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
        assert first_code.get("id") == sync_setup_cells.CELL_ID, f"{path.name}: first code cell is not the setup cell"
        assert "".join(first_code["source"]) == source, f"{path.name}: run scripts/sync_setup_cells.py"
        assert "remove-cell" in first_code["metadata"].get("tags", []), f"{path.name}: the setup cell shows on the website"
        assert first_code["outputs"] == [], f"{path.name}: the setup cell prints nothing off Colab"


def test_sync_reports_a_changed_repository(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/someone/fork/\n  branch: draft\n")
    source = sync_setup_cells.setup_source(config)
    assert '"git+https://example.org/someone/fork@draft"' in source
    copy = tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], copy)
    before = json.loads(copy.read_text(encoding="utf-8"))
    assert sync_setup_cells.sync(copy, source) == "updated"
    assert sync_setup_cells.sync(copy, source) is None
    after = json.loads(copy.read_text(encoding="utf-8"))
    changed = [a.get("id") for a, b in zip(after["cells"], before["cells"]) if a != b]
    assert changed == [sync_setup_cells.CELL_ID] and len(after["cells"]) == len(before["cells"])


def _stand_in_wheel(folder, name, version):
    """An empty wheel of ``name`` ``version``: something newer for pip to upgrade to."""
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return wheel


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory):
    """A virtualenv that sees this environment's packages but not the editable introdl, and
    whose own ipywidgets is Colab's 7.7.1 (its record only: pip reads the version from it)."""
    env_dir = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    own_site = Path(subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                                   check=True, capture_output=True, text=True).stdout.strip())
    # A path line in a .pth file adds the folder, without running that folder's own .pth files
    # (among them the one that makes introdl importable here).
    (own_site / "shared.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    colab_widgets = own_site / "ipywidgets-7.7.1.dist-info"
    colab_widgets.mkdir()
    (colab_widgets / "METADATA").write_text("Metadata-Version: 2.1\nName: ipywidgets\nVersion: 7.7.1\n")
    (colab_widgets / "INSTALLER").write_text("pip\n")
    (colab_widgets / "RECORD").write_text("")
    return python, own_site


def _pip_list(python):
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True).stdout
    return {package["name"].lower(): package["version"] for package in json.loads(listed)}


def _run_setup_cell(tmp_path, python, with_colab, source=None):
    cell = tmp_path / "setup_cell.py"
    cell.write_text(sync_setup_cells.setup_source())
    stand_in = tmp_path / "stand_in"
    if with_colab:
        (stand_in / "google" / "colab").mkdir(parents=True)
        (stand_in / "google" / "colab" / "__init__.py").write_text("")
    library = tmp_path / "library"  # a copy: building must not write into the checkout
    shutil.copytree(ROOT / "lib", library / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", library)
    offered = tmp_path / "offered"  # what an index would offer: a newer ipywidgets
    offered.mkdir()
    _stand_in_wheel(offered, "ipywidgets", "99.0")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(stand_in),
           "INTRODL_SOURCE": str(source or library),
           # (pip reads PIP_NO_BUILD_ISOLATION=0 as --no-build-isolation)
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(offered), "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
    (tmp_path / "probe.py").write_text(PROBE)
    return subprocess.run([python, tmp_path / "probe.py", cell], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_setup_cell_does_nothing_elsewhere(tmp_path, colab_python):
    python, _ = colab_python
    result = _run_setup_cell(tmp_path, python, with_colab=False)
    # Off Colab nothing is installed: the probe's final import fails, and nothing was printed.
    assert result.returncode != 0 and "No module named 'introdl'" in result.stderr
    assert result.stdout == ""


def test_a_failed_install_names_the_source_and_what_to_do(tmp_path, colab_python):
    python, _ = colab_python
    nowhere = tmp_path / "not-a-copy-of-the-book"
    result = _run_setup_cell(tmp_path, python, with_colab=True, source=nowhere)
    assert result.returncode != 0
    message = result.stderr.splitlines()
    assert any(line.startswith("RuntimeError: The book's library, introdl, could not be installed "
                               f"from {nowhere}") for line in message), result.stderr
    assert "pip install --no-deps ." in result.stderr and "README.md" in result.stderr


# After the tests above: they need the virtualenv before anything is installed into it.
def test_setup_cell_installs_introdl_and_nothing_else_on_colab(tmp_path, colab_python):
    python, own_site = colab_python
    before = _pip_list(python)
    assert before["ipywidgets"] == "7.7.1"
    result = _run_setup_cell(tmp_path, python, with_colab=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"introdl installed from {tmp_path / 'library'}"
    assert Path(lines[-1]).is_relative_to(own_site), lines[-1]
    after = _pip_list(python)
    for packages in before, after:  # (this environment's editable introdl is listed before too)
        packages.pop("introdl", None)
    assert after == before, {name: (before.get(name), after.get(name)) for name in set(before) | set(after)
                             if before.get(name) != after.get(name)}
