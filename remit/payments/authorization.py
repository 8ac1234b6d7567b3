"""The eCheck debit authorization the payer accepts. Versioned: the version and the exact text shown
are stored with each acceptance (text, time, user, IP), as NACHA expects for WEB debits."""

from decimal import Decimal

from remit.core.money import format_money

VERSION = "2026-11-01"

_TEXT = (
    "I authorize {provider} to electronically debit {which} "
    "for {amount} on or after today, in payment of invoice {invoice}. If the debit is returned "
    "unpaid, I understand the invoice will again be due and my bank may charge a fee. I can revoke "
    "this authorization only before the debit is made, by contacting {provider}."
)


def authorization_text(
    *, provider: str, account: str, last4: str, amount: Decimal, invoice: str
) -> str:
    which = (
        f"my {account or 'bank'} account ending in {last4}" if last4 else "the bank account above"
    )
    return _TEXT.format(
        provider=provider,
        which=which,
        amount=format_money(amount),
        invoice=invoice,
    )
