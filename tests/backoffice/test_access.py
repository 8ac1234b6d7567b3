"""Every back-office URL, tried by everyone: anonymous visitors are sent to the back-office sign-in,
client users get a 404 (even for the sign-in page), staff who only gave their password are sent to
MFA, and verified staff get in."""

import datetime

import pytest
from django.utils import timezone

from remit.backoffice.models import InvoiceImport
from remit.payments.models import PaymentBlock
from tests.backoffice.conftest import sign_in_verified
from tests.factories import make_invoice


@pytest.fixture
def objects(staff, manager, northwind, invoice, payment):
    draft = make_invoice(northwind, state="draft", number="NW-DRAFT")
    block = PaymentBlock.objects.create(
        scope="user",
        key=str(manager.pk),
        label=manager.email,
        reason="5 failed payments within an hour",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    job = InvoiceImport.objects.create(created_by=staff, filename="x.csv", content="a\n")
    from remit.audit.models import AuditEvent

    event = AuditEvent.objects.create(action="test.event", actor_label="x")
    return {
        "staff": staff,
        "manager": manager,
        "org": northwind,
        "invoice": invoice,
        "draft": draft,
        "payment": payment,
        "block": block,
        "job": job,
        "event": event,
    }


PAGES = [
    "/backoffice/",
    "/backoffice/core/provider/",
    "/backoffice/core/provider/1/change/",
    "/backoffice/accounts/organization/",
    "/backoffice/accounts/organization/add/",
    "/backoffice/accounts/organization/{org.pk}/change/",
    "/backoffice/accounts/user/",
    "/backoffice/accounts/user/add/",
    "/backoffice/accounts/user/{manager.pk}/change/",
    "/backoffice/accounts/securitylevel/",
    "/backoffice/billing/invoice/",
    "/backoffice/billing/invoice/add/",
    "/backoffice/billing/invoice/{invoice.pk}/change/",
    "/backoffice/billing/invoice/{draft.pk}/change/",
    "/backoffice/billing/invoice/{invoice.pk}/void/",
    "/backoffice/billing/invoice/import/",
    "/backoffice/billing/invoice/import/{job.pk}/",
    "/backoffice/payments/payment/",
    "/backoffice/payments/payment/{payment.pk}/change/",
    "/backoffice/payments/payment/{payment.pk}/refund/",
    "/backoffice/payments/paymentblock/",
    "/backoffice/payments/paymentblock/{block.pk}/change/",
    "/backoffice/audit/auditevent/",
    "/backoffice/audit/auditevent/{event.pk}/change/",
    "/backoffice/password_change/",
    "/backoffice/reports/aging/",
    "/backoffice/reports/aging.csv",
    # The integration API's keys and the webhooks (their own apps) sit behind the same door.
    "/backoffice/api/apikey/",
    "/backoffice/webhooks/webhookendpoint/",
    "/backoffice/webhooks/webhookdelivery/",
]
ACTIONS = [  # POST-only
    "/backoffice/core/provider/test-connection/",
    "/backoffice/accounts/user/{manager.pk}/deactivate/",
    "/backoffice/billing/invoice/{draft.pk}/issue/",
    "/backoffice/payments/paymentblock/{block.pk}/lift/",
]


def urls(objects, templates):
    return [t.format(**objects) for t in templates]


@pytest.mark.django_db
class TestAccess:
    def test_verified_staff_get_every_page(self, client, objects):
        sign_in_verified(client, objects["staff"])
        for url in urls(objects, PAGES):
            response = client.get(url, follow=url.endswith("/core/provider/"))
            assert response.status_code == 200, url

    def test_anonymous_visitors_are_sent_to_the_staff_sign_in(self, client, objects):
        for url in urls(objects, PAGES + ACTIONS):
            response = client.get(url) if url in urls(objects, PAGES) else client.post(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/backoffice/login/"), url
        assert client.get("/backoffice/login/").status_code == 200

    @pytest.mark.parametrize("who", ["manager", "plain_user"])
    def test_client_users_get_404_everywhere(self, client, objects, who, request):
        client.force_login(request.getfixturevalue(who))
        for url in [
            *urls(objects, PAGES + ACTIONS),
            "/backoffice/login/",
            "/backoffice/mfa/setup/",
        ]:
            assert client.get(url).status_code == 404, url
            assert client.post(url).status_code == 404, url
        # Nothing was changed by those posts.
        objects["manager"].refresh_from_db()
        assert objects["manager"].is_active

    def test_unverified_staff_are_sent_to_mfa_first(self, as_unverified_staff, objects):
        for url in urls(objects, PAGES):
            response = as_unverified_staff.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/backoffice/mfa/verify/"), url
        for url in urls(objects, ACTIONS):
            response = as_unverified_staff.post(url)
            assert response["Location"].startswith("/backoffice/mfa/verify/"), url
        objects["draft"].refresh_from_db()
        assert objects["draft"].state == "draft"

    def test_staff_without_a_device_are_sent_to_set_one_up(self, client, staff, objects):
        client.force_login(staff)
        response = client.get("/backoffice/payments/payment/")
        assert response.status_code == 302
        assert (
            response["Location"]
            == "/backoffice/mfa/setup/?next=%2Fbackoffice%2Fpayments%2Fpayment%2F"
        )

    def test_deactivated_staff_are_signed_out(self, client, staff, objects):
        sign_in_verified(client, staff)
        staff.is_active = False
        staff.save()
        response = client.get("/backoffice/")
        assert response["Location"].startswith("/backoffice/login/")
