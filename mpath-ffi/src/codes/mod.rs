//! The integer codes enumerations cross the boundary as, and their
//! translation to and from the core's enums.
//!
//! Every table is one `c_enum!` invocation: a `#[repr(u32)]` enum (what a
//! cbindgen header shows) with `from_code`, which refuses a value outside
//! the table, and `code`. Parameters and struct fields are plain `uint32_t`,
//! never the enum type: C can put any bit pattern there, and an invalid
//! value of a Rust enum would be undefined behaviour before any check ran.
//!
//! The core's enums are `#[non_exhaustive]`. A variant added there that
//! this crate does not know yet goes out as [`MPATH_CODE_UNKNOWN`].
//!
//! The tables are grouped by what they describe (one file each): I/O and
//! its completion, paths and their access states, persistent
//! reservations, the device's outputs, and the transport adapters'
//! commands and responses. All are re-exported here, so
//! every code is `mpath_ffi::codes::Mpath*`.

/// The code an output carries for a core variant this library predates.
pub const MPATH_CODE_UNKNOWN: u32 = u32::MAX;

/// Declares a C code table: a `#[repr(u32)]` enum with explicit values,
/// `from_code` (refusing values outside the table) and `code`.
macro_rules! c_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// The variant with this code, or `None` for a value outside
            /// the table.
            pub const fn from_code(code: u32) -> Option<Self> {
                match code {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
            }

            /// This variant's code.
            pub const fn code(self) -> u32 {
                match self {
                    $( Self::$variant => $value, )+
                }
            }

            /// [`from_code`](Self::from_code), as the `-EINVAL` an export
            /// returns for a value outside the table. (Output-only tables
            /// never parse.)
            #[allow(dead_code)]
            pub(crate) fn parse(code: u32) -> Result<Self, ::core::ffi::c_int> {
                Self::from_code(code).ok_or(-$crate::errno::EINVAL)
            }
        }
    };
}

// After the macro: textual scope makes it visible in these modules.
mod adapter;
mod device;
mod io;
mod path;
mod reservation;

pub use adapter::*;
pub use device::*;
pub use io::*;
pub use path::*;
pub use reservation::*;
