"""Injected faults for transact.php: per run, queued by the control endpoint, or per request.

A request's own fault (`merchant_defined_field_20=sandbox_fault:<mode>[:<delay>]`) wins over a
queued one, which wins over the run's. docs/gateway.md ("Faults") says what each mode does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_MODES = ("timeout", "drop_after_approve", "http_500", "garbage")
DEFAULT_FAULT_DELAY = 35.0  # past Remit's default 30 s read timeout
GARBAGE = b"\x1f\x8b\x00<html><body>502 Bad Gateway</body></html>\xff\xfe"
FAULT_FIELD = "merchant_defined_field_20"


@dataclass(frozen=True)
class Fault:
    mode: str
    delay: float = DEFAULT_FAULT_DELAY


class Faults:
    """The run's fault and the queued one (thread-safe)."""

    def __init__(self, run_fault: str | None, fault_delay: float) -> None:
        self.fault_delay = fault_delay
        self.run_fault = (
            Fault(run_fault, fault_delay) if run_fault and run_fault != "none" else None
        )
        self._lock = threading.Lock()
        self._queued: Fault | None = None
        self._queued_count = 0

    def set(self, mode: str, count: int, delay: float) -> None:
        with self._lock:
            if mode == "none":
                self._queued, self._queued_count = None, 0
            else:
                self._queued, self._queued_count = Fault(mode, delay), count

    def take(self, form: dict[str, str]) -> Fault | None:
        """The fault for this transact request: the request's own, else a queued one (consumed),
        else the run's."""
        own = form.get(FAULT_FIELD, "")
        if own.startswith("sandbox_fault:"):
            mode, _, delay = own.removeprefix("sandbox_fault:").partition(":")
            if mode in FAULT_MODES:
                return Fault(mode, parse_seconds(delay, self.fault_delay))
        with self._lock:
            if self._queued is not None and self._queued_count > 0:
                fault = self._queued
                self._queued_count -= 1
                if self._queued_count == 0:
                    self._queued = None
                return fault
        return self.run_fault


def parse_seconds(value: str, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 and number == number else default
