"""Remit's sandbox payment gateway: a separate server speaking a subset of the NMI protocol.

It keeps its own Customer Vault and transactions in its own SQLite file and talks to Remit only
over HTTP; it imports nothing from Remit or Django. Run it with `python -m sandbox_gateway` or
`remit sandbox-gateway`. docs/gateway.md lists its test triggers, control endpoints and faults.
"""
