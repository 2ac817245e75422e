"""The chapters' setup cell: it installs introdl on Colab, and does nothing anywhere else.

The Colab path is proved without a network: the cell runs in a fresh interpreter that cannot
import introdl, with a stand-in ``google.colab`` module on its path and INTRODL_SOURCE pointing
at a copy of the local library; afterwards introdl imports from where pip put it.
"""
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import sync_setup_cells  # noqa: E402

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
        notebook = nbformat.read(path, as_version=4)
        first_code = next(c for c in notebook.cells if c.cell_type == "code")
        assert first_code.get("id") == sync_setup_cells.CELL_ID, f"{path.name}: first code cell is not the setup cell"
        assert first_code.source == source, f"{path.name}: run scripts/sync_setup_cells.py"
        assert first_code.outputs == [], f"{path.name}: the setup cell prints nothing off Colab"


def test_sync_reports_a_changed_repository(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/someone/fork/\n  branch: draft\n")
    source = sync_setup_cells.setup_source(config)
    assert '"git+https://example.org/someone/fork@draft"' in source
    copy = tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], copy)
    assert sync_setup_cells.sync(copy, source) == "updated"
    assert sync_setup_cells.sync(copy, source) is None


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A virtualenv that sees this environment's packages but not the editable introdl."""
    env_dir = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    own_site = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                              check=True, capture_output=True, text=True).stdout.strip()
    # A path line in a .pth file adds the folder, without running that folder's own .pth files
    # (among them the one that makes introdl importable here).
    (Path(own_site) / "shared.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python, Path(own_site)


def _run_setup_cell(tmp_path, python, with_colab):
    cell = tmp_path / "setup_cell.py"
    cell.write_text(sync_setup_cells.setup_source())
    stand_in = tmp_path / "stand_in"
    if with_colab:
        (stand_in / "google" / "colab").mkdir(parents=True)
        (stand_in / "google" / "colab" / "__init__.py").write_text("")
    library = tmp_path / "library"  # a copy: building must not write into the checkout
    shutil.copytree(ROOT / "lib", library / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", library)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(stand_in),
           "INTRODL_SOURCE": str(library),
           # (pip reads PIP_NO_BUILD_ISOLATION=0 as --no-build-isolation)
           "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
    (tmp_path / "probe.py").write_text(PROBE)
    return subprocess.run([python, tmp_path / "probe.py", cell], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_setup_cell_does_nothing_elsewhere(tmp_path, bare_python):
    python, _ = bare_python
    result = _run_setup_cell(tmp_path, python, with_colab=False)
    # Off Colab nothing is installed: the probe's final import fails, and nothing was printed.
    assert result.returncode != 0 and "No module named 'introdl'" in result.stderr
    assert result.stdout == ""


# After the test above: it needs the virtualenv before anything is installed into it.
def test_setup_cell_installs_introdl_on_colab(tmp_path, bare_python):
    python, own_site = bare_python
    result = _run_setup_cell(tmp_path, python, with_colab=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"introdl installed from {tmp_path / 'library'}"
    assert Path(lines[-1]).is_relative_to(own_site), lines[-1]
