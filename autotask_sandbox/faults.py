"""Injected faults for the query endpoints: queued by POST /_sandbox/fault, consumed in order.

Modes: `rate_limit` (429 with Retry-After), `http_500`, `timeout` (answers after `delay` seconds),
`malformed` (200 with a truncated JSON body). `after` lets that many queries through first, so a
fault can land halfway through a paged read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_MODES = ("rate_limit", "http_500", "timeout", "malformed")
MALFORMED = b'{"items": [{"id": 1, "companyName": "Trunc'


@dataclass(frozen=True)
class Fault:
    mode: str
    delay: float = 5.0
    retry_after: int = 1


class Faults:
    def __init__(self, run_fault: str | None = None) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._count = 0
        self._after = 0
        self.run_fault = Fault(run_fault) if run_fault and run_fault != "none" else None

    def set(self, fault: Fault | None, count: int = 1, after: int = 0) -> None:
        with self._lock:
            self._fault, self._count, self._after = fault, count, after

    def take(self) -> Fault | None:
        with self._lock:
            if self._fault is not None and self._count > 0:
                if self._after > 0:
                    self._after -= 1
                    return None
                self._count -= 1
                fault = self._fault
                if self._count == 0:
                    self._fault = None
                return fault
        return self.run_fault
