//! `mpathpersist` over libiscsi: show every nexus of a LUN with its
//! registration state, and register, reserve, release, preempt, clear and
//! read keys across all of them. See `mpath_iscsi::persist` for the
//! command line.
//!
//! ```text
//! cargo run -p mpath-iscsi --example mpathpersist -- \
//!     --portal 127.0.0.1:3260 --portal 127.0.0.2:3260 \
//!     --target iqn.2024-01.org.example:disk --lun 1 \
//!     --initiator iqn.2024-01.org.example:host --key 0xa1 register reserve we-ro status
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match mpath_iscsi::persist::parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match mpath_iscsi::persist::run(&args, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mpathpersist: {e}");
            ExitCode::FAILURE
        }
    }
}
