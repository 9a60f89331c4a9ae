"""signpost's benchmark: run it with ``make bench`` (what it measures: docs/development.md)."""
