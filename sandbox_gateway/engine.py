"""The sandbox gateway's protocol logic and its SQLite store, assembled.

`Sandbox.transact(form)` and `Sandbox.query(form)` take a request's form fields and give back the
answer NMI would give (an ordered field mapping, an XML document). All state lives in one SQLite
file. Each concern has its module:

| module | |
|---|---|
| `protocol.py` | field names, `Refusal`, `Method`, money and dates, the answer format |
| `store.py` | the schema, the connection and its transactions, recording transactions/actions |
| `methods.py` | payment data of a request or a vault record (nothing sensitive is kept) |
| `transactions.py` | transact.php: authentication, dispatch, sale / auth / validate |
| `followups.py` | capture, void, refund of an existing transaction |
| `vault.py` | the Customer Vault (add, update, delete) |
| `credentials.py` | stored-credential fields of a charge, checked and kept |
| `settlement.py` | settlement and eCheck returns |
| `query.py` | query.php reports |
| `faults.py` | the injected faults (used by server.py) |
| `hosted.py` | hosted fields: Collect.js, the field iframes, payment tokens, BIN table |
"""

from __future__ import annotations

from sandbox_gateway.credentials import StoredCredentials
from sandbox_gateway.followups import FollowUps
from sandbox_gateway.hosted import HostedFields
from sandbox_gateway.methods import PaymentMethods
from sandbox_gateway.protocol import DEFAULT_DUP_SECONDS, DEMO_SECURITY_KEY, format_answer
from sandbox_gateway.query import Query
from sandbox_gateway.settlement import Settlement
from sandbox_gateway.store import Store
from sandbox_gateway.transactions import Transactions
from sandbox_gateway.vault import Vault

__all__ = ["DEFAULT_DUP_SECONDS", "DEMO_SECURITY_KEY", "Sandbox", "format_answer"]


class Sandbox(
    Transactions,
    FollowUps,
    Vault,
    PaymentMethods,
    StoredCredentials,
    Settlement,
    Query,
    Store,
):
    """The whole sandbox: `transact`, `query`, `settle`, `return_check`, `reset`, `counts`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hosted = HostedFields(self.keys, clock=self.clock)  # hosted.py: tokens, in memory
