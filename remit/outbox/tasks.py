"""The email job: takes only the outgoing email's id (the message is rendered when it is sent)."""

from django_tasks import task


@task()
def send_email(email_id: int) -> str:
    from remit.outbox.services import email_attempt

    return email_attempt(email_id)
