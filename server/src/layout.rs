//! The slot-to-core map of a node.
//!
//! Slots are divided among cores in contiguous runs: core `c` of `n` owns slots
//! `[ceil(c*2048/n), ceil((c+1)*2048/n))`, so `core_of(slot) = slot * n / 2048` with no table lookup on the
//! hot path. The map is a property of the data: each core's RocksDB instance holds only its own slots, so
//! the map is written into the data folder (`layout.toml`) when the folder is created and checked at every
//! start. Starting with a different `--cores` is refused with a message that says what to do, rather than
//! silently serving from the wrong instance.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::slot::{SlotId, SLOT_COUNT};
use crate::storage::StorageError;

/// File name of the persisted layout inside the data folder.
pub const LAYOUT_FILE: &str = "layout.toml";
const FORMAT: u32 = 1;

/// Which core owns which slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub cores: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LayoutFile {
    format: u32,
    cores: usize,
    /// `[first, last]` slot of each core, for people reading the file.
    slots: Vec<[u16; 2]>,
}

impl Layout {
    /// `cores` cores sharing the slots evenly.
    pub fn even(cores: usize) -> Layout {
        assert!((1..=SLOT_COUNT).contains(&cores));
        Layout { cores }
    }

    /// The core that owns `slot`.
    #[inline]
    pub fn core_of(&self, slot: SlotId) -> usize {
        slot.0 as usize * self.cores / SLOT_COUNT
    }

    /// The slots `core` owns.
    pub fn slots_of(&self, core: usize) -> Range<u16> {
        let start = (core * SLOT_COUNT).div_ceil(self.cores);
        let end = ((core + 1) * SLOT_COUNT).div_ceil(self.cores);
        start as u16..end as u16
    }

    /// Loads the layout of an existing data folder, or writes `Layout::even(cores)` into a new one.
    pub fn load_or_create(dir: &Path, cores: usize) -> Result<Layout, StorageError> {
        let path = dir.join(LAYOUT_FILE);
        let err = |reason: String| StorageError::Layout {
            dir: dir.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: LayoutFile = toml::from_str(&text)
                    .map_err(|e| err(format!("{LAYOUT_FILE} is unreadable: {e}")))?;
                if file.format != FORMAT {
                    return Err(err(format!(
                        "{LAYOUT_FILE} has format {}, this build reads {FORMAT}",
                        file.format
                    )));
                }
                if file.cores != cores {
                    return Err(err(format!(
                        "it was created with {} cores and its slots are stored per core; start with --cores {} \
                         (moving slots between cores is not supported yet)",
                        file.cores, file.cores
                    )));
                }
                Ok(Layout::even(cores))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if dir.join("core-0").exists() {
                    return Err(err(format!(
                        "core-0/ exists but {LAYOUT_FILE} is missing; refusing to guess the layout"
                    )));
                }
                let layout = Layout::even(cores);
                let file = LayoutFile {
                    format: FORMAT,
                    cores,
                    slots: (0..cores)
                        .map(|c| {
                            let r = layout.slots_of(c);
                            [r.start, r.end - 1]
                        })
                        .collect(),
                };
                let text = format!(
                    "# Written by slotkv when this data folder was created. Do not edit.\n{}",
                    toml::to_string(&file).expect("layout serialises")
                );
                let tmp = dir.join(format!("{LAYOUT_FILE}.tmp"));
                std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
                std::fs::rename(&tmp, &path).map_err(|e| err(e.to_string()))?;
                Ok(layout)
            }
            Err(e) => Err(err(format!("cannot read {LAYOUT_FILE}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_exactly_the_core_that_lists_it() {
        for cores in [1, 2, 3, 7, 64, 2048] {
            let l = Layout::even(cores);
            let mut seen = 0;
            for c in 0..cores {
                for s in l.slots_of(c) {
                    assert_eq!(l.core_of(SlotId(s)), c, "cores={cores} slot={s}");
                    seen += 1;
                }
            }
            assert_eq!(seen, SLOT_COUNT);
        }
    }

    #[test]
    fn persisted_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        Layout::load_or_create(dir.path(), 2).unwrap();
        assert_eq!(
            Layout::load_or_create(dir.path(), 2).unwrap(),
            Layout::even(2)
        );
        let e = Layout::load_or_create(dir.path(), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("created with 2 cores"), "{e}");
    }
}
