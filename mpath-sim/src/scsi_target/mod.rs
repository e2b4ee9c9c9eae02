//! A SCSI logical unit behind target port groups (being built).
