import pytest
from django.core.management import call_command

from remit.accounts.models import User
from remit.billing.models import Invoice, InvoiceStatus
from remit.core.models import Provider


@pytest.mark.django_db
def test_seed_demo_twice(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    provider = Provider.load()
    assert (provider.country, provider.internal_currency) == ("US", "USD")
    assert set(User.objects.values_list("email", flat=True)) >= {
        "manager@northwind.example",
        "user@northwind.example",
        "manager@contoso.example",
    }
    manager = User.objects.get(email="manager@northwind.example")
    assert manager.check_password("remit-demo-2026")
    assert manager.can_view_financials
    assert not User.objects.get(email="user@northwind.example").can_view_financials
    for name in ["Northwind Traders", "Contoso Ltd"]:
        invoices = list(Invoice.objects.filter(organization__name=name))
        assert len(invoices) == 12
        statuses = {invoice.status for invoice in invoices}
        assert {InvoiceStatus.PAID, InvoiceStatus.DUE, InvoiceStatus.OVERDUE} <= statuses
        assert [i.status for i in invoices].count(InvoiceStatus.VOID) == 1
    assert "remit-demo-2026" in capsys.readouterr().out
