//! Fixtures for the object-code gate's self-test (feature
//! `gate-selftest`): one export per kind of code `scripts/objgate.py` must
//! refuse, so CI can prove the gate sees each kind in a real staticlib.
//! Never enable this feature in a build anyone links.

// These functions exist to contain what the crate's lints forbid.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::float_arithmetic,
    clippy::as_conversions,
    clippy::cast_possible_truncation
)]

/// Indexes a slice out of bounds and unwraps a failed conversion:
/// reaches `panic_bounds_check` and `unwrap_failed`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_gate_selftest_panics(index: usize, value: u32) -> u32 {
    let table = [1u32, 2, 3, 4];
    let narrow = u8::try_from(value).unwrap();
    table[index].wrapping_add(u32::from(narrow))
}

/// Divides 128-bit integers: calls `__udivti3`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_gate_selftest_i128(high: u64, low: u64, divisor: u64) -> u64 {
    let wide = (u128::from(high) << 64) | u128::from(low);
    wide.checked_div(u128::from(divisor)).unwrap_or(0) as u64
}

/// Float arithmetic: on a soft-float target, calls `__floatundidf`,
/// `__adddf3`, `__divdf3` and `__fixunsdfdi`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_gate_selftest_float(a: u64, b: u64) -> u64 {
    (a as f64 / (b as f64 + 0.5)) as u64
}

/// An SSE instruction in an exported function. Rust cannot emit one on
/// the soft-float kernel target (it lowers float and SIMD code to
/// integer code or helper calls), so it comes from assembly: what the gate
/// guards against is exactly such assembly, or a build for a target with
/// the FPU enabled. Never called.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sse {
    core::arch::global_asm!(
        ".pushsection .text.mpath_gate_selftest_sse,\"ax\",@progbits",
        ".globl mpath_gate_selftest_sse",
        ".type mpath_gate_selftest_sse,@function",
        "mpath_gate_selftest_sse:",
        "xorps %xmm0, %xmm0",
        "movss %xmm0, (%rdi)",
        "ret",
        ".size mpath_gate_selftest_sse, .-mpath_gate_selftest_sse",
        ".popsection",
        options(att_syntax)
    );
}
