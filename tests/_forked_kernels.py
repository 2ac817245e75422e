"""Jupyter kernels for the test command, forked from a process that has already imported the
heavy libraries.

Every chapter that nbval runs, and every submission that nbgrader grades, starts a fresh IPython
kernel, and a fresh kernel pays for its imports: torch (2–3 s, and torch._dynamo at the first
``torch.optim`` call, 2 s more), scikit-learn (1.5 s), matplotlib and ipykernel (1 s). That was more
than half of what the notebooks cost the test command. Here one server per pytest process imports
them once, and each kernel is a ``fork()`` of that server: a new process, in its own session, with
an empty namespace, run by ipykernel exactly as ``python -m ipykernel_launcher`` runs it, whose
``import torch`` finds the module already loaded.

The pieces, all in this file:

* the kernelspec ``python3`` that the tests put first on ``JUPYTER_PATH`` (``install``), so that
  nbval and nbgrader (a subprocess, which inherits the environment) both start their kernels with
  this Python, whatever other ``python3`` kernels the machine knows;
* the server (``python _forked_kernels.py --serve NAME FD MODULE...``, started by ``start_server``
  with the abstract Unix socket it listens on): it imports the modules, then forks one kernel per
  request.
  It kills a kernel's process group when the kernel's launcher is gone (jupyter_client killed it),
  tells the launcher how the kernel exited, and kills what is left of its kernels when the pytest
  process that started it ends;
* the launcher (what the kernelspec runs: ``python _forked_kernels.py -f CONNECTION_FILE``): it hands
  the server its argument list, working directory, environment and standard streams, forwards the
  signals jupyter_client sends it (interrupt, terminate) to the kernel's process group and exits as
  the kernel did.

A kernel is forked only when its environment is the server's, apart from the variables in
``PER_KERNEL`` that are read when used, not when Python starts or a library is imported (a
different ``OMP_NUM_THREADS`` or ``PYTHONHASHSEED`` would not take effect in a fork). Otherwise, and
without a server, or if the server cannot be reached, the launcher becomes an ordinary kernel
(``exec``). Known differences from an ordinary kernel: kernels forked by one server share the
string hash seed, and a module that the server imported is not imported again.

Linux only (macOS forbids ``fork()`` after some system frameworks are loaded); elsewhere, or with
``INTRODL_FORKED_KERNELS=0``, every kernel is an ordinary one.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

SERVER_VARIABLE = "INTRODL_KERNEL_SERVER"  # the name of the server's abstract Unix socket
SWITCH_VARIABLE = "INTRODL_FORKED_KERNELS"  # "0": ordinary kernels
INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets MPLBACKEND to
# Not matplotlib_inline.backend_inline: importing it registers its draw-and-close hook with the
# IPython shell, and the server has none.
PRELOAD = [
    "ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "scipy", "torch", "torch._dynamo",
    "sklearn.datasets", "sklearn.model_selection", "sklearn.metrics", "matplotlib.pyplot", "ipywidgets",
]
# Read when used: nbgrader sets NBGRADER_EXECUTION (read by its helpers when called) and
# KMP_DUPLICATE_LIB_OK (read by Intel's OpenMP when a second copy of it loads) for its kernels;
# torch sets TORCHINDUCTOR_CACHE_DIR when its compiler first needs the folder.
PER_KERNEL = {"PATH", "JUPYTER_PATH", "PYTEST_CURRENT_TEST", SERVER_VARIABLE,
              "NBGRADER_EXECUTION", "KMP_DUPLICATE_LIB_OK", "TORCHINDUCTOR_CACHE_DIR"}
PER_KERNEL_PREFIXES = ("JPY_", "IPY_", "PYDEVD_")  # set by jupyter_client for each kernel
HERE = os.path.dirname(os.path.abspath(__file__))
FORWARDED = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2]
_HEADER = struct.Struct("!Q")


def available():
    """True where kernels are forked: Linux, unless INTRODL_FORKED_KERNELS=0."""
    return sys.platform.startswith("linux") and os.environ.get(SWITCH_VARIABLE, "1") != "0"


# --- for conftest.py ----------------------------------------------------------------------------

def install(folder):
    """Write the ``python3`` kernelspec into ``folder``/kernels and put ``folder`` first on
    JUPYTER_PATH (in os.environ: kernels and subprocesses inherit it)."""
    spec = os.path.join(folder, "kernels", "python3")
    os.makedirs(spec, exist_ok=True)
    with open(os.path.join(spec, "kernel.json"), "w") as file:
        json.dump({"argv": [sys.executable, os.path.abspath(__file__), "-f", "{connection_file}"],
                   "display_name": "Python 3 (ipykernel)", "language": "python"}, file)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [folder, os.environ.get("JUPYTER_PATH")]))


def start_server(preload=PRELOAD):
    """Start a server (it imports ``preload`` in the background) and point the launchers at it.
    Returns the server's Popen; the server stops, and kills what is left of its kernels, when its
    stdin closes: when this process ends, or when ``stop_server`` is called."""
    name = f"introdl-kernels-{os.getpid()}-{os.urandom(6).hex()}"
    # Listening before the server starts: a launcher that comes before the server is up waits.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(_address(name))
        listener.listen(64)
        # os.environ, as jupyter_client gives it to kernels: the C library's environment, which
        # Popen passes by default, can hold variables that C code set (COLUMNS and LINES, for one).
        server = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", name, str(listener.fileno()), *preload],
            stdin=subprocess.PIPE, start_new_session=True, env=dict(os.environ), pass_fds=[listener.fileno()])
    os.environ[SERVER_VARIABLE] = name
    return server


def stop_server(server):
    if os.environ.get(SERVER_VARIABLE) == server.args[3]:
        del os.environ[SERVER_VARIABLE]
    server.stdin.close()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _address(name):
    return "\0" + name  # in the abstract namespace: no file, no limit from the folder's path


def _differences(environment, server_environment, set_by_imports):
    """The variables, other than per-kernel ones and those that the server's imports set (as they
    would in the kernel), in which a kernel's environment differs from the server's."""
    names = set(environment) | set(server_environment)
    return sorted(name for name in names
                  if name not in PER_KERNEL and not name.startswith(PER_KERNEL_PREFIXES) and name not in set_by_imports
                  and environment.get(name) != server_environment.get(name))


# --- the request: its length, then JSON, and the launcher's stdin, stdout and stderr ----------

def _send(sock, message, fds):
    data = json.dumps(message).encode()
    data = _HEADER.pack(len(data)) + data
    sent = socket.send_fds(sock, [data], list(fds))
    sock.sendall(data[sent:])


def _receive(sock, maxfds):
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, maxfds)
    while len(data) < _HEADER.size or len(data) < _HEADER.size + _HEADER.unpack_from(data)[0]:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the other side hung up mid-message")
        data += chunk
    return json.loads(data[_HEADER.size:]), fds


def _kill_group(pid):
    for kill in (os.killpg, os.kill):  # the group (the kernel calls setsid first thing), then the pid
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --- the server ---------------------------------------------------------------------------------

def serve(listener, preload):
    import selectors
    import warnings

    started_with = dict(os.environ)
    if not os.environ.get("MPLBACKEND"):  # as ipykernel does, before matplotlib reads it
        os.environ["MPLBACKEND"] = INLINE
    for module in preload:
        try:
            __import__(module)
        except ImportError:
            pass  # the kernel imports it itself, or fails as an ordinary kernel would
    # Set by the imports (scikit-learn sets KMP_INIT_AT_FORK), not by whoever started the server.
    set_by_imports = {name for name in set(os.environ) | set(started_with)
                      if name != "MPLBACKEND" and os.environ.get(name) != started_with.get(name)}
    # The only other threads are OpenBLAS's, which OpenBLAS stops before a fork and restarts after.
    warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)

    wake_read, wake_write = os.pipe()  # SIGCHLD wakes the loop: a launcher hears at once
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    kernels = {}  # pid -> the connection to its launcher, while both live
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                if not os.read(sys.stdin.fileno(), 1024):  # the pytest process is done or gone
                    for pid in kernels:
                        _kill_group(pid)
                    return
            elif key.fileobj is wake_read:
                os.read(wake_read, 1024)
            elif key.fileobj is listener:
                connection, _ = listener.accept()
                try:
                    connection.settimeout(10)
                    request, fds = _receive(connection, maxfds=3)
                except (OSError, ValueError):
                    connection.close()
                    continue
                differences = _differences(request["env"], started_with, set_by_imports)
                if differences:
                    print(f"kernel server: an ordinary kernel, since its environment differs in "
                          f"{', '.join(differences)}", file=sys.stderr, flush=True)
                    connection.sendall(b"ordinary\n")
                    connection.close()
                else:
                    pid = _fork_kernel(request, fds, [listener, connection, selector, *kernels.values()],
                                       [wake_read, wake_write])
                    connection.sendall(f"kernel {pid}\n".encode())
                    connection.settimeout(None)
                    kernels[pid] = connection
                    selector.register(connection, selectors.EVENT_READ, pid)
                for fd in fds:
                    os.close(fd)
            elif not key.fileobj.recv(64):  # a launcher sends nothing more: it is gone
                selector.unregister(key.fileobj)
                key.fileobj.close()
                del kernels[key.data]
                _kill_group(key.data)
        for pid, code in _reaped():  # tell their launchers how the kernels ended
            connection = kernels.pop(pid, None)
            if connection is not None:
                selector.unregister(connection)
                try:
                    connection.sendall(f"exit {code}\n".encode())
                except OSError:
                    pass
                connection.close()


def _reaped():
    """(pid, exit code) of each child that has ended, without waiting."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def _fork_kernel(request, fds, server_files, server_fds):
    """Fork a kernel for ``request``; returns its pid. The child closes the server's files."""
    pid = os.fork()
    if pid == 0:
        try:
            for open_file in server_files:
                open_file.close()
            signal.set_wakeup_fd(-1)
            for fd in server_fds:
                os.close(fd)
            _run_kernel(request, fds)
        finally:
            os._exit(1)
    return pid


