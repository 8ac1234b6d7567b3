"""Sandbox gateway throughput: N card sales from one client over one connection.

    .venv/bin/python bench/gateway_throughput.py [--sales 2000]

Starts the sandbox as a subprocess (as the tests do), warms up, then times sequential sales made
with Remit's NmiGateway. The duplicate check is left on with each sale's amount distinct.
"""

import argparse
import platform
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from remit.gateway.base import Billing, Card
from remit.gateway.nmi import NmiGateway
from remit.testing import SandboxGatewayProcess
from remit.testing.cards import VISA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    options = parser.parse_args()

    card = Card(number=VISA, exp_month=12, exp_year=datetime.now(UTC).year + 2, cvv="999")
    billing = Billing(first_name="Bench", last_name="Mark", address1="1 Main St", zip="10001")
    with SandboxGatewayProcess(extra_args=("--quiet",)) as sandbox, httpx.Client() as client:
        gateway = NmiGateway(sandbox.url, sandbox.security_key, client=client)

        def run(count: int, offset: int) -> float:
            started = time.perf_counter()
            for i in range(count):
                amount = Decimal(100 + offset + i) / 100 + 1  # distinct: no duplicate refusals
                result = gateway.sale(
                    amount=amount, order_id=f"bench-{offset + i}", card=card, billing=billing
                )
                if not result.approved:
                    raise SystemExit(f"sale {offset + i} not approved: {result}")
            return time.perf_counter() - started

        run(options.warmup, 0)
        elapsed = run(options.sales, options.warmup)
        connections = len(client._transport._pool.connections)

    print(
        f"{options.sales} sales in {elapsed:.2f} s: {options.sales / elapsed:.0f} sales/s "
        f"(one client, {connections} connection, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()})"
    )


if __name__ == "__main__":
    main()
