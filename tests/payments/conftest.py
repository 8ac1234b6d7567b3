"""Payments run against the real sandbox gateway (a separate process, over HTTP): see the
`sandbox_gateway` and `gateway` fixtures in the repository's conftest.py."""

import datetime
import uuid

import pytest

from remit.gateway.base import AccountHolderType, AccountType, BankAccount, Billing, Card
from remit.gateway.nmi import parse_query_xml
from remit.payments.services import NewBankAccount, NewCard, pay_invoice
from tests.factories import make_invoice

VISA = "4111111111111111"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
PROCESSOR_ERROR_CARD = "4000000000000119"
ROUTING = "490000018"
ACCOUNT = "24413815"
RETURNED_R01_ACCOUNT = "1000000001"
FAILED_ACCOUNT = "1000000003"

BILLING = Billing(
    first_name="Nancy",
    last_name="Davolio",
    address1="507 20th Ave E",
    city="Seattle",
    state="WA",
    zip="98122",
    country="US",
)


def new_card(
    number: str = VISA, cvv: str = "123", month: int = 12, year: int | None = None
) -> NewCard:
    year = year or datetime.date.today().year + 3
    return NewCard(
        card=Card(number=number, exp_month=month, exp_year=year, cvv=cvv), billing=BILLING
    )


def new_bank(
    account: str = ACCOUNT,
    holder: AccountHolderType = AccountHolderType.PERSONAL,
    account_type: AccountType = AccountType.CHECKING,
) -> NewBankAccount:
    return NewBankAccount(
        account=BankAccount(
            routing_number=ROUTING,
            account_number=account,
            name_on_account="Nancy Davolio",
            holder_type=holder,
            account_type=account_type,
        ),
        billing=BILLING,
    )


def sales_at_gateway(sandbox) -> list:
    """Every sale the sandbox has seen since the test's reset."""
    return parse_query_xml(sandbox.query_xml(action_type="sale"))


def run_ready_jobs() -> tuple[int, list]:
    """Run the ready jobs from the real queue (django-tasks-db's table), with its worker's own
    run_task, inside the test's transaction. Returns how many ran and the failed ones."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    while (job := DBTaskResult.objects.ready().get_locked()) is not None:
        job.claim(worker.worker_id)
        worker.run_task(job)
        ran += 1
    return ran, list(DBTaskResult.objects.failed())


def run_worker() -> int:
    """run_ready_jobs, where a job that fails fails the test."""
    ran, failed = run_ready_jobs()
    assert not failed, [f"{job.task_path}: {job.traceback}" for job in failed]
    return ran


@pytest.fixture
def pay(gateway, manager):
    """pay(invoice, choice, **kwargs): pay_invoice as the Northwind manager, a new attempt key each
    time unless one is given."""

    def _pay(invoice, choice, *, user=None, attempt_key=None, save=False, ip="203.0.113.7"):
        return pay_invoice(
            user=user or manager,
            invoice=invoice,
            attempt_key=attempt_key or uuid.uuid4(),
            choice=choice,
            save_method=save,
            ip_address=ip,
            gateway=gateway,
        )

    return _pay


@pytest.fixture
def due_invoice(northwind):
    return make_invoice(northwind, total="1234.00", number="NW-2001")
