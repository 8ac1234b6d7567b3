"""The sandbox's protocol logic in-process, with a clock the tests move (windows and delays that a
test over HTTP could only wait for)."""

from datetime import UTC, datetime

import pytest

from sandbox_gateway.engine import DEMO_SECURITY_KEY, Sandbox

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(tmp_path, clock):
    sandbox = Sandbox(str(tmp_path / "sandbox.sqlite3"), settle_after=3600, clock=clock)
    yield sandbox
    sandbox.close()


def transact(sandbox: Sandbox, **fields) -> dict[str, str]:
    return sandbox.transact({"security_key": DEMO_SECURITY_KEY, **fields})


def sale(sandbox: Sandbox, amount="10.00", ccexp="1230", **fields) -> dict[str, str]:
    base = {"type": "sale", "amount": amount, "ccnumber": "4111111111111111", "ccexp": ccexp}
    return transact(sandbox, **(base | fields))


def condition(sandbox: Sandbox, transaction_id: str) -> str:
    xml = sandbox.query({"security_key": DEMO_SECURITY_KEY, "transaction_id": transaction_id})
    return xml.decode().split("<condition>")[1].split("</condition>")[0]


def test_the_duplicate_window_is_counted_in_seconds(sandbox, clock):
    assert sale(sandbox, dup_seconds="120")["response"] == "1"
    clock.now += 119
    assert sale(sandbox, dup_seconds="120")["responsetext"].startswith("Duplicate transaction")
    clock.now += 2
    assert sale(sandbox, dup_seconds="120")["response"] == "1"


def test_the_default_duplicate_window_is_nmis_1200_seconds(sandbox, clock):
    assert sale(sandbox)["response"] == "1"
    clock.now += 1199
    assert sale(sandbox)["response"] == "3"
    clock.now += 2
    assert sale(sandbox)["response"] == "1"


def test_pending_transactions_settle_after_the_configured_delay(sandbox, clock):
    txn = sale(sandbox)["transactionid"]
    clock.now += 3599
    assert condition(sandbox, txn) == "pendingsettlement"
    clock.now += 2
    assert condition(sandbox, txn) == "complete"


def test_an_expiry_month_is_good_to_its_end_and_a_vaulted_card_runs_out(sandbox, clock):
    assert sale(sandbox, ccexp="0326")["response"] == "1"  # March 2026, in March 2026
    assert sale(sandbox, ccexp="0226")["response"] == "3"  # February: in the past
    added = transact(
        sandbox, customer_vault="add_customer", ccnumber="4111111111111111", ccexp="0326"
    )
    clock.now = datetime(2026, 4, 1, tzinfo=UTC).timestamp()
    charged = transact(
        sandbox, type="sale", amount="5.00", customer_vault_id=added["customer_vault_id"]
    )
    assert (charged["response"], charged["response_code"]) == ("2", "223")


def test_auth_then_capture_up_to_the_authorized_amount(sandbox):
    auth = sale(sandbox, type="auth", amount="50.00")
    assert auth["response"] == "1"
    assert condition(sandbox, auth["transactionid"]) == "pending"
    too_much = transact(
        sandbox, type="capture", transactionid=auth["transactionid"], amount="50.01"
    )
    assert too_much["response"] == "3"
    captured = transact(sandbox, type="capture", transactionid=auth["transactionid"], amount="40")
    assert captured["response"] == "1"
    assert condition(sandbox, auth["transactionid"]) == "pendingsettlement"
    assert sandbox.settle(auth["transactionid"])["settled"] == [auth["transactionid"]]


def test_update_customer_can_replace_the_method_and_its_trigger(sandbox):
    vault_id = transact(
        sandbox, customer_vault="add_customer", ccnumber="4000000000000002", ccexp="1230"
    )["customer_vault_id"]
    charge = {"type": "sale", "customer_vault_id": vault_id}
    assert transact(sandbox, amount="5.00", **charge)["response"] == "2"
    updated = transact(
        sandbox,
        customer_vault="update_customer",
        customer_vault_id=vault_id,
        ccnumber="4111111111111111",
        ccexp="1230",
    )
    assert updated["responsetext"] == "Customer Update Successful"
    assert transact(sandbox, amount="6.00", **charge)["response"] == "1"


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"type": "sale", "amount": "1.001"}, "Invalid amount"),
        ({"type": "sale", "amount": "-1"}, "Invalid amount"),
        ({"type": "sale", "amount": "NaN"}, "Invalid amount"),
        ({"type": "sale", "amount": "ten"}, "Invalid amount"),
        ({"type": "sale"}, "Invalid amount"),
        ({"type": "sale", "amount": "1", "ccexp": "1330"}, "Invalid Credit Card Expiration Date"),
        ({"type": "sale", "amount": "1", "checkaba": "490000018"}, "Card and check information"),
        ({"type": "bogus"}, "Invalid Transaction Type"),
        ({"ccnumber": ""}, "Invalid Transaction Type"),  # no type, no payment data
        ({"customer_vault": "merge_customer"}, "Invalid Customer Vault Action"),
        ({"type": "sale", "amount": "1", "payment_token": "abc"}, "Invalid Payment Token"),
    ],
)
def test_malformed_requests_are_refused_with_a_refid(sandbox, fields, text):
    answer = transact(sandbox, **({"ccnumber": "4111111111111111", "ccexp": "1230"} | fields))
    assert answer["response"] == "3"
    assert answer["response_code"] == "300"
    assert answer["responsetext"].startswith(text)
    assert " REFID:" in answer["responsetext"]


