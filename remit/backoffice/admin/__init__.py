"""The back office's model pages, one module per area."""

from remit.backoffice.admin import (  # noqa: F401
    accounts,
    audit,
    billing,
    payment_page,
    payments,
    provider,
    surcharge,
)
