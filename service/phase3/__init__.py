"""The hand-off to Phase 3: the reference consumer of `phase3_queue`."""
