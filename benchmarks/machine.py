"""The machine the figures were measured on: CPU, cores, memory, OS, library versions, BLAS, GPU.

Every timing in results.md depends on it, so results.md starts with this description. Nothing
here is measured: it is read from /proc, ``platform``, threadpoolctl and the libraries themselves.
"""
from __future__ import annotations

import datetime
import os
import platform

from report import Table, load_average


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or ``platform.processor()`` elsewhere)."""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cores():
    """'2 (2 usable by this process)': the logical CPUs, and how many this process may run on."""
    total = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = total
    return f"{total} logical ({usable} usable by this process)"


def memory():
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return "unknown"


def operating_system():
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return f"{line.split('=', 1)[1].strip(chr(34))} (Linux {platform.release()})"
    return platform.platform()


def numpy_blas():
    """NumPy's BLAS as threadpoolctl sees it at run time: library, version, CPU kernel, threads."""
    import numpy as np
    from threadpoolctl import threadpool_info

    np.ones(2) @ np.ones(2)  # make sure the BLAS is loaded
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return (f"{info.get('internal_api')} {info.get('version')} "
                    f"({info.get('architecture')} kernels, {info.get('num_threads')} threads, "
                    f"{info.get('threading_layer')})")
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return f"{blas.get('name')} {blas.get('version')}"


def torch_description():
    """'2.13.0, BLAS mkl, 2 threads (OpenMP)', or 'not installed'."""
    try:
        import torch
    except ImportError:
        return "not installed"
    config = torch.__config__.show()
    blas = next((part.split("=", 1)[1] for part in config.replace(",", " ").split()
                 if part.startswith("BLAS_INFO=")), "unknown")
    return f"{torch.__version__}, BLAS {blas}, {torch.get_num_threads()} threads"


def gpu():
    try:
        import torch
    except ImportError:
        return "no GPU (torch not installed)"
    if not torch.cuda.is_available():
        return "no GPU"
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return ", ".join(names) + f" (CUDA {torch.version.cuda})"


def describe():
    """A two-column table, 'what' and 'value', describing this machine now."""
    import numpy
    import sklearn

    table = Table(["", "this run"])
    table.add("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"))
    table.add("CPU", cpu_model())
    table.add("cores", cores())
    table.add("memory", memory())
    table.add("OS", operating_system())
    table.add("Python", platform.python_version())
    table.add("NumPy", numpy.__version__)
    table.add("NumPy's BLAS", numpy_blas())
    table.add("scikit-learn", sklearn.__version__)
    table.add("PyTorch", torch_description())
    table.add("GPU", gpu())
    table.add("load average at start (1, 5, 15 min)", load_average())
    return table
