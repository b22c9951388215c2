//! The vectors by slot: what HNSW points at, and the exact copy used for rescoring, exact
//! scans, compaction and dumps.
//!
//! Every insert takes a new slot; replacing or deleting a photo leaves its old slot behind as
//! a tombstone (HNSW cannot remove a point), which searches skip and compaction drops.

use std::collections::HashMap;

use shoebox_core::PhotoId;

/// Slot-addressed vectors of one dimension, with the live slot of each photo.
#[derive(Debug, Clone)]
pub(crate) struct Slab {
    dim: usize,
    photos: Vec<PhotoId>,
    data: Vec<f32>,
    live: HashMap<PhotoId, usize>,
}

impl Slab {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            dim,
            photos: Vec::new(),
            data: Vec::new(),
            live: HashMap::new(),
        }
    }

    /// Rebuilds a slab from dumped parts; `live[slot]` says whether a slot is current.
    pub(crate) fn from_parts(
        dim: usize,
        photos: Vec<PhotoId>,
        live: &[bool],
        data: Vec<f32>,
    ) -> Self {
        let live = photos
            .iter()
            .zip(live)
            .enumerate()
            .filter(|(_, (_, alive))| **alive)
            .map(|(slot, (photo, _))| (*photo, slot))
            .collect();
        Self {
            dim,
            photos,
            data,
            live,
        }
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Appends a vector for `photo`, tombstoning its previous slot; returns the new slot.
    pub(crate) fn push(&mut self, photo: PhotoId, vector: &[f32]) -> usize {
        let slot = self.photos.len();
        self.photos.push(photo);
        self.data.extend_from_slice(vector);
        self.live.insert(photo, slot);
        slot
    }

    /// Tombstones the photo's slot; false when it had none.
    pub(crate) fn remove(&mut self, photo: PhotoId) -> bool {
        self.live.remove(&photo).is_some()
    }

    pub(crate) fn vector(&self, slot: usize) -> &[f32] {
        &self.data[slot * self.dim..(slot + 1) * self.dim]
    }

    pub(crate) fn photo(&self, slot: usize) -> PhotoId {
        self.photos[slot]
    }

    /// Whether `slot` is its photo's current vector.
    pub(crate) fn is_live(&self, slot: usize) -> bool {
        self.photos
            .get(slot)
            .is_some_and(|photo| self.live.get(photo) == Some(&slot))
    }

    pub(crate) fn live_slot(&self, photo: PhotoId) -> Option<usize> {
        self.live.get(&photo).copied()
    }

    /// Live photos and their slots, in no order.
    pub(crate) fn live(&self) -> impl Iterator<Item = (PhotoId, usize)> + '_ {
        self.live.iter().map(|(photo, slot)| (*photo, *slot))
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
        assert!(slab.remove(PhotoId(7)));
        assert!(!slab.remove(PhotoId(7)));
        assert!(!slab.is_live(b));
        assert_eq!((slab.slots(), slab.live_len()), (2, 0));
        assert!(!slab.is_live(99));
    }
}
