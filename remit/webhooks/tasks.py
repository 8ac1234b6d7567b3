"""The webhook job: takes only the delivery's id (its body is in the delivery row)."""

from django_tasks import task


@task()
def deliver_webhook(delivery_id: int) -> str:
    from remit.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id)
