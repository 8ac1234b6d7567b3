"""The payment gateway Remit talks to: the interface (`base`), the NMI client (`nmi`), and how the
provider's settings pick one.

`get_gateway()` is the only place that builds a gateway; payment code never instantiates a client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings

from remit.gateway.base import Gateway

if TYPE_CHECKING:
    from remit.core.models import Provider


class GatewayNotConfigured(Exception):
    """Neither the provider nor the settings give a gateway URL and security key."""


def _connection(provider: Provider | None) -> tuple[str, str]:
    url = (provider.gateway_url if provider else "") or settings.GATEWAY_URL
    key = (provider.gateway_security_key if provider else "") or settings.GATEWAY_SECURITY_KEY
    return url.strip(), key.strip()


def tokenization_key(provider: Provider | None) -> str:
    """The public Collect.js key: the provider's, else `GATEWAY_TOKENIZATION_KEY`."""
    key = (
        provider.gateway_tokenization_key if provider else ""
    ) or settings.GATEWAY_TOKENIZATION_KEY
    return key.strip()


def gateway_origin(provider: Provider | None) -> str:
    """scheme://host[:port] of the gateway: what the payment page's CSP allows, and where
    Collect.js and its field iframes come from. '' when no gateway is set."""
    url, _ = _connection(provider)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def gateway_configured(provider: Provider | None) -> bool:
    url, key = _connection(provider)
    return bool(url and key)


def get_gateway(provider: Provider | None = None) -> Gateway:
    """The provider's gateway; its URL and key fall back to `GATEWAY_URL` / `GATEWAY_SECURITY_KEY`.

    Without a provider, the provider row is loaded. The returned object is cheap: connections are
    pooled per gateway URL and shared by every instance in the process.
    """
    from remit.gateway.nmi import NmiGateway

    if provider is None:
        from remit.core.models import Provider

        provider = Provider.load()
    url, key = _connection(provider)
    if not (url and key):
        raise GatewayNotConfigured(
            "Set the gateway URL and security key (back office or settings)."
        )
    return NmiGateway(
        url,
        key,
        connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
        read_timeout=settings.GATEWAY_READ_TIMEOUT,
        dup_seconds=settings.GATEWAY_DUP_SECONDS,
    )
