"""The back office's model pages, one module per area."""

from remit.backoffice.admin import accounts, audit, billing, payments, provider  # noqa: F401
