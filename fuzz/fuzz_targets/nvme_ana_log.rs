//! ANA log page: parsing never panics, and a page that parses re-emits to
//! bytes that parse to the same groups.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_nvme::ana::{AnaGroupRepr, AnaLog, AnaLogOptions, AnaLogRepr};

fuzz_target!(|data: &[u8]| {
    // Byte 0 bit 0: RGO; bytes 1..5: ANAGRPMAX; the rest is the page.
    let Some((head, page)) = data.split_first_chunk::<5>() else {
        return;
    };
    let [flags, max @ ..] = *head;
    let opts = AnaLogOptions {
        anagrpmax: u32::from_le_bytes(max),
        rgo: flags & 1 != 0,
    };
    let Ok(log) = AnaLog::new_checked(page, opts) else {
        return;
    };
    let groups: Vec<AnaGroupRepr<'_>> = log.groups().collect();
    assert_eq!(groups.len(), usize::from(log.group_count()));
    assert!(log.len() <= page.len());
    for (grpid, _) in log.group_states() {
        assert!(grpid != 0 && grpid <= opts.anagrpmax);
    }
    if let Some(nsid) = groups.first().and_then(|g| g.nsids.iter().next()) {
        assert!(log.find_nsid(nsid).is_some());
    }
    let repr = AnaLogRepr {
        change_count: log.change_count(),
        groups: &groups,
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out).expect("emit into buffer_len bytes");
    assert_eq!(out.len(), log.len());
    let again = AnaLog::new_checked(&out[..], opts).expect("re-emitted page parses");
    assert_eq!(again.change_count(), log.change_count());
    assert!(again.groups().eq(groups.iter().copied()));
});
