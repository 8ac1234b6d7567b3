"""The only code that moves money state, by step. Every public name is importable from here
(`remit.payments.services.<name>`); the modules below are where each step lives.

    start.py      pay_invoice             phase 1 (one short transaction: lock the invoice, check it
                                          is payable, insert the payment as processing), phase 2 (the
                                          gateway call, no transaction open), phase 3 (outcome.py)
    sale.py       _sale                   phase 2: the gateway sale (any exception is an unknown
                                          outcome, looked up, never sent again)
    several.py    pay_invoices            several invoices of one organization, one sale: phase 1 locks
                                          every invoice by id and inserts the payment and its
                                          allocations; phases 2 and 3 as pay_invoice's
    outcome.py    record_gateway_outcome  one transaction: the answer, applied to the payment and
                                          the invoice
    reconcile.py  reconcile_payment       asks the gateway by order id and finishes what an answer
                                          did not (which payments, when: remit/payments/reconcile.py)
                  payments_to_reconcile   the payments the gateway knows better than we do
    refunds.py    refund_payment          a refund after settlement, as a child transaction
                  void_payment            a void before settlement, as a child transaction
                  record_refund_outcome   one transaction: a refund's or void's answer applied
                  reconcile_refund        a refund or void of unknown outcome, looked up
    autopay.py    autopay_charge          pay_invoice as a merchant-initiated stored-credential sale
                                          of a saved method (remit/autopay/charge.py decides when)
    methods.py    payment_method_remove   from the vault too (and saving a method after a payment)
    state.py      the table of allowed transitions applied to a locked payment and, allocation by
                  allocation, its invoices (lock_invoices: payment first, then invoices by id)
    common.py     what the payer chose (`PaymentChoice`), the refusals and the payer's messages

Each writes an audit event; receipts and notices are queued in the same transaction, so they exist
exactly when the change does. The writes of a phase whose results nobody reads back (the payment
with its reserved id, allocations, events, audit entries, job rows) go to the database together,
in one round trip before the transaction commits (remit/core/batch.py). Card and account numbers pass through in memory only (`Card`,
`BankAccount`); nothing here stores, logs or queues them.
"""

from remit.payments.services.autopay import autopay_charge
from remit.payments.services.common import (
    BUSY_MESSAGE,
    DECLINED_MESSAGE,
    DUPLICATE_MESSAGE,
    IN_FLIGHT_MESSAGE,
    UNKNOWN_MESSAGE,
    IllegalTransition,
    NewBankAccount,
    NewCard,
    PaymentChoice,
    PaymentRefused,
    SavedMethod,
    choice_label,
    describe_choice,
    failure_message,
)
from remit.payments.services.methods import payment_method_remove
from remit.payments.services.outcome import record_gateway_outcome
from remit.payments.services.reconcile import payments_to_reconcile, reconcile_payment
from remit.payments.services.refunds import (
    RefundRefused,
    reconcile_refund,
    record_refund_outcome,
    refund_payment,
    void_payment,
)
from remit.payments.services.start import (
    _start_payment,
    invoice_payable_problem,
    pay_invoice,
    payment_unavailable_reason,
)

__all__ = [
    "BUSY_MESSAGE",
    "DECLINED_MESSAGE",
    "DUPLICATE_MESSAGE",
    "IN_FLIGHT_MESSAGE",
    "UNKNOWN_MESSAGE",
    "IllegalTransition",
    "NewBankAccount",
    "NewCard",
    "PaymentChoice",
    "PaymentRefused",
    "RefundRefused",
    "SavedMethod",
    "_start_payment",
    "autopay_charge",
    "choice_label",
    "describe_choice",
    "failure_message",
    "invoice_payable_problem",
    "pay_invoice",
    "payment_method_remove",
    "payment_unavailable_reason",
    "payments_to_reconcile",
    "reconcile_payment",
    "reconcile_refund",
    "record_gateway_outcome",
    "record_refund_outcome",
    "refund_payment",
    "void_payment",
]
