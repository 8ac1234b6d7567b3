"""base.html's fixed parts, made once per process rather than on every page:

    {% load chrome %}{% head_assets %}   the stylesheet and scripts, their addresses and SRI hashes
    {% portal_header %}                  the top bar: brand, main navigation, account, Sign out

The navigation depends only on the current section (`nav`) and whether the user sees invoices
(`can_view_financials`), so each variant is written once (its eight `{% url %}` reversed once) and
kept; the top bar adds the per-request parts (the user's and organization's names, the CSRF token)
around it. The markup is what base.html wrote with tags and `{% if %}`s (tests/test_chrome.py).
"""

from __future__ import annotations

import functools
from html import escape

from django import template
from django.core.signals import setting_changed
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from remit.core.templatetags.sri import integrity

register = template.Library()

_SCRIPTS = ("remit/vendor/htmx-2.0.11.min.js", "remit/remit.js")


@functools.cache
def _head_assets(static_url: str) -> SafeString:
    tags = [f'<link rel="stylesheet" href="{escape(static("remit/remit.css"))}">']
    tags += [
        f'<script src="{escape(static(name))}" integrity="{integrity(name)}" defer></script>'
        for name in _SCRIPTS
    ]
    return mark_safe("\n  ".join(tags))


@register.simple_tag
def head_assets() -> SafeString:
    from django.conf import settings

    return _head_assets(settings.STATIC_URL)


def _current(flag: bool) -> str:
    return ' aria-current="page"' if flag else ""


@functools.lru_cache(maxsize=256)
def _nav(nav: str, can_view_financials: bool, prefix: str, urlconf) -> SafeString:
    parts = [
        '<nav class="mainnav" aria-label="Main">',
        f'<a href="{reverse("home")}"{_current(nav == "home")}>Home</a>',
    ]
    if can_view_financials:
        parts += [
            '<details class="menu">',
            f"<summary{_current(nav in ('reports', 'payments'))}>Reports</summary>",
            '<div class="menu__list">',
            f'<a href="{reverse("invoice_list")}">Invoices</a>',
            f'<a href="{reverse("payment_list")}">Payments</a>',
            f'<a href="{reverse("statement")}">Statement</a>',
            "</div>",
            "</details>",
            f'<a href="{reverse("payment_methods")}"{_current(nav == "methods")}>Payment methods</a>',
        ]
    parts.append("</nav>")
    return mark_safe("\n".join(parts))


@functools.lru_cache(maxsize=16)
def _urls(prefix: str, urlconf) -> dict[str, str]:
    return {name: reverse(name) for name in ("home", "account", "logout")}


@setting_changed.connect
def _forget(*, setting, **kwargs):
    if setting.startswith(("STATIC", "STORAGES", "ROOT_URLCONF")):
        _head_assets.cache_clear()
        _nav.cache_clear()
        _urls.cache_clear()


def _csrf_input(token) -> str:
    """{% csrf_token %}"""
    if not token or token == "NOTPROVIDED":  # noqa: S105 - Django's marker, not a secret
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">'


@register.simple_tag(takes_context=True)
def portal_header(context) -> SafeString:
    provider = context.get("provider")
    user = context.get("user")
    nav = context.get("nav") or ""
    mfa_gate = context.get("mfa_gate")
    key = (get_script_prefix(), get_urlconf())
    urls = _urls(*key)
    brand = escape(str(getattr(provider, "name", "") or "Client Portal"))
    parts = [
        '<header class="topbar">',
        '<div class="topbar__inner">',
        f'<a class="brand" href="{urls["home"]}">{brand}<span class="brand__sub">Client Portal</span></a>',
    ]
    if user is not None and user.is_authenticated:
        if not mfa_gate:  # before the second step, nothing to go to but that step
            parts.append(_nav(str(nav), bool(context.get("can_view_financials")), *key))
        full_name = escape(user.get_full_name())
        parts.append('<div class="account">')
        if user.is_client and not mfa_gate:
            organization = user.organization
            of = f" · {escape(str(organization.name))}" if organization else ""
            parts.append(
                f'<a class="account__name" href="{urls["account"]}"{_current(nav == "account")}'
                f' title="Your account">{full_name}{of}</a>'
            )
        else:
            parts.append(f'<span class="account__name">{full_name}</span>')
        csrf = _csrf_input(context.get("csrf_token"))
        parts += [
            f'<form method="post" action="{urls["logout"]}" class="inline">',
            csrf,
            '<button type="submit" class="link-button">Sign out</button>',
            "</form>",
            "</div>",
        ]
    parts += ["</div>", "</header>"]
    return mark_safe("\n".join(parts))
