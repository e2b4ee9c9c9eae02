//! READ, WRITE and READ CAPACITY (SBC-3 5.11-5.16, 5.32-5.34) over the
//! [`BlockStore`](crate::block_store::BlockStore), without allocating.
//!
//! A range that ends past the last block is LOGICAL BLOCK ADDRESS OUT OF
//! RANGE (21/00) with the field pointer at the LBA, checked before the
//! data; a TRANSFER LENGTH of zero moves nothing and is not an error. A
//! non-zero RDPROTECT/WRPROTECT is INVALID FIELD IN CDB: there is no
//! protection information here. FUA, DPO and GROUP NUMBER are accepted and
//! change nothing (the store has no cache to bypass). A data-in buffer
//! shorter than the transfer gets the blocks that fit, the last one cut
//! short, and an overflow residual.

use mpath_scsi::RwParams;

use super::response::{asc, Failure, Response};
use super::LogicalUnit;

impl LogicalUnit {
    /// The transfer's length in bytes, after the range and protection
    /// checks.
    fn transfer(&self, p: &RwParams) -> Result<usize, Failure> {
        if p.protect != 0 {
            return Err(Failure::invalid_cdb(1, Some(7)));
        }
        let end = p.lba.checked_add(u64::from(p.blocks));
        if end.map_or(true, |e| e > self.store.blocks()) {
            return Err(Failure::pointer(asc::LBA_OUT_OF_RANGE, true, 2, None));
        }
        usize::try_from(p.blocks)
            .ok()
            .and_then(|b| b.checked_mul(self.store.block_size()))
            .ok_or(Failure::pointer(asc::LBA_OUT_OF_RANGE, true, 2, None))
    }

    pub(super) fn read(&self, p: RwParams, data_in: &mut [u8]) -> Result<Response, Failure> {
        let len = self.transfer(&p)?;
        let bs = self.store.block_size();
        let n = len.min(data_in.len());
        let whole = n.checked_div(bs).unwrap_or(0);
        let whole_bytes = whole.saturating_mul(bs);
        if let Some(dst) = data_in.get_mut(..whole_bytes) {
            // The range was checked above; an error here is a store bug and
            // reads as zeros rather than a panic.
            if self.store.read(p.lba, whole as u64, dst).is_err() {
                dst.fill(0);
            }
        }
        if let Some(tail) = data_in.get_mut(whole_bytes..n) {
            // The block cut short by the buffer, as far as it goes.
            self.store
                .read_prefix(p.lba.saturating_add(whole as u64), tail);
        }
        Ok(Response::good_data(len, data_in.len()))
    }

    pub(super) fn write(
        &mut self,
        p: RwParams,
        data_out: &[u8],
        room: usize,
    ) -> Result<Response, Failure> {
        let len = self.transfer(&p)?;
        let data = data_out
            .get(..len)
            .ok_or(Failure::illegal(asc::INVALID_FIELD_IN_COMMAND_IU))?;
        self.store
            .write(p.lba, data)
            .map_err(|_| Failure::pointer(asc::LBA_OUT_OF_RANGE, true, 2, None))?;
        Ok(Response::good(room))
    }

    /// READ CAPACITY (10) when `alloc_len` is `None`, else (16). The (10)
    /// form says FFFFFFFFh when the last LBA does not fit (SBC-3 5.15.2).
    pub(super) fn read_capacity(&self, alloc_len: Option<u32>, data_in: &mut [u8]) -> Response {
        let last = self.store.blocks().saturating_sub(1);
        let bs = u32::try_from(self.store.block_size()).unwrap_or(u32::MAX);
        let mut data = [0u8; 32];
        let len = match alloc_len {
            None => {
                let last32 = u32::try_from(last).unwrap_or(u32::MAX);
                data[..4].copy_from_slice(&last32.to_be_bytes());
                data[4..8].copy_from_slice(&bs.to_be_bytes());
                8
            }
            Some(_) => {
                data[..8].copy_from_slice(&last.to_be_bytes());
                data[8..12].copy_from_slice(&bs.to_be_bytes());
                32
            }
        };
        let alloc = alloc_len.map_or(8, |a| usize::try_from(a).unwrap_or(usize::MAX));
        super::response::send(data.get(..len).unwrap_or(&[]), alloc, data_in)
    }
}