def _run_kernel(request, fds):
    """In the forked child: become the process ``python -m ipykernel_launcher ARGV`` would be."""
    import atexit

    os.setsid()  # its own process group: jupyter_client's signals reach the kernel's children too
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    for number in FORWARDED + [signal.SIGCHLD]:
        signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [os.path.join(os.path.dirname(__import__("ipykernel").__path__[0]), "ipykernel_launcher.py"),
                *request["argv"]]
    sys.orig_argv = [sys.executable, "-m", "ipykernel_launcher", *request["argv"]]
    sys.path[:] = [entry for entry in sys.path if entry != HERE]  # ipykernel_launcher drops its own
    if "multiprocessing.process" in sys.modules:  # read at import: the directory Python started in
        sys.modules["multiprocessing.process"].ORIGINAL_DIR = os.path.abspath(request["cwd"])
    # Global generators seeded from the OS when the server imported them: new seeds, as a new
    # process would draw.
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    code = 0
    try:
        from ipykernel import kernelapp

        # parent_handle's default is read from the environment when ipykernel is imported, which
        # was in the server: pass this kernel's own.
        parent = os.environ.get("JPY_PARENT_PID")
        kernelapp.launch_new_instance(sys.argv[1:] + ([f"--IPKernelApp.parent_handle={parent}"] if parent else []))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


# --- the launcher -------------------------------------------------------------------------------

def launch(argv):
    name = os.environ.get(SERVER_VARIABLE)
    pid = None
    if name and available():
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(30)  # the server may still be importing; a hung one is given up
            connection.connect(_address(name))
            _send(connection, {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}, fds=(0, 1, 2))
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = connection.recv(64)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                reply += chunk
            if reply.startswith(b"kernel "):
                pid = int(reply.split()[1])
            connection.settimeout(None)
        except (OSError, ValueError):
            pid = None
    if pid is None:  # an ordinary kernel
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])

    def forward(number, _frame):
        try:
            os.killpg(pid, number)
        except (ProcessLookupError, PermissionError):
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    said = b""
    while chunk := connection.recv(64):
        said += chunk
    words = said.split()
    if len(words) == 2 and words[0] == b"exit":
        code = int(words[1])
    else:  # the server is gone: wait for the kernel itself
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        code = 1
    if code < 0:  # ended by a signal: end the same way
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(socket.socket(fileno=int(sys.argv[3])), sys.argv[4:])  # launchers wait there during the imports
    else:
        launch(sys.argv[1:])
