"""A mail server that refuses: a real SMTP conversation on localhost, in a thread, that accepts
the connection and answers RCPT TO with a permanent 550 (the recipient does not exist). Down (no
server at all) is a port nothing listens on."""

import socketserver
import threading

import pytest

from tests.payments.conftest import due_invoice, pay  # noqa: F401  (the sandbox gateway's)


class RefusingSmtp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 mail.test ESMTP\r\n")
        for raw in self.rfile:
            verb = raw.decode("ascii", "replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 mail.test\r\n")
            elif verb == "MAIL":
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                self.wfile.write(b"550 5.1.1 No such user here\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"503 5.5.1 Bad sequence\r\n")


@pytest.fixture
def smtp_refusing(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RefusingSmtp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_TIMEOUT = 2
    yield server
    server.shutdown()
    server.server_close()


def smtp_back_up(settings) -> None:
    """The mail server answers again (the suite's in-memory outbox stands for it)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def run_ready_jobs() -> list[str]:
    """As tests.payments.conftest.run_worker, but a failing job is returned, not asserted: the old
    code's receipt job died with the SMTP error."""
    from tests.payments.conftest import run_ready_jobs as run

    return [job.task_path for job in run()[1]]
