"""List filters the admin lacks: a date range (two date inputs) and a free-text field, each a small
GET form in the filter sidebar that keeps every other filter of the page."""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.utils import timezone


class _InputFilter(admin.ListFilter):
    template = "backoffice/filters/input.html"
    parameters: tuple[str, ...] = ()

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1].strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def value(self, name: str) -> str:
        return self.used_parameters.get(name, "")

    def inputs(self) -> list[dict]:
        raise NotImplementedError

    def choices(self, changelist):
        keep = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name not in self.parameters
            for value in values
        ]
        yield {
            "inputs": self.inputs(),
            "keep": keep,
            "clear": changelist.get_query_string(remove=list(self.parameters)),
            "active": any(self.used_parameters.values()),
        }


class DateRangeFilter(_InputFilter):
    """`<field>__from` / `<field>__to`, both inclusive, as dates in the provider's time zone."""

    field_name = ""

    @classmethod
    def on(cls, field_name: str, title: str) -> type[DateRangeFilter]:
        return type(
            f"DateRangeFilter_{field_name}",
            (cls,),
            {
                "field_name": field_name,
                "title": title,
                "parameters": (f"{field_name}_from", f"{field_name}_to"),
            },
        )

    def _date(self, name: str) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(self.value(name))
        except ValueError:
            return None

    def inputs(self) -> list[dict]:
        start, end = self.parameters
        return [
            {"name": start, "label": "From", "type": "date", "value": self.value(start)},
            {"name": end, "label": "To", "type": "date", "value": self.value(end)},
        ]

    def queryset(self, request, queryset):
        start, end = (self._date(name) for name in self.parameters)
        field = queryset.model._meta.get_field(self.field_name)
        if field.get_internal_type() == "DateTimeField":
            zone = timezone.get_current_timezone()
            if start:
                begin = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
                queryset = queryset.filter(**{f"{self.field_name}__gte": begin})
            if end:
                after = datetime.datetime.combine(
                    end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
                )
                queryset = queryset.filter(**{f"{self.field_name}__lt": after})
            return queryset
        if start:
            queryset = queryset.filter(**{f"{self.field_name}__gte": start})
        if end:
            queryset = queryset.filter(**{f"{self.field_name}__lte": end})
        return queryset


class TextFilter(_InputFilter):
    """One text box matching `lookup` (e.g. `invoice__number__iexact`)."""

    lookup = ""
    label = ""

    @classmethod
    def on(cls, parameter: str, lookup: str, title: str, label: str = "") -> type[TextFilter]:
        return type(
            f"TextFilter_{parameter}",
            (cls,),
            {"parameters": (parameter,), "lookup": lookup, "title": title, "label": label or title},
        )

    def inputs(self) -> list[dict]:
        (name,) = self.parameters
        return [{"name": name, "label": self.label, "type": "search", "value": self.value(name)}]

    def queryset(self, request, queryset):
        (name,) = self.parameters
        value = self.value(name)
        return queryset.filter(**{self.lookup: value}) if value else queryset


class AgingFilter(admin.ListFilter):
    """Open invoices by days past due (`age`: open, current, d1_30 … d90), as of `age_as_of`
    (default today): the buckets of the client's statement, so the dashboard's and the aging
    report's figures link to exactly the invoices they add up."""

    title = "days past due"
    template = "admin/filter.html"
    parameters = ("age", "age_as_of")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1].strip()
        try:
            self.as_of = datetime.date.fromisoformat(self.used_parameters.get("age_as_of", ""))
        except ValueError:
            self.as_of = timezone.localdate()
        if self.as_of != timezone.localdate():
            self.title = f"days past due on {self.as_of:%b %-d, %Y}"

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def choices(self, changelist):
        from remit.billing.statement import BUCKETS

        age = self.used_parameters.get("age", "")
        yield {
            "selected": not age,
            "query_string": changelist.get_query_string(remove=list(self.parameters)),
            "display": "All",
        }
        for key, label in [("open", "Open (any age)"), *BUCKETS]:
            yield {
                "selected": age == key,
                "query_string": changelist.get_query_string({"age": key}),
                "display": label,
            }

    def queryset(self, request, queryset):
        from remit.billing.selectors import open_invoices
        from remit.billing.statement import bucket_filters

        age = self.used_parameters.get("age", "")
        buckets = bucket_filters(self.as_of)
        if age == "open":
            return open_invoices(queryset)
        if age in buckets:
            return open_invoices(queryset).filter(buckets[age])
        return queryset


class CurrencyFilter(admin.SimpleListFilter):
    """`?currency=CAD`: the invoices of one currency, for the dashboard's and the aging report's
    links when several currencies are open. Shown only when given: listing the currencies in use
    would read every invoice."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        value = (self.value() or "").upper()
        return [(value, value)] if value else []

    def has_output(self) -> bool:
        return bool(self.value())

    def queryset(self, request, queryset):
        value = (self.value() or "").upper()
        return queryset.filter(currency=value) if value else queryset
