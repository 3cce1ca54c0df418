//! RAM budget probe (benchmark B11): the engine's state (with its two reassembly buffers for
//! fragmented forwards) plus the RAM index of a 2000-item store whose item bytes live in flash
//! must fit 48 KiB on an MCU.
//!
//! [`FlashIndexProbe`] stands for a flash store's RAM: a `u16` map from the engine's index
//! position to a fixed-size flash slot (2000 × 2 bytes; records and bytes stay in flash).
//! The `const` assertion below is evaluated wherever `toile-proto` compiles, including the
//! `thumbv7em-none-eabihf` build of `.ci/run`, so the budget cannot regress unnoticed; the
//! host test `engine::ram::tests` prints the figures.

use super::{Engine, Record, Store, StoreError};
use crate::item::ItemId;

/// Items a board keeps (B11: >= 2000 items in flash).
pub const BOARD_ITEMS: usize = 2_000;
/// The RAM budget (bytes).
pub const RAM_BUDGET: usize = 48 * 1_024;

/// The RAM a flash store needs for [`BOARD_ITEMS`]: position -> flash slot. Its `Store`
/// methods are a stand-in (it holds nothing): it exists to be measured.
#[derive(Debug)]
pub struct FlashIndexProbe {
    slot_of: [u16; BOARD_ITEMS],
    len: u16,
}

impl Store for FlashIndexProbe {
    fn capacity(&self) -> usize {
        BOARD_ITEMS
    }
    fn len(&self) -> usize {
        usize::from(self.len)
    }
    fn insert(&mut self, _record: &Record, _bytes: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Full)
    }
    fn remove(&mut self, _id: &ItemId) -> bool {
        false
    }
    fn mark_handed_over(&mut self, _id: &ItemId) -> bool {
        false
    }
    fn at(&self, _index: usize) -> Option<(Record, &[u8])> {
        let _ = self.slot_of.first();
        None
    }
}

/// The engine a board runs, as measured.
pub type BoardEngine = Engine<FlashIndexProbe, BOARD_ITEMS>;

/// Bytes of RAM the engine and its store index take on the target this is compiled for.
pub const BOARD_ENGINE_RAM: usize = core::mem::size_of::<BoardEngine>();

/// [`BOARD_ENGINE_RAM`] kept in the compiled library so the figure for a real target can be
/// read back from its object code: `tests/ram-thumbv7em.sh` builds for thumbv7em and prints
/// it with `llvm-nm` / `llvm-objdump`.
#[used]
pub static BOARD_ENGINE_RAM_BYTES: usize = BOARD_ENGINE_RAM;

const _: () = assert!(
    BOARD_ENGINE_RAM <= RAM_BUDGET,
    "engine + 2000-item store index exceed 48 KiB: shrink the index entry or the queues"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_engine_fits_48_kib() {
        // On the host (64-bit pointers) this is an upper bound of the thumbv7em figure.
        std::println!(
            "engine + 2000-item index: {BOARD_ENGINE_RAM} bytes of {RAM_BUDGET} ({:.1} %)",
            BOARD_ENGINE_RAM as f64 * 100.0 / RAM_BUDGET as f64
        );
        const { assert!(BOARD_ENGINE_RAM <= RAM_BUDGET) };
    }
}
