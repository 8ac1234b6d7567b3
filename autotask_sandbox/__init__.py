"""A sandbox Autotask PSA: a separate HTTP server speaking the subset of Autotask's REST API that
Remit's connector uses (docs/autotask.md). It imports nothing of Remit and keeps its own SQLite
storage, so tests and the demo talk to it over real HTTP, as they would to Autotask."""
