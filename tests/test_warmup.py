"""A web process loads its URLconf and templates when it starts (remit/core/warmup.py), so its first
requests cost what later ones do — and it opens no database connection doing so, which under
`gunicorn --preload` every forked worker would share."""

import json
import os
import subprocess
import sys

import pytest
from django.template import base as template_base

from remit.core.warmup import warm_templates
from tests.factories import OrganizationFactory, make_invoice, manager_of


def test_loading_the_wsgi_application_warms_it_without_touching_the_database():
    code = (
        "import json; import remit.wsgi; "
        "from django.db import connections; from django.urls import get_resolver; "
        "from django.template import engines; "
        "cache = engines['django'].engine.template_loaders[0].get_template_cache; "
        "print(json.dumps({'populated': get_resolver()._populated, "
        "'templates': sorted(cache), "
        "'connections': [c.connection is not None for c in connections.all(initialized_only=True)]}))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "remit.settings", "DEBUG": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["populated"] is True
    for name in (
        "base.html",
        "registration/login.html",
        "portal/home.html",
        "portal/invoice_detail.html",
        "portal/make_payment.html",
        "emails/payment_receipt.txt",
    ):
        assert name in state["templates"]
    assert not any(state["connections"])


@pytest.mark.django_db
def test_after_warming_the_client_pages_compile_no_template(client, monkeypatch):
    user = manager_of(OrganizationFactory())
    invoice = make_invoice(user.organization)
    warm_templates()
    compiled = []
    original = template_base.Template.__init__

    def counting(self, template_string, origin=None, name=None, engine=None):
        compiled.append(getattr(origin, "template_name", name))
        original(self, template_string, origin, name, engine)

    monkeypatch.setattr(template_base.Template, "__init__", counting)
    for path in ("/login/",):
        assert client.get(path).status_code == 200
    client.force_login(user)
    for path in ("/", f"/invoices/{invoice.pk}/", f"/invoices/{invoice.pk}/pay/", "/payments/"):
        assert client.get(path).status_code == 200, path
    assert compiled == []
