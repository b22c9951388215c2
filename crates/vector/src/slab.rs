//! The vectors by slot: the int8 codes HNSW walks, and the exact f32 copy used for rescoring,
//! exact scans, compaction and dumps.
//!
//! Every insert takes a new slot; replacing or deleting a photo leaves its old slot behind as
//! a tombstone (HNSW cannot remove a point), which searches skip and compaction drops.

use std::collections::HashMap;

use shoebox_core::PhotoId;

use crate::graph::reserve_for;
use crate::quant;

/// Slot-addressed vectors of one dimension, with the live slot of each photo.
#[derive(Debug, Clone)]
pub(crate) struct Slab {
    dim: usize,
    photos: Vec<PhotoId>,
    data: Vec<f32>,
    /// The int8 code of each slot's vector (see `quant.rs`).
    codes: Vec<i8>,
    /// Photo → its current slot.
    live: HashMap<PhotoId, usize>,
    /// Slot → whether it is current: scans and filters read this in slot order.
    alive: Vec<bool>,
}

impl Slab {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            dim,
            photos: Vec::new(),
            data: Vec::new(),
            codes: Vec::new(),
            live: HashMap::new(),
            alive: Vec::new(),
        }
    }

    /// Rebuilds a slab from dumped parts; `live[slot]` says whether a slot is current.
    pub(crate) fn from_parts(
        dim: usize,
        photos: Vec<PhotoId>,
        live: &[bool],
        data: Vec<f32>,
    ) -> Self {
        let alive: Vec<bool> = (0..photos.len())
            .map(|slot| live.get(slot).copied().unwrap_or(false))
            .collect();
        let live = photos
            .iter()
            .zip(&alive)
            .enumerate()
            .filter(|(_, (_, alive))| **alive)
            .map(|(slot, (photo, _))| (*photo, slot))
            .collect();
        let mut codes = Vec::with_capacity(data.len());
        for vector in data.chunks_exact(dim.max(1)) {
            quant::encode(vector, &mut codes);
        }
        Self {
            dim,
            photos,
            data,
            codes,
            live,
            alive,
        }
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Appends a vector for `photo`, tombstoning its previous slot; returns the new slot.
    pub(crate) fn push(&mut self, photo: PhotoId, vector: &[f32]) -> usize {
        let slot = self.photos.len();
        reserve_for(&mut self.photos, 1);
        reserve_for(&mut self.alive, 1);
        reserve_for(&mut self.data, vector.len());
        reserve_for(&mut self.codes, vector.len());
        self.photos.push(photo);
        self.data.extend_from_slice(vector);
        quant::encode(vector, &mut self.codes);
        self.alive.push(true);
        if let Some(old) = self.live.insert(photo, slot) {
            self.alive[old] = false;
        }
        slot
    }

    /// Tombstones the photo's slot; false when it had none.
    pub(crate) fn remove(&mut self, photo: PhotoId) -> bool {
        match self.live.remove(&photo) {
            Some(slot) => {
                self.alive[slot] = false;
                true
            }
            None => false,
        }
    }

    pub(crate) fn vector(&self, slot: usize) -> &[f32] {
        &self.data[slot * self.dim..(slot + 1) * self.dim]
    }

    pub(crate) fn code(&self, slot: usize) -> &[i8] {
        &self.codes[slot * self.dim..(slot + 1) * self.dim]
    }

    pub(crate) fn photo(&self, slot: usize) -> PhotoId {
        self.photos[slot]
    }

    /// Whether `slot` is its photo's current vector.
    pub(crate) fn is_live(&self, slot: usize) -> bool {
        self.alive.get(slot).copied().unwrap_or(false)
    }

    pub(crate) fn live_slot(&self, photo: PhotoId) -> Option<usize> {
        self.live.get(&photo).copied()
    }

    /// Live photos and their slots, in slot order (memory order, for scans).
    pub(crate) fn live(&self) -> impl Iterator<Item = (PhotoId, usize)> + '_ {
        self.alive
            .iter()
            .enumerate()
            .filter(|(_, alive)| **alive)
            .map(|(slot, _)| (self.photos[slot], slot))
    }

    pub(crate) fn live_len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn slots(&self) -> usize {
        self.photos.len()
    }

    pub(crate) fn photos(&self) -> &[PhotoId] {
        &self.photos
    }

    pub(crate) fn data(&self) -> &[f32] {
        &self.data
    }

    /// Gives spare capacity back.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.photos.shrink_to_fit();
        self.data.shrink_to_fit();
        self.codes.shrink_to_fit();
        self.live.shrink_to_fit();
        self.alive.shrink_to_fit();
    }

    /// Bytes allocated for the slab (capacity, not length). The photo map's share is its
    /// table (a power of two of buckets, 8 per 7 entries, with a control byte each).
    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(PhotoId, usize)>();
        let buckets = match self.live.capacity() {
            0 => 0,
            cap => (cap * 8 / 7).next_power_of_two(),
        };
        self.photos.capacity() * std::mem::size_of::<PhotoId>()
            + self.data.capacity() * std::mem::size_of::<f32>()
            + self.codes.capacity()
            + self.alive.capacity()
            + buckets * (entry + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_and_removing_leave_tombstones() {
        let mut slab = Slab::new(2);
        let a = slab.push(PhotoId(7), &[1.0, 0.0]);
        let b = slab.push(PhotoId(7), &[0.0, 1.0]);
        assert!(!slab.is_live(a));
        assert!(slab.is_live(b));
        assert_eq!(slab.vector(b), &[0.0, 1.0]);
        assert_eq!(slab.code(b), &[0, 127]);
        assert!(slab.remove(PhotoId(7)));
        assert!(!slab.remove(PhotoId(7)));
        assert!(!slab.is_live(b));
        assert_eq!((slab.slots(), slab.live_len()), (2, 0));
        assert!(!slab.is_live(99));
    }
}
