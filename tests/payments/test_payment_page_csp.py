"""The payment window's Content-Security-Policy, directive by directive, and Subresource Integrity
on Remit's own scripts. Every other page keeps the site-wide policy."""

import base64
import hashlib
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db

SITE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def test_the_new_card_page_allows_the_gateway_and_nothing_else_new(
    as_manager, due_invoice, gateway, sandbox_gateway
):
    origin = sandbox_gateway.url  # http://127.0.0.1:<port>
    response = as_manager.get(reverse("make_payment", args=[due_invoice.pk]), {"add": "card"})
    assert policy(response) == SITE_POLICY | {
        "script-src": ["'self'", origin],
        "frame-src": [origin],
        "connect-src": ["'self'", origin],
        "style-src": ["'self'", origin],
    }
    assert "unsafe" not in response["Content-Security-Policy"]
    assert "<script>" not in response.text  # no inline script
    assert not re.search(r"\son[a-z]+=", response.text)  # no inline event handlers


@pytest.mark.parametrize("add", ["bank", None])
def test_every_payment_window_answer_has_the_same_policy(
    as_manager, due_invoice, gateway, sandbox_gateway, add
):
    params = {"add": add} if add else {}
    response = as_manager.get(reverse("make_payment", args=[due_invoice.pk]), params)
    assert policy(response)["frame-src"] == [sandbox_gateway.url]


def test_other_pages_keep_the_site_policy(as_manager, due_invoice, gateway):
    for url in [reverse("home"), reverse("invoice_detail", args=[due_invoice.pk])]:
        assert policy(as_manager.get(url)) == SITE_POLICY


def test_without_a_tokenization_key_the_window_adds_nothing(
    as_manager, due_invoice, gateway, settings
):
    settings.GATEWAY_TOKENIZATION_KEY = ""
    response = as_manager.get(reverse("make_payment", args=[due_invoice.pk]), {"add": "card"})
    assert policy(response) == SITE_POLICY
    assert "secure fields are not set up" in response.text


def test_our_scripts_carry_their_integrity(as_manager, due_invoice, gateway, sandbox_gateway):
    response = as_manager.get(reverse("make_payment", args=[due_invoice.pk]), {"add": "card"})
    ours = re.findall(r'<script src="/static/([^"]+)" integrity="(sha384-[^"]+)"', response.text)
    assert {name for name, _ in ours} == {
        "remit/vendor/htmx-2.0.11.min.js",
        "remit/remit.js",
        "remit/payment-fields.js",
    }
    for name, integrity in ours:
        with open(finders.find(name), "rb") as handle:
            digest = base64.b64encode(hashlib.sha384(handle.read()).digest()).decode()
        assert integrity == f"sha384-{digest}"
    # The gateway's script cannot be pinned (the gateway changes it): it is allowed by origin.
    assert f'<script src="{sandbox_gateway.url}/token/Collect.js"' in response.text
