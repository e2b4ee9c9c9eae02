//! Get Log Page (Base 2.0 "Get Log Page command"): the Asymmetric
//! Namespace Access log (0Ch) and the Reservation Notification log (80h),
//! emitted with `mpath_nvme`'s `Repr`s.
//!
//! Both are controller-scoped, so the NSID must be 0 or FFFFFFFFh. The
//! offset (LPOU:LPOL) must be a dword multiple within the page; a read
//! past the end of the page returns zeros there, and a read shorter than
//! the page is cut (NUMD truncation). Reading with RAE clear unmasks the
//! page's asynchronous event.

use mpath_nvme::ana::{AnaGroupRepr, AnaLogRepr, NsidList};
use mpath_nvme::log_page::{GetLogPage, LID_ANA, LID_RESERVATION_NOTIFICATION, LSP_ANA_RGO};
use mpath_nvme::resv_notification::LOG_LEN;
use mpath_nvme::status::StatusCode;

use super::admin::buffer;
use super::sqe::SubmissionEntry;
use super::subsystem::{Fail, Subsystem};

impl Subsystem {
    pub(crate) fn get_log_page(
        &mut self,
        cntlid: u16,
        e: &SubmissionEntry,
        data_in: &mut [u8],
    ) -> Result<(), Fail> {
        let [a, b, c, d, ..] = e.cdw;
        let cmd = GetLogPage::parse([a, b, c, d]);
        if e.nsid != 0 && e.nsid != u32::MAX {
            return Err(StatusCode::INVALID_FIELD.into());
        }
        let len = usize::try_from(cmd.transfer_len())
            .map_err(|_| Fail::from(StatusCode::INVALID_FIELD))?;
        let out = buffer(data_in, len)?;
        let offset = usize::try_from(cmd.offset)
            .ok()
            .filter(|o| o % 4 == 0)
            .ok_or(Fail::from(StatusCode::INVALID_FIELD))?;
        let page = match cmd.lid {
            LID_ANA => self
                .ana_log(cntlid, cmd.lsp & LSP_ANA_RGO != 0)
                .ok_or(Fail::from(StatusCode::INTERNAL_ERROR))?,
            LID_RESERVATION_NOTIFICATION => {
                // Check the offset before taking the page off the queue.
                if offset > LOG_LEN {
                    return Err(StatusCode::INVALID_FIELD.into());
                }
                let c = self
                    .controllers
                    .get_mut(&cntlid)
                    .ok_or(Fail::from(StatusCode::INTERNAL_ERROR))?;
                let mut page = vec![0u8; LOG_LEN];
                c.pop_notification()
                    .emit(&mut page)
                    .map_err(|_| Fail::from(StatusCode::INTERNAL_ERROR))?;
                page
            }
            _ => return Err(StatusCode::INVALID_LOG_PAGE.into()),
        };
        let rest = page
            .get(offset..)
            .ok_or(Fail::from(StatusCode::INVALID_FIELD))?;
        let n = rest.len().min(out.len());
        let (head, tail) = out.split_at_mut(n);
        head.copy_from_slice(rest.get(..n).unwrap_or_default());
        tail.fill(0);
        if !cmd.rae {
            if let Some(c) = self.controllers.get_mut(&cntlid) {
                c.unmask(cmd.lid);
            }
        }
        Ok(())
    }

    /// The whole ANA log page through `cntlid`: one descriptor per ANA
    /// group of the subsystem in ANAGRPID order, empty groups included (as
    /// Linux nvmet lists every enabled group), each with the group's
    /// namespaces unless `rgo`. With Return Groups Only the number of
    /// NSIDs is 0, as the specification and nvmet have it.
    /// `None` for an unknown controller.
    pub fn ana_log(&self, cntlid: u16, rgo: bool) -> Option<Vec<u8>> {
        let c = self.controllers.get(&cntlid)?;
        let lists: Vec<(u32, _, Vec<u32>)> = c
            .ana
            .iter()
            .map(|(grpid, view)| {
                let nsids = self
                    .namespaces
                    .values()
                    .filter(|n| n.cfg.anagrpid == *grpid)
                    .map(|n| n.cfg.nsid)
                    .collect();
                (*grpid, *view, nsids)
            })
            .collect();
        let groups: Vec<AnaGroupRepr<'_>> = lists
            .iter()
            .map(|(grpid, view, nsids)| AnaGroupRepr {
                grpid: *grpid,
                change_count: view.change_count,
                state: view.state,
                nsids: if rgo {
                    NsidList::CountOnly(0)
                } else {
                    NsidList::Slice(nsids)
                },
            })
            .collect();
        let repr = AnaLogRepr {
            change_count: c.ana_change_count,
            groups: &groups,
        };
        let mut page = vec![0u8; repr.buffer_len()];
        repr.emit(&mut page).ok()?;
        Some(page)
    }
}
