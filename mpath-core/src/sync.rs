//! The atomics the data plane is built from: `core`'s (and portable-atomic's
//! 64-bit ones, for targets without native 64-bit atomics) in every build,
//! loom's under `--cfg loom`, so that the model in `tests/loom_select.rs`
//! explores the interleavings of the real selection and publication code.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU8, Ordering};
#[cfg(not(loom))]
pub(crate) use portable_atomic::{AtomicI64, AtomicU64};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering,
};
