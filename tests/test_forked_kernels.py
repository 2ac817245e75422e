"""The kernels the test command starts (tests/_forked_kernels.py) behave as ordinary kernels do.

Each test starts kernels the way nbval and nbgrader do (jupyter_client's KernelManager and the
``python3`` kernelspec), from a server of its own that preloads only numpy.random.
"""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import _forked_kernels as forked

pytestmark = pytest.mark.skipif(not forked.available(), reason="kernels are forked on Linux only")


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv(forked.SERVER_VARIABLE, "")  # restored after the test
    forked.install(str(tmp_path))
    process = forked.start_server(str(tmp_path), preload=["numpy.random"])
    yield process
    forked.stop_server(process)


@pytest.fixture
def start(tmp_path):
    """start(**environment) -> (manager, client) of a kernel started in tmp_path."""
    from jupyter_client.manager import KernelManager

    started = []

    def start_kernel(**environment):
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(tmp_path), env={**os.environ, **environment})
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        started.append((manager, client))
        return manager, client

    yield start_kernel
    for manager, client in started:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
        manager.context.destroy(linger=0)  # the client's too: they share it


def run(client, code, timeout=30):
    """Execute ``code``; returns (what it printed, the reply's content)."""
    printed = []
    reply = client.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda msg: printed.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
    return "".join(printed), reply["content"]


def kernel_facts(client):
    out, _ = run(client, "import os, sys\nprint(os.getpid(), os.getppid(), os.getcwd(), os.environ.get('MARK'), "
                         "'numpy.random' in sys.modules, 'np' in dir())")
    pid, ppid, cwd, mark, numpy_loaded, np_bound = out.split()
    return int(pid), int(ppid), cwd, mark, numpy_loaded == "True", np_bound == "True"


def ended(pid, seconds=10):
    """Whether process ``pid`` ends (or is a zombie: its server reaps it) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_kernel_is_a_fresh_fork_with_the_launchers_directory_and_environment(server, start, tmp_path):
    manager, client = start(MARK="first")
    pid, ppid, cwd, mark, numpy_loaded, np_bound = kernel_facts(client)
    assert ppid == server.pid and pid != manager.provisioner.process.pid  # forked by the server
    assert cwd == str(tmp_path) and mark == "first"
    assert numpy_loaded and not np_bound  # imported once, in the server; no name in the namespace
    _, other = start(MARK="second")
    assert kernel_facts(other)[3] == "second"
    # The two kernels' global NumPy generators were not both inherited from the server.
    first_draw, _ = run(client, "import numpy as np\nprint(np.random.random())")
    second_draw, _ = run(other, "import numpy as np\nprint(np.random.random())")
    assert first_draw != second_draw


def test_interrupt_reaches_the_kernel(server, start):
    manager, client = start()
    client.execute("while True:\n    pass")
    time.sleep(0.5)
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert run(client, "print(6 * 7)")[0].strip() == "42"  # and it lives on


def test_the_kernel_ends_with_its_launcher(server, start):
    manager, client = start()
    pid = kernel_facts(client)[0]
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)  # what jupyter_client's kill does
    assert ended(pid), f"kernel {pid} still runs after its launcher was killed"


def test_a_shut_down_kernel_exits_and_so_does_its_launcher(server, start):
    manager, client = start()
    pid = kernel_facts(client)[0]
    manager.shutdown_kernel(now=False)
    assert not manager.is_alive()  # the launcher has exited ...
    assert ended(pid), f"kernel {pid} still runs after its shutdown"  # ... and so has the kernel


def test_without_a_server_the_launcher_is_an_ordinary_kernel(tmp_path, start, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    forked.install(str(tmp_path))
    monkeypatch.setenv(forked.SERVER_VARIABLE, str(tmp_path / "no-such-server.sock"))
    manager, client = start()
    pid, ppid, *_ = kernel_facts(client)
    assert pid == manager.provisioner.process.pid  # the launcher became the kernel (exec)
    out, _ = run(client, "import sys\nprint(sys.executable == " + repr(sys.executable) + ", 'numpy' in sys.modules)")
    assert out.split() == ["True", "False"]
