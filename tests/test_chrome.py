"""base.html's top bar and head assets, made once per process by remit/core/templatetags/chrome.py,
are what base.html's tags and `{% if %}`s wrote: for a client who sees invoices or not, staff, a
visitor, before the second sign-in step, in every section; and Reports > Invoices' filter fields
and sort headers (remit/portal/field_html.py) are what includes/field.html, Django's widget
templates and the sort headers' template wrote, whatever was typed."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from django.template import RequestContext, Template
from django.test import RequestFactory

from remit.portal.field_html import field_html, sort_header_html, widget_html
from remit.portal.forms import InvoiceFilterForm

# base.html's header and head as they were written in the template.
HEADER = """{% load static sri %}
  <link rel="stylesheet" href="{% static 'remit/remit.css' %}">
  <script src="{% static 'remit/vendor/htmx-2.0.11.min.js' %}" integrity="{% sri 'remit/vendor/htmx-2.0.11.min.js' %}" defer></script>
  <script src="{% static 'remit/remit.js' %}" integrity="{% sri 'remit/remit.js' %}" defer></script>
  <header class="topbar">
    <div class="topbar__inner">
      <a class="brand" href="{% url 'home' %}">{{ provider.name|default:"Client Portal" }}<span class="brand__sub">Client Portal</span></a>
      {% if user.is_authenticated %}
      {% if not mfa_gate %}
      <nav class="mainnav" aria-label="Main">
        <a href="{% url 'home' %}" {% if nav == 'home' %}aria-current="page"{% endif %}>Home</a>
        {% if can_view_financials %}
        <details class="menu">
          <summary {% if nav == 'reports' or nav == 'payments' %}aria-current="page"{% endif %}>Reports</summary>
          <div class="menu__list">
            <a href="{% url 'invoice_list' %}">Invoices</a>
            <a href="{% url 'payment_list' %}">Payments</a>
            <a href="{% url 'statement' %}">Statement</a>
          </div>
        </details>
        {% endif %}
        {% if can_view_financials %}<a href="{% url 'payment_methods' %}" {% if nav == 'methods' %}aria-current="page"{% endif %}>Payment methods</a>{% endif %}
      </nav>
      {% endif %}
      <div class="account">
        {% if user.is_client and not mfa_gate %}<a class="account__name" href="{% url 'account' %}" {% if nav == 'account' %}aria-current="page"{% endif %} title="Your account">{{ user.get_full_name }}{% if user.organization %} · {{ user.organization.name }}{% endif %}</a>{% else %}<span class="account__name">{{ user.get_full_name }}</span>{% endif %}
        <form method="post" action="{% url 'logout' %}" class="inline">
          {% csrf_token %}
          <button type="submit" class="link-button">Sign out</button>
        </form>
      </div>
      {% endif %}
    </div>
  </header>"""
NOW = "{% load chrome %}{% head_assets %}{% portal_header %}"


def normal(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r"\s+>", ">", html)
    html = re.sub(r">\s+", ">", html)
    html = re.sub(r"\s+<", "<", html)
    return re.sub(r"\s+", " ", html).strip()


def render(source, request, **context):
    return Template(source).render(RequestContext(request, context))


@pytest.mark.django_db
@pytest.mark.parametrize("nav", ["home", "reports", "payments", "methods", "account", ""])
@pytest.mark.parametrize("mfa_gate", [False, True])
@pytest.mark.parametrize("who", ["manager", "plain_user", "staff", "visitor"])
def test_the_top_bar_is_what_base_html_wrote(request, provider, nav, mfa_gate, who):
    user = AnonymousUser() if who == "visitor" else request.getfixturevalue(who)
    user.first_name = 'Nancy <b>"&'
    http = RequestFactory().get("/")
    http.user = user
    context = {
        "provider": provider,
        "nav": nav,
        "mfa_gate": mfa_gate,
        "can_view_financials": who == "manager",
    }
    expected = render(HEADER, http, **context)
    assert normal(render(NOW, http, **context)) == normal(expected)
    provider.name = ""
    assert "Client Portal<span" in render(NOW, http, **context)
    assert normal(render(NOW, http, **context)) == normal(render(HEADER, http, **context))


FIELDS = """{% for field in fields %}{% include "includes/field.html" %}{% endfor %}"""
TYPED = [
    {},
    {"number": "", "date_from": "", "show_paid": ""},
    {"number": "S-1", "date_from": "2026-01-01", "date_to": "2026-02-01", "show_paid": "on"},
    {"date_from": "2026-13-01", "date_to": "2020-01-01"},  # not a date
    {"date_from": "2026-03-01", "date_to": "2026-01-01"},  # the end before the start
    {"number": '<script>"x"&' + "9" * 40, "date_from": "abc", "show_paid": "false"},
    {"sort": "bogus", "page": "3"},
]


@pytest.mark.parametrize("typed", TYPED)
def test_filter_fields_are_what_the_templates_wrote(typed):
    form = InvoiceFilterForm(QueryDict(mutable=True) | typed if typed else None)
    if form.is_bound:
        form.is_valid()
    names = ("number", "date_from", "date_to", "show_paid")
    http = RequestFactory().get("/")
    expected = render(FIELDS, http, fields=[form[name] for name in names])
    assert normal("".join(field_html(form[name]) for name in names)) == normal(expected)
    assert widget_html(form["sort"]) == str(form["sort"])  # the hidden input


# portal/includes/sort_header.html, as Reports > Invoices included it four times.
SORT_HEADER = """{% with desc="-"|add:key %}
<th scope="col"{% if num %} class="num"{% endif %}{% if sort == key %} aria-sort="ascending"{% elif sort == desc %} aria-sort="descending"{% endif %}>
  <a href="{% if sort == desc %}{% querystring sort=key page=None after=None before=None %}{% else %}{% querystring sort=desc page=None after=None before=None %}{% endif %}">{{ label }}</a>
</th>
{% endwith %}"""


@pytest.mark.parametrize("query", ["", "sort=due", "sort=-due&show_paid=on&page=2&after=x_1"])
@pytest.mark.parametrize("key", ["date", "due", "total", "amount"])
@pytest.mark.parametrize("num", [False, True])
def test_sort_headers_are_what_sort_header_html_wrote(query, key, num):
    http = RequestFactory().get("/reports/invoices/?" + query)
    sort = QueryDict(query).get("sort", "-date")
    expected = render(SORT_HEADER, http, label="Due <Date>", key=key, num=num, sort=sort)
    got = sort_header_html(http, "Due <Date>", key, sort, num)
    assert normal(got) == normal(expected)


@pytest.mark.parametrize(
    "data",
    [
        None,  # as the window opens: the initial attempt key and amount
        {"attempt_key": "6f1c1d8e-3b7a-4c55-9a55-3f0e2f9d7a10", "amount": "1234.50"},
        {"attempt_key": '"><script>x</script>', "amount": "12,34 & <b>"},  # posted junk, kept
    ],
)
def test_the_payment_windows_hidden_fields_are_what_djangos_widgets_wrote(data):
    import uuid
    from decimal import Decimal

    from remit.portal.payment_forms import PayForm

    initial = {"attempt_key": uuid.UUID(int=7), "amount": Decimal("99.10")}
    form = PayForm(data, initial=initial, methods=[], offers_card=True, offers_echeck=False)
    if form.is_bound:
        form.is_valid()
    for name in ("attempt_key", "amount"):
        assert widget_html(form[name]) == str(form[name])