def test_reset_forgets_everything_but_keeps_counting_ids(sandbox):
    first = sale(sandbox)["transactionid"]
    transact(sandbox, customer_vault="add_customer", ccnumber="4111111111111111", ccexp="1230")
    sandbox.reset()
    assert sandbox.counts() == {"transactions": 0, "vault": 0}
    assert int(sale(sandbox)["transactionid"]) > int(first)


def test_the_store_survives_a_restart(tmp_path, clock):
    path = str(tmp_path / "kept.sqlite3")
    first = Sandbox(path, clock=clock)
    vault_id = transact(
        first, customer_vault="add_customer", ccnumber="4111111111111111", ccexp="1230"
    )["customer_vault_id"]
    first.close()
    second = Sandbox(path, clock=clock)
    answer = transact(second, type="sale", amount="5.00", customer_vault_id=vault_id)
    second.close()
    assert answer["response"] == "1"


def query_field(sandbox: Sandbox, name: str, **filters) -> list[str]:
    xml = sandbox.query({"security_key": DEMO_SECURITY_KEY, **filters}).decode()
    return [part.split(f"</{name}>")[0] for part in xml.split(f"<{name}>")[1:]]


def test_query_reports_the_cards_bin_for_a_sale_and_a_vault_record(sandbox):
    answer = sale(sandbox, ccnumber="4000056655665556", customer_vault="add_customer")
    assert answer["response"] == "1"
    assert query_field(sandbox, "cc_bin", transaction_id=answer["transactionid"]) == ["400005"]
    vault = query_field(
        sandbox,
        "cc_bin",
        report_type="customer_vault",
        customer_vault_id=answer["customer_vault_id"],
    )
    assert vault == ["400005"]
    # A sale of the vaulted card reports it too; an eCheck has none.
    again = transact(
        sandbox, type="sale", amount="5.00", customer_vault_id=answer["customer_vault_id"]
    )
    assert query_field(sandbox, "cc_bin", transaction_id=again["transactionid"]) == ["400005"]
    check = transact(
        sandbox,
        type="sale",
        amount="5.00",
        checkname="Nancy Davolio",
        checkaba="490000018",
        checkaccount="123123123",
        payment="check",
    )
    assert query_field(sandbox, "cc_bin", transaction_id=check["transactionid"]) == [""]


def test_a_sales_surcharge_is_recorded_and_reported(sandbox):
    answer = sale(sandbox, amount="103.00", surcharge="3.00")
    assert answer["response"] == "1"
    assert query_field(sandbox, "surcharge", transaction_id=answer["transactionid"]) == ["3.00"]
    plain = sale(sandbox, amount="10.01")
    assert query_field(sandbox, "surcharge", transaction_id=plain["transactionid"]) == [""]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"type": "auth", "surcharge": "1.00"}, "Surcharge is only allowed on a sale"),
        ({"surcharge": "10.00"}, "Surcharge must be less than the amount"),
        ({"surcharge": "1.001"}, "Invalid amount"),
        (
            {
                "ccnumber": "",
                "checkname": "Nancy Davolio",
                "checkaba": "490000018",
                "checkaccount": "123123123",
                "payment": "check",
                "surcharge": "1.00",
            },
            "Surcharge is only allowed on a credit card transaction",
        ),
    ],
)
def test_a_surcharge_the_gateway_would_not_take_is_refused(sandbox, fields, text):
    answer = sale(sandbox, amount="10.00", **fields)
    assert answer["response"] == "3"
    assert answer["responsetext"].split(" REFID:")[0] == text


def test_a_store_written_before_bins_and_surcharges_were_kept_gains_their_columns(tmp_path):
    import sqlite3

    path = str(tmp_path / "old.sqlite3")
    Sandbox(path).close()
    db = sqlite3.connect(path)
    for table, column in (("vault", "cc_bin"), ("txn", "cc_bin"), ("txn", "surcharge")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.commit()
    db.close()
    sandbox = Sandbox(path)
    try:
        answer = sale(sandbox, amount="20.00", surcharge="0.50", customer_vault="add_customer")
        assert answer["response"] == "1"
        assert query_field(sandbox, "cc_bin", transaction_id=answer["transactionid"]) == ["411111"]
        assert query_field(sandbox, "surcharge", transaction_id=answer["transactionid"]) == ["0.50"]
    finally:
        sandbox.close()
