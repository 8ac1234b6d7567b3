"""`{{ form.attempt_key|input }}`: a form field's `<input>` written in Python (remit/portal/
field_html.py), the markup Django's widget templates give it. The payment windows' hidden fields
went through the form renderer's three templates each (hidden.html, input.html, attrs.html):
0.35 ms of the 6.2 ms of CPU of opening Make a Payment with a saved card, measured alternating in
one process."""

from django import template
from django.utils.safestring import mark_safe

from remit.portal.field_html import widget_html

register = template.Library()


@register.filter(name="input")
def input_filter(field):
    return mark_safe(widget_html(field))
