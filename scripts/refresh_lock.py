"""Rebuild the locks (requirements/*.lock) from requirements/*.txt, then check the book with them.

    python scripts/refresh_lock.py                  # the three locks, binder/, the check
    python scripts/refresh_lock.py --no-check       # the locks only

For each role (reader, teacher, author) a fresh virtualenv gets ``requirements/<role>.txt`` and
the library, and ``pip freeze`` of it, less the library, becomes ``requirements/<role>.lock``:
every package at an exact version. binder/requirements.txt is the reader's lock with PyTorch's
CPU index (Binder then installs the library after it, binder/postBuild). Then the author's
virtualenv runs scripts/check_reproducible.py: the stored outputs must come out the same with the
new versions. When all is well, write the date into README.md's "lock last verified" line.
"""
import argparse
import datetime
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
ROLES = ("reader", "teacher", "author")
CPU_TORCH = "https://download.pytorch.org/whl/cpu"


def lock(role: str, folder: Path) -> Path:
    """Install requirements/<role>.txt into a fresh virtualenv in ``folder``; write the lock."""
    venv = folder / role
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run(pip + ["install", "--quiet", "-r", str(REQUIREMENTS / f"{role}.txt"), str(ROOT)], check=True)
    # --all: setuptools too (torch needs it at run time); pip itself is the installer's own
    frozen = subprocess.run(pip + ["freeze", "--all", "--exclude", "introdl", "--exclude", "pip"], check=True,
                            capture_output=True, text=True).stdout
    # torch's CPU build is 2.13.0+cpu; the lock says 2.13.0, which that build and the macOS and
    # Windows wheels all satisfy (README.md: how Linux gets the CPU build)
    pins = sorted((re.sub(r"^torch==([^+]+)\+cpu$", r"torch==\1", line)
                   for line in frozen.splitlines() if "==" in line), key=str.lower)
    header = (f"# The {role}'s packages at exact versions: `pip freeze` of a fresh virtualenv made from\n"
              f"# requirements/{role}.txt and the library by scripts/refresh_lock.py on "
              f"{datetime.date.today()}\n# (Python {platform.python_version()}, {platform.system()} "
              f"{platform.machine()}). Do not edit; run that script.\n")
    path = REQUIREMENTS / f"{role}.lock"
    path.write_text(header + "\n".join(pins) + "\n", encoding="utf-8")
    print(f"{path.relative_to(ROOT)}: {len(pins)} packages")
    return venv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="skip scripts/check_reproducible.py")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="introdl-locks-") as folder:
        venvs = {role: lock(role, Path(folder)) for role in ROLES}
        reader = (REQUIREMENTS / "reader.lock").read_text(encoding="utf-8")
        (ROOT / "binder" / "requirements.txt").write_text(
            "# Binder: requirements/reader.lock (written with it by scripts/refresh_lock.py), torch from\n"
            "# PyTorch's CPU index (Binder has no GPU; the CUDA build from PyPI is 2.7 GB more). No local\n"
            "# paths, so repo2docker builds this layer once; binder/postBuild installs the library.\n"
            f"--extra-index-url {CPU_TORCH}\n" + reader, encoding="utf-8")
        if args.no_check:
            return 0
        python = venvs["author"] / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)], check=True)
        check = subprocess.run([str(python), str(ROOT / "scripts" / "check_reproducible.py")])
        if check.returncode != 0:
            print("refresh_lock: the chapters' outputs change with the new locks (table above)")
            return check.returncode
    print(f"refresh_lock: verified; put {datetime.date.today()} in README.md as the date the lock was last verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
