//! `mpathpersist` over libiscsi: multipath-tools' options and exit
//! statuses, one nexus per `--portal`, PR OUT through the reservation
//! coordinator across all of them. See `mpath_iscsi::persist` for what
//! each option does here.
//!
//! ```text
//! cargo run -p mpath-iscsi --example mpathpersist -- \
//!     --portal 127.0.0.2:3260 --portal 127.0.0.3:3260 \
//!     --target iqn.2024-01.org.example:disk --lun 1 \
//!     --initiator iqn.2024-01.org.example:host1 \
//!     --out --register --param-sark=a1
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let status = mpath_iscsi::persist::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(status.code())
}
