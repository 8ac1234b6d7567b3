"""remit/core/batch.py: the writes of one money change sent together. A write of a shape already
compiled reuses the ORM's SQL with new values; what lands is what the ORM's own save would write."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from remit.audit.models import AuditEvent
from remit.billing.models import Invoice
from remit.core import batch as batch_module
from remit.core.batch import WriteBatch
from tests.factories import OrganizationFactory, UserFactory, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_kept_sql(monkeypatch):
    """Each test starts with no write shape kept (the cache is the process's)."""
    monkeypatch.setattr(batch_module, "_SQL", {})


@pytest.fixture
def compiles(monkeypatch):
    """How many times the ORM compiled an INSERT or an UPDATE."""
    from django.db.models import sql

    counted = {"insert": 0, "update": 0}
    for kind, query in (("insert", sql.InsertQuery), ("update", sql.UpdateQuery)):
        original = query.get_compiler

        def counting(self, *args, _kind=kind, _original=original, **kwargs):
            counted[_kind] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(query, "get_compiler", counting)
    return counted


def _audit(n, **fields):
    return AuditEvent(action=f"test.batch.{n}", summary=f"entry {n}", **fields)


def test_inserts_of_one_shape_land_as_the_orm_writes_them(compiles):
    organization = OrganizationFactory()
    user = UserFactory(organization=organization)
    compiles.update(insert=0, update=0)  # the factories' saves aside
    batch = WriteBatch()
    batch.insert(_audit(1, actor=user, organization=organization, details={"amount": "10.00"}))
    batch.insert(_audit(2, ip_address="203.0.113.9", details={"nested": {"list": [1, 2]}}))
    batch.insert(_audit(3))  # every nullable column NULL
    batch.flush()
    batch.insert(_audit(4, actor=user, details={"after": "the first flush"}))
    batch.flush()
    rows = {e.action: e for e in AuditEvent.objects.filter(action__startswith="test.batch.")}
    assert rows["test.batch.1"].actor == user
    assert rows["test.batch.1"].organization == organization
    assert rows["test.batch.1"].details == {"amount": "10.00"}
    assert rows["test.batch.2"].ip_address == "203.0.113.9"
    assert rows["test.batch.2"].details == {"nested": {"list": [1, 2]}}
    assert rows["test.batch.3"].actor is None
    assert rows["test.batch.3"].details == {}
    assert rows["test.batch.4"].details == {"after": "the first flush"}
    # The shape was compiled once and its SQL kept (its parameters were the ORM's own).
    assert ("insert", AuditEvent, False, "default") in batch_module._SQL
    assert compiles["insert"] == 1


def test_updates_set_values_and_nulls_and_auto_now_on_each_write(compiles):
    invoice = make_invoice(OrganizationFactory(), total="300.00")
    compiles.update(insert=0, update=0)
    before = invoice.updated_at
    issued = timezone.now() - datetime.timedelta(days=3)
    for n, (issued_at, paid) in enumerate(
        [(issued, "10.00"), (None, "20.00"), (issued, "30.00"), (None, "40.00")]
    ):
        invoice.issued_at, invoice.amount_paid = issued_at, Decimal(paid)
        batch = WriteBatch()
        batch.update(invoice, ["issued_at", "amount_paid", "updated_at"])
        batch.flush()
        invoice.refresh_from_db()
        assert invoice.issued_at == issued_at, n
        assert invoice.amount_paid == Decimal(paid), n
        assert invoice.amount_due == Decimal("300.00") - Decimal(paid), n
        assert invoice.updated_at > before, n
        before = invoice.updated_at
    assert compiles["update"] == 2  # one per pattern of NULLs, then kept


def test_an_update_of_another_row_with_a_kept_shape_changes_only_that_row():
    organization = OrganizationFactory()
    first, second = make_invoice(organization), make_invoice(organization)
    for invoice, number in ((first, "KEEP-1"), (second, "KEEP-2")):
        batch = WriteBatch()
        batch.update_values(Invoice, invoice.pk, number=number)
        batch.flush()
    assert Invoice.objects.get(pk=first.pk).number == "KEEP-1"
    assert Invoice.objects.get(pk=second.pk).number == "KEEP-2"


def test_an_expression_is_compiled_by_the_orm_every_time(compiles):
    invoice = make_invoice(OrganizationFactory(), total="100.00", paid="5.00")
    compiles.update(insert=0, update=0)
    for _ in range(2):
        batch = WriteBatch()
        batch.update_values(Invoice, invoice.pk, amount_paid=F("amount_paid") + Decimal("1.00"))
        batch.flush()
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("7.00")
    assert compiles["update"] == 2


def test_a_bad_write_raises_from_flush_and_nothing_of_the_batch_lands():
    from django.db import IntegrityError, transaction

    organization = OrganizationFactory()
    invoice = make_invoice(organization)
    batch = WriteBatch()
    batch.insert(_audit("rolled-back"))
    batch.update_values(Invoice, invoice.pk, number=None)  # NOT NULL

    def flush_in_a_transaction():
        with transaction.atomic():
            batch.flush()

    with pytest.raises(IntegrityError):
        flush_in_a_transaction()
    assert not AuditEvent.objects.filter(action="test.batch.rolled-back").exists()


def test_several_writes_are_one_round_trip_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("sent together on PostgreSQL (pipeline mode); one by one elsewhere")
    invoice = make_invoice(OrganizationFactory())
    for _ in range(2):  # the second time with the kept SQL
        batch = WriteBatch()
        batch.insert(_audit("trip"))
        batch.update_values(Invoice, invoice.pk, number="TRIP")
        with CaptureQueriesContext(connection) as queries:
            batch.flush()
        assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_built_once_still_refuses_to_run_outside_a_transaction():
    """Django checks select_for_update outside a transaction when it compiles a query, which a
    Prepared query does once per connection: Prepared checks it on every run."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    from remit.accounts.services import ensure_system_security_levels
    from remit.payments.services.start import _locked_invoice

    ensure_system_security_levels()  # a transactional test's tables start empty
    invoice = make_invoice(OrganizationFactory())
    with transaction.atomic():
        assert _locked_invoice.get(pk=invoice.pk) == invoice  # compiled here, in a transaction
    with pytest.raises(TransactionManagementError):
        _locked_invoice.get(pk=invoice.pk)
