"""Background jobs of the portal."""

from django_tasks import task


@task()
def check_payment_page_task() -> str:
    """The periodic payment page check (remit.portal.page_check): alerts staff on a change."""
    from remit.portal.page_check import check_payment_page

    return check_payment_page().status
