"""The recorded real-gateway corpus in `<repo root>/../shared/nmi-recorded/`, read as test data.

It is never copied into the project: the conformance tests point at it, and skip (saying why) only
when the folder is absent. Its INDEX.tsv / index.json name the public repository, file and line
each answer or request came from.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "nmi-recorded"

# What the corpus holds today; a test checks the folder still has them all, so that a partial copy
# cannot pass as a full run.
TRANSACT_ANSWERS = 120
QUERY_DOCUMENTS = 12
REQUEST_SETS = 37

REFID = re.compile(r" REFID:\d+")
_STARTS_WITH = re.compile(r"^starts with '(.*)'$", re.S)


def require_corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(
            f"the recorded NMI corpus is not at {CORPUS} (it sits beside the repository as"
            " ../shared/nmi-recorded/); the conformance suite needs it",
            allow_module_level=True,
        )
    return CORPUS


def transact_files() -> list[Path]:
    return sorted((CORPUS / "transact").glob("*.txt")) if CORPUS.is_dir() else []


def query_files() -> list[Path]:
    return sorted((CORPUS / "query").glob("*.xml")) if CORPUS.is_dir() else []


def request_files() -> list[Path]:
    return sorted((CORPUS / "requests").glob("*.json")) if CORPUS.is_dir() else []


def transact_expected() -> dict[str, dict]:
    return json.loads((CORPUS / "transact_expected.json").read_text())


def load_request(path: Path) -> dict:
    return json.loads(path.read_text())


def ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def future_ccexp(ccexp: str, now: datetime | None = None) -> str:
    """A recorded MMYY expiry, or December of next year once it has passed (the corpus itself moved
    CAMS's 0916 forward the same way): the requests must stay valid cards as time goes by."""
    now = now or datetime.now(UTC)
    if len(ccexp) == 4 and ccexp.isdigit():
        month, year = int(ccexp[:2]), 2000 + int(ccexp[2:])
        if (year, month) >= (now.year, now.month):
            return ccexp
    return f"12{(now.year + 1) % 100:02d}"


def matches(expected: str, actual: str | None) -> bool:
    """One `expected_real` value against the sandbox's: `non-empty`, `field absent`,
    `starts with '…'` (a text with its `REFID:` number free), or the exact value."""
    if expected == "field absent":
        return actual is None
    if actual is None:
        return False
    if expected == "non-empty":
        return actual != ""
    prefix = _STARTS_WITH.match(expected)
    if prefix:
        text = prefix.group(1)
        if text.endswith(" REFID:"):
            # The recorded text, then a REFID number and nothing else.
            base = text[: -len(" REFID:")]
            return actual.startswith(base) and bool(REFID.fullmatch(actual[len(base) :]))
        return actual.startswith(text)
    return actual == expected
