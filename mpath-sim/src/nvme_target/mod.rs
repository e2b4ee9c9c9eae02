//! An NVMe subsystem (being built).
