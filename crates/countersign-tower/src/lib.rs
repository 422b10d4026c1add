//! countersign-tower (in progress).
