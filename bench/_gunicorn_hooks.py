"""gunicorn configuration for bench/faults.py (`gunicorn -c bench/_gunicorn_hooks.py`): each worker
writes "pid METHOD path" to $REMIT_BENCH_REQUEST_LOG as it starts a request, so the bench knows
which worker process to kill while it waits on the gateway. Not part of Remit."""

import os


def pre_request(worker, req):
    path = os.environ.get("REMIT_BENCH_REQUEST_LOG")
    if path:
        # One short write with O_APPEND: lines from several workers never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{worker.pid} {req.method} {req.path}\n".encode())
        finally:
            os.close(fd)
