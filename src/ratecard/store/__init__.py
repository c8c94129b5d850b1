"""The event store: an embedded DuckDB file by default (``EventStore``)."""

from ratecard.store.events import EventStore, IngestReport

__all__ = ["EventStore", "IngestReport"]
