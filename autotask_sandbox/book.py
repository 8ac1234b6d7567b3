"""A generated MSP book: companies, their contacts, invoices with billing items, payment terms.

Deterministic for a seed. With `anomalies`, a few records are wrong the way real books are wrong
(a company without a name, an invoice whose lines do not add up, a duplicate invoice number, a
company billed in euros, a voided invoice), so a sync has something to report.
"""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

CUSTOMER, LEAD, PROSPECT, VENDOR = 1, 2, 3, 7
CENT = Decimal("0.01")

PAYMENT_TERMS = [
    {"id": 1, "name": "Net 30", "paymentDueInDays": 30, "isActive": True},
    {"id": 2, "name": "Net 15", "paymentDueInDays": 15, "isActive": True},
    {"id": 3, "name": "Due on receipt", "paymentDueInDays": 0, "isActive": True},
    {"id": 4, "name": "Net 45", "paymentDueInDays": 45, "isActive": True},
]
CURRENCIES = [
    {"id": 1, "name": "USD", "description": "US Dollar", "isInternalCurrency": True},
    {"id": 2, "name": "EUR", "description": "Euro", "isInternalCurrency": False},
]

_FIRST = "Ava Ben Chloe Dev Elena Farid Grace Hugo Iris Jonas Kemal Lena Marco Nia Omar Priya"
_LAST = "Adams Brooks Chen Diaz Evans Fischer Garcia Hall Ito Jensen Khan Lopez Moreau Novak"
_PREFIX = "Blue Cedar Summit Harbor Granite Maple Pioneer Lakeside Redwood Silver Iron Northgate"
_SUFFIX = "Dental Logistics Law Group Realty Clinic Manufacturing Foods Architects Insurance Labs"
_ITEMS = [
    ("Managed Services - Per User", Decimal("125.00")),
    ("Managed Services - Server", Decimal("250.00")),
    ("Microsoft 365 Business Premium", Decimal("22.00")),
    ("Backup & Disaster Recovery", Decimal("189.00")),
    ("Remote Support (hours)", Decimal("145.00")),
    ("On-site Labor (hours)", Decimal("165.00")),
    ("Endpoint Security - Per Device", Decimal("9.50")),
    ("Firewall Subscription", Decimal("79.00")),
    ("Network Switch 24-port", Decimal("389.99")),
]


def money(value: Decimal) -> float:
    # Autotask sends money as JSON numbers; two decimals survive the trip exactly.
    return float(value.quantize(CENT, ROUND_HALF_UP))


def generate(
    *,
    companies: int = 40,
    contacts_per_company: int = 3,
    invoices: int = 300,
    seed: int = 2026,
    anomalies: bool = True,
    today: datetime.date | None = None,
) -> dict[str, list[dict]]:
    rng = random.Random(seed)  # noqa: S311  (made-up data, not secrets)
    today = today or datetime.datetime.now(datetime.UTC).date()
    first, last = _FIRST.split(), _LAST.split()
    prefix, suffix = _PREFIX.split(), _SUFFIX.split()

    book: dict[str, list[dict]] = {
        "PaymentTerms": [dict(term) for term in PAYMENT_TERMS],
        "Currencies": [dict(currency) for currency in CURRENCIES],
        "Companies": [],
        "Contacts": [],
        "Invoices": [],
        "BillingItems": [],
    }
    customers = []
    for index in range(companies):
        company_id = 1000 + index
        kind = CUSTOMER if index % 10 not in (7, 9) else (LEAD if index % 10 == 7 else VENDOR)
        name = f"{rng.choice(prefix)} {rng.choice(suffix)} {index + 1}"
        company = {
            "id": company_id,
            "companyName": name,
            "companyType": kind,
            "isActive": index % 25 != 24,
            "currencyID": 1,
            "phone": f"(555) {100 + index % 900:03d}-{rng.randint(1000, 9999)}",
            "city": rng.choice(["Portland", "Austin", "Denver", "Raleigh", "Boise"]),
            "taxRate": rng.choice(["0", "0", "0.0625", "0.08"]),
        }
        book["Companies"].append(company)
        if kind == CUSTOMER and company["isActive"]:
            customers.append(company)
        for number in range(contacts_per_company):
            given, family = rng.choice(first), rng.choice(last)
            book["Contacts"].append(
                {
                    "id": 30000 + index * max(contacts_per_company, 1) + number,
                    "companyID": company_id,
                    "firstName": given,
                    "lastName": family,
                    "emailAddress": f"{given}.{family}.{company_id}-{number}@example.com".lower(),
                    "isActive": number != 2,
                    "primaryContact": number == 0,
                    "title": ["Office Manager", "Owner", "Accountant"][number % 3],
                }
            )
    if anomalies and len(book["Companies"]) >= 4:
        book["Companies"][3]["companyName"] = ""  # a company without a name
        if len(customers) > 2:
            customers[2]["currencyID"] = 2  # billed in euros

    line_id = 500000
    for index in range(invoices if customers else 0):
        company = customers[index % len(customers)]
        invoice_id = 200000 + index
        date = today - datetime.timedelta(days=rng.randint(0, 120))
        term = rng.choice(PAYMENT_TERMS)
        subtotal = Decimal("0")
        for _ in range(rng.randint(1, 7)):
            item, rate = rng.choice(_ITEMS)
            quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 8, 12])) / (2 if "hours" in item else 1)
            extended = (quantity * rate).quantize(CENT, ROUND_HALF_UP)
            subtotal += extended
            book["BillingItems"].append(
                {
                    "id": line_id,
                    "invoiceID": invoice_id,
                    "companyID": company["id"],
                    "itemName": item,
                    "description": f"{item} - {date:%B %Y}",
                    "quantity": float(quantity),
                    "rate": money(rate),
                    "extendedPrice": money(extended),
                    "itemDate": f"{date.isoformat()}T00:00:00Z",
                }
            )
            line_id += 1
        tax = (subtotal * Decimal(company["taxRate"])).quantize(CENT, ROUND_HALF_UP)
        book["Invoices"].append(
            {
                "id": invoice_id,
                "companyID": company["id"],
                "invoiceNumber": f"AT-{date:%Y}-{10000 + index}",
                "invoiceDateTime": f"{date.isoformat()}T00:00:00Z",
                "invoiceTotal": money(subtotal + tax),
                "totalTaxValue": money(tax),
                "isVoided": False,
                "voidedDate": None,
                "paymentTerm": term["id"],
                "comments": "",
                "paidDate": None,
            }
        )
    invoices_out = book["Invoices"]
    if anomalies and len(invoices_out) >= 12:
        invoices_out[5]["invoiceTotal"] = money(Decimal(str(invoices_out[5]["invoiceTotal"])) + 10)
        invoices_out[8]["invoiceNumber"] = invoices_out[7]["invoiceNumber"]  # a duplicate number
        invoices_out[11]["isVoided"] = True
        invoices_out[11]["voidedDate"] = f"{today.isoformat()}T00:00:00Z"
    for company in book["Companies"]:
        company.pop("taxRate")
    return book
