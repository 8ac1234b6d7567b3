"""Test payment data for benchmarks and tests: NMI's public test numbers and the sandbox gateway's
triggers (docs/gateway.md). Never used by product code."""

VISA = "4111111111111111"  # approves
MASTERCARD = "5431111111111111"  # approves
AMEX = "341111111111111"  # approves; four-digit CVV
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
ROUTING = "490000018"
ACCOUNT = "24413815"
