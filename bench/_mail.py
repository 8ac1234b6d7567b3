"""A bench-only email backend: Django's file backend writing into REMIT_BENCH_MAIL_DIR (the
settings read no EMAIL_FILE_PATH), one file per connection, named by process so that several
workers never share a file. bench/scale_out.py counts the messages in them."""

from __future__ import annotations

import os
import uuid

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file_path", os.environ["REMIT_BENCH_MAIL_DIR"])
        super().__init__(*args, **kwargs)

    def _get_filename(self):
        if self._fname is None:
            self._fname = os.path.join(self.file_path, f"{os.getpid()}-{uuid.uuid4().hex}.log")
        return self._fname
