"""The kernels the test command starts (tests/_forked_kernels.py) behave as ordinary kernels do.

Each test starts kernels the way nbval and nbgrader do (jupyter_client's KernelManager and the
``python3`` kernelspec), from a server of its own that preloads numpy.random and the book's
matplotlib modules.
"""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import _forked_kernels as forked

pytestmark = pytest.mark.skipif(not forked.available(), reason="kernels are forked on Linux only")
PRELOAD = ["numpy.random"] + [name for name in forked.PRELOAD if name.startswith("matplotlib")]


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv(forked.SERVER_VARIABLE, "")  # restored after the test
    forked.install(str(tmp_path))
    process = forked.start_server(preload=PRELOAD)
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
    """Execute ``code``; returns (what it printed, the MIME types it displayed, the reply's content)."""
    printed, shown = [], []

    def output(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "display_data":
            shown.extend(msg["content"]["data"])

    reply = client.execute_interactive(code, timeout=timeout, output_hook=output)
    return "".join(printed), shown, reply["content"]


def wait_for_output(client, text, seconds=30):
    """Read the kernel's output messages until one prints ``text``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=seconds)
        if message["msg_type"] == "stream" and text in message["content"]["text"]:
            return
    raise AssertionError(f"the kernel did not print {text!r} within {seconds} s")


def kernel_facts(client):
    out, _, _ = run(client, "import os, sys\nprint(os.getpid(), os.getppid(), os.getpgid(0), os.getcwd(), "
                            "os.environ.get('JPY_SESSION_NAME'), 'numpy.random' in sys.modules, 'np' in dir())")
    pid, ppid, pgid, cwd, session, numpy_loaded, np_bound = out.split()
    return dict(pid=int(pid), ppid=int(ppid), pgid=int(pgid), cwd=cwd, session=session,
                numpy_loaded=numpy_loaded == "True", np_bound=np_bound == "True")


def launcher(manager):
    return manager.provisioner.process


def ended(pid, seconds=10):
    """Whether process ``pid`` ends (or is a zombie: its parent reaps it) within ``seconds``."""
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
    manager, client = start(JPY_SESSION_NAME="first")
    facts = kernel_facts(client)
    assert facts["ppid"] == server.pid and facts["pid"] != launcher(manager).pid  # forked by the server
    assert facts["pgid"] == facts["pid"]  # in a process group of its own
    assert facts["cwd"] == str(tmp_path) and facts["session"] == "first"
    assert facts["numpy_loaded"] and not facts["np_bound"]  # imported once, in the server; no name bound
    _, other = start(JPY_SESSION_NAME="second")
    assert kernel_facts(other)["session"] == "second"
    # The two kernels' global NumPy generators were not both inherited from the server.
    draw = "import numpy as np\nprint(np.random.random())"
    assert run(client, draw)[0] != run(other, draw)[0]


def test_figures_are_drawn_and_closed(server, start):
    _, client = start()
    _, shown, _ = run(client, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    assert "image/png" in shown
    assert run(client, "print(len(plt.get_fignums()))")[0].strip() == "0"


def test_interrupt_reaches_the_kernel_and_its_children(server, start):
    manager, client = start()
    assert kernel_facts(client)["ppid"] == server.pid
    client.execute("import subprocess\nprint('running', flush=True)\nsubprocess.run(['sleep', '30'])")
    wait_for_output(client, "running")  # an interrupt while the kernel is idle is ignored
    started = time.monotonic()
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 5  # not after the child's 30 s
    assert run(client, "print(6 * 7)")[0].strip() == "42"  # and it lives on


def test_the_kernel_and_its_children_end_with_their_launcher(server, start):
    manager, client = start()
    facts = kernel_facts(client)
    assert facts["ppid"] == server.pid
    child = int(run(client, "import subprocess\nchild = subprocess.Popen(['sleep', '60'])\nprint(child.pid)")[0])
    client.execute("sum(range(10**11))")  # C code that holds the GIL for minutes
    time.sleep(0.5)
    os.kill(launcher(manager).pid, signal.SIGKILL)  # what jupyter_client's kill does
    assert ended(facts["pid"]), f"kernel {facts['pid']} still runs after its launcher was killed"
    assert ended(child), f"the kernel's child {child} still runs after the launcher was killed"


def test_a_shut_down_kernel_exits_and_so_does_its_launcher(server, start):
    manager, client = start()
    pid, process = kernel_facts(client)["pid"], launcher(manager)
    manager.shutdown_kernel(now=False)
    assert process.wait(timeout=10) == 0
    assert ended(pid), f"kernel {pid} still runs after its shutdown"


def test_the_launcher_exits_as_the_kernel_did(server, start):
    manager, client = start()
    process = launcher(manager)
    client.execute("import os\nos._exit(3)")
    assert process.wait(timeout=10) == 3


def test_a_kernel_with_another_start_up_environment_is_an_ordinary_one(server, start):
    manager, client = start(OMP_NUM_THREADS="1")  # read when torch is imported: a fork would ignore it
    assert kernel_facts(client)["pid"] == launcher(manager).pid  # the launcher became the kernel (exec)
    assert run(client, "import os\nprint(os.environ['OMP_NUM_THREADS'])")[0].strip() == "1"


def test_without_a_server_the_launcher_is_an_ordinary_kernel(tmp_path, start, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    forked.install(str(tmp_path))
    monkeypatch.setenv(forked.SERVER_VARIABLE, "introdl-no-such-server")
    manager, client = start()
    assert kernel_facts(client)["pid"] == launcher(manager).pid  # the launcher became the kernel (exec)
    out, _, _ = run(client, "import sys\nprint(sys.executable == " + repr(sys.executable) + ", 'numpy' in sys.modules)")
    assert out.split() == ["True", "False"]
