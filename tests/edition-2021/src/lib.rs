//! Empty: the tests in `tests/` are what this crate is for. They compile the three
//! attributes in edition 2021, whose rules for the lifetimes an `impl Trait` captures
//! differ from those of edition 2024, the edition of the rest of the workspace.
