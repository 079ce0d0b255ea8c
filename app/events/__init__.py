"""Change events: the one writer of `change_events` and its readers (a leaf: core only)."""
