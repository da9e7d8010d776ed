//! The trybuild harness lives in `tests/ui.rs`; this crate has no code of its own.
