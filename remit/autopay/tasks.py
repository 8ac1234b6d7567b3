"""The periodic jobs of autopay and reminders (remit/core/periodic.py enqueues them). Payloads are
empty: the jobs find their work in the database."""

from django_tasks import task


@task()
def run_autopay_task() -> dict:
    from remit.autopay.charge import run_autopay

    return run_autopay()


@task()
def send_reminders_task() -> dict:
    from remit.autopay.reminders import run_reminders

    return run_reminders()
