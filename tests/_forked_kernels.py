"""Jupyter kernels for the test command, forked from a process that has already imported the
heavy libraries.

Every chapter that nbval runs, and every submission that nbgrader grades, starts a fresh IPython
kernel, and a fresh kernel pays for its imports: torch (2–3 s, and torch._dynamo at the first
``torch.optim`` call, 2 s more), scikit-learn (1.5 s), matplotlib and ipykernel (1 s). That was more
than half of what the notebooks cost the test command. Here one server per pytest process imports
them once, and each kernel is a ``fork()`` of that server: a new process with an empty namespace,
run by ipykernel exactly as ``python -m ipykernel_launcher`` runs it, whose ``import torch`` finds
the module already loaded.

The pieces, all in this file:

* the kernelspec ``python3`` that the tests put first on ``JUPYTER_PATH`` (``install``), so that
  nbval and nbgrader (a subprocess, which inherits the environment) both start their kernels with
  this Python, whatever other ``python3`` kernels the machine knows;
* the server (``python _forked_kernels.py --serve SOCKET``, started by ``start_server``): it
  listens on a Unix socket, imports ``PRELOAD``, then forks one kernel per request;
* the launcher (what the kernelspec runs: ``python _forked_kernels.py -f CONNECTION_FILE``): it hands
  the server its argument list, working directory, environment and standard streams, forwards the
  signals jupyter_client sends it (interrupt, terminate) to the kernel and exits when the kernel
  does. A kernel whose launcher is gone (killed with SIGKILL, say) exits too. Without a server, or if
  the server cannot be reached, the launcher becomes an ordinary kernel (``exec``).

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

SERVER_VARIABLE = "INTRODL_KERNEL_SERVER"  # the server's socket, for the launchers
SWITCH_VARIABLE = "INTRODL_FORKED_KERNELS"  # "0": ordinary kernels
INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets MPLBACKEND to
PRELOAD = [
    "ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "scipy", "torch", "torch._dynamo",
    "sklearn.datasets", "sklearn.model_selection", "sklearn.metrics", "matplotlib.pyplot",
    "matplotlib_inline.backend_inline", "ipywidgets",
]
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


def start_server(folder, preload=PRELOAD):
    """Start the server (it imports ``preload`` in the background) and point the launchers at it.
    Returns the server's Popen; it stops by itself when its stdin closes, that is when this
    process ends, or when ``stop_server`` is called."""
    path = os.path.join(folder, "kernels.sock")
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", path, *preload],
                              stdin=subprocess.PIPE, start_new_session=True)
    os.environ[SERVER_VARIABLE] = path
    return server


def stop_server(server):
    os.environ.pop(SERVER_VARIABLE, None)
    server.stdin.close()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


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


# --- the server ---------------------------------------------------------------------------------

def serve(path, preload):
    import selectors

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # launchers that come during the imports wait here
    if not os.environ.get("MPLBACKEND"):  # as ipykernel does, before matplotlib reads it
        os.environ["MPLBACKEND"] = INLINE
    for name in preload:
        try:
            __import__(name)
        except ImportError:
            pass  # the kernel imports it itself, or fails as an ordinary kernel would
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select(timeout=1.0):
            if key.fileobj is sys.stdin:
                if not os.read(sys.stdin.fileno(), 1024):  # the pytest process is gone
                    listener.close()
                    os.unlink(path)
                    return
                continue
            connection, _ = listener.accept()
            try:
                connection.settimeout(10)
                request, fds = _receive(connection, maxfds=3)
                connection.settimeout(None)
            except (OSError, ValueError):
                connection.close()
                continue
            if os.fork() == 0:
                try:
                    selector.close()
                    listener.close()
                    _run_kernel(connection, request, fds)
                finally:
                    os._exit(1)
            connection.close()
            for fd in fds:
                os.close(fd)
        _reap()


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _run_kernel(connection, request, fds):
    """In the forked child: become the process ``python -m ipykernel_launcher ARGV`` would be."""
    import atexit
    import threading

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
    sys.path[:] = [entry for entry in sys.path if entry != HERE]  # ipykernel_launcher drops its own
    if "numpy.random" in sys.modules:  # its global generator was seeded in the server: a new seed
        sys.modules["numpy.random"].seed()
    connection.sendall(f"{os.getpid()}\n".encode())

    def watch_launcher():
        try:
            while connection.recv(64):
                pass
        except OSError:
            pass
        os._exit(1)  # the launcher is gone, and with it the kernel

    threading.Thread(target=watch_launcher, daemon=True).start()
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
    try:
        connection.sendall(f"exit {code}\n".encode())
    except OSError:
        pass
    os._exit(code)


# --- the launcher -------------------------------------------------------------------------------

def launch(argv):
    path = os.environ.get(SERVER_VARIABLE)
    connection = None
    if path and available():
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(path)
            _send(connection, {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}, fds=(0, 1, 2))
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = connection.recv(64)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                reply += chunk
            pid = int(reply)
        except (OSError, ValueError):
            connection = None
    if connection is None:  # an ordinary kernel
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])

    def forward(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    said = b""
    while chunk := connection.recv(64):
        said += chunk
    words = said.split()
    sys.exit(int(words[-1]) if len(words) >= 2 and words[-2] == b"exit" else 1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3:])
    else:
        launch(sys.argv[1:])
