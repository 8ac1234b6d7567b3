"""{% card_surcharge_note %}: what Home and Reports > Invoices say of card surcharges (nothing
when surcharges are off)."""

from django import template

register = template.Library()


@register.simple_tag
def card_surcharge_note() -> str:
    from remit.payments.surcharge_models import SurchargePolicy

    return SurchargePolicy.for_display().card_note()
