from django import template

from remit.core.money import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(value, currency="USD"):
    """{{ invoice.amount_due|money }} -> $1,234.50"""
    return format_money(value, currency or "USD")
