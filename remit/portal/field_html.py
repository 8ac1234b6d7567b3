"""Reports > Invoices' filter fields and sort headers, written as HTML in Python.

The markup is that of `includes/field.html` around Django's own widget templates (`<input>` with
the value typed, `aria-invalid` and `aria-describedby` for errors and help text, the label, the
help text and the errors next to the field), and of the sort headers' former template (with
`{% querystring %}`) — tests/test_chrome.py checks both against those templates. Django
renders a widget through its form renderer's templates, which cost Reports > Invoices more than
its queries; these four fields and four headers are the same on every request but for the values.
"""

from __future__ import annotations

from html import escape

from django import forms
from django.template.defaulttags import querystring
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html writes them: True alone, False and None left out."""
    out = []
    for name, value in attrs.items():
        if value is True:
            out.append(f" {name}")
        elif value is not False and value is not None:
            out.append(f' {name}="{escape(str(value))}"')
    return "".join(out)


def widget_html(field: forms.BoundField) -> str:
    """`{{ field }}` for an <input> widget (text, date, checkbox, hidden)."""
    widget = field.field.widget
    if not isinstance(widget, forms.widgets.Input | forms.CheckboxInput):
        return str(field)  # any other widget: Django's own rendering
    value = field.value()
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    attrs = widget.build_attrs(widget.attrs, attrs)
    if isinstance(widget, forms.CheckboxInput):
        input_type = "checkbox"
        if widget.check_test(value):
            attrs = {**attrs, "checked": True}
    else:
        input_type = widget.input_type
    shown = widget.format_value(value)
    value_attr = f' value="{escape(str(shown))}"' if shown is not None else ""
    return (
        f'<input type="{input_type}" name="{escape(field.html_name)}"{value_attr}{_attrs(attrs)}>'
    )


def field_html(field: forms.BoundField) -> SafeString:
    """`{% include "includes/field.html" with field=field %}` for an <input> widget."""
    checkbox = field.widget_type == "checkbox"
    errors = field.errors
    classes = "field" + (" field--check" if checkbox else "") + (" field--error" if errors else "")
    label = f'<label for="{escape(field.id_for_label or "")}">{escape(str(field.label))}</label>'
    widget = widget_html(field)
    parts = [f'<div class="{classes}">', f"{widget} {label}" if checkbox else f"{label}{widget}"]
    if field.help_text:
        help_text = escape(str(field.help_text))
        parts.append(f'<p class="help" id="{field.auto_id}_helptext">{help_text}</p>')
    if errors:
        items = "".join(f"<li>{escape(str(error))}</li>" for error in errors)
        parts.append(f'<ul class="errorlist" id="{field.auto_id}_error">{items}</ul>')
    parts.append("</div>")
    return mark_safe("\n".join(parts))


class _Context:
    def __init__(self, request):
        self.request = request


def sort_header_html(request, label: str, key: str, sort: str, num: bool = False) -> SafeString:
    """A sortable column's heading (portal/includes/sort_header.html was): a link that sorts by
    it (the other way round when it is the current order), and its aria-sort."""
    descending = f"-{key}"
    target = key if sort == descending else descending
    href = querystring(_Context(request), sort=target, page=None, after=None, before=None)
    css = ' class="num"' if num else ""
    if sort == key:
        aria = ' aria-sort="ascending"'
    elif sort == descending:
        aria = ' aria-sort="descending"'
    else:
        aria = ""
    return mark_safe(
        f'<th scope="col"{css}{aria}>\n  <a href="{escape(href)}">{escape(label)}</a>\n</th>'
    )
