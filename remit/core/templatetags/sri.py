"""Subresource Integrity for Remit's own static files:

    {% load sri %}<script src="{% static 'remit/remit.js' %}" integrity="{% sri 'remit/remit.js' %}" defer></script>

The hash is of the file as it is served (the collected, hashed copy in production; the source
file when static files come from the finders), computed once per process.
"""

import base64
import functools
import hashlib

from django import template
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

register = template.Library()


@functools.cache
def integrity(name: str) -> str:
    """sha384-<base64> of the static file `name`."""
    content = None
    try:
        stored = (
            staticfiles_storage.stored_name(name)
            if hasattr(staticfiles_storage, "stored_name")
            else name
        )
        with staticfiles_storage.open(stored) as handle:
            content = handle.read()
    except (OSError, ValueError):
        path = finders.find(name)
        if path is None:
            raise ValueError(f"no static file {name!r}") from None
        with open(path, "rb") as handle:
            content = handle.read()
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


@register.simple_tag
def sri(name: str) -> str:
    return integrity(name)
