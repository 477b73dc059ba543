"""What happened and what it cost: cache classes, the ledger, aggregates, metrics and events."""
