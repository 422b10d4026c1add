//! countersign-dedup (in progress).
