"""Payers for bench/faults.py: signed-in people paying over HTTP as the browser does (open Make a
Payment, post it confirmed, with a new card tokenized at the sandbox as Collect.js does), and what
each one read in the answer."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx

from remit.testing.cards import VISA

OUTCOMES = [  # what the payer reads, in the order it is looked for
    ("processed", "Payment has been processed"),
    ("being confirmed", "We could not confirm this payment"),
    ("refused: in flight", "already being processed"),
    ("refused: paid", "already paid"),
    ("refused: busy", "Other payments are still being processed"),
    ("refused: paused", "payment is paused"),
    ("declined", "could not be processed"),
]


SANDBOX = None  # the run's sandbox gateway (set by bench/faults.py): it makes the payment tokens


def form(window: str) -> dict[str, str]:
    def field(name):
        return re.search(rf'name="{name}" value="([^"]*)"', window).group(1)

    year = (date.today().year + 2) % 100
    return {
        "csrfmiddlewaretoken": field("csrfmiddlewaretoken"),
        "attempt_key": field("attempt_key"),
        "amount": field("amount"),
        "confirmed": "yes",
        "method": "new_card",
        "payment_token": SANDBOX.card_token(VISA, exp=f"12{year:02d}"),
        "card-first_name": "Fault",
        "card-last_name": "Bench",
        "card-address1": "1 Main St",
        "card-city": "Seattle",
        "card-state": "WA",
        "card-zip": "98101",
        "card-country": "US",
    }


class Payer:
    def __init__(self, base_url: str, cookie: str, invoice: int):
        from django.conf import settings

        self.http = httpx.Client(base_url=base_url, timeout=60, trust_env=False)
        self.http.cookies.set(settings.SESSION_COOKIE_NAME, cookie)
        self.invoice = invoice
        self.data: dict[str, str] | None = None

    def open(self) -> None:
        self.data = form(self.http.get(f"/invoices/{self.invoice}/pay/?add=card").text)

    def post(self) -> str:
        try:
            answer = self.http.post(f"/invoices/{self.invoice}/pay/", data=self.data)
        except httpx.HTTPError as error:
            return f"no answer ({type(error).__name__})"
        finally:
            self.http.close()
        if answer.status_code != 200:
            return f"HTTP {answer.status_code}"
        return next((name for name, text in OUTCOMES if text in answer.text), "other")


def pay_all(payers: list[Payer], together: bool) -> Counter:
    """Open every window, then post: all at one barrier (`together`), or 32 at a time."""
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(Payer.open, payers))
    if not together:
        with ThreadPoolExecutor(32) as pool:
            return Counter(pool.map(Payer.post, payers))
    barrier = threading.Barrier(len(payers))
    results: list[str] = [""] * len(payers)

    def run(i):
        barrier.wait(timeout=120)
        results[i] = payers[i].post()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return Counter(results)
