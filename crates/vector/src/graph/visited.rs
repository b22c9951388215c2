//! The set of slots a walk has seen: one bit per slot, cleared word by word after use.

/// Visited slots of one walk; [`Self::clear`] makes it ready for the next in time
/// proportional to what the last one touched.
#[derive(Debug, Default)]
pub(crate) struct Visited {
    bits: Vec<u64>,
    /// The words that have a bit set.
    touched: Vec<usize>,
}

impl Visited {
    /// An empty set for slots `0..slots`.
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            bits: vec![0; slots.div_ceil(64)],
            touched: Vec::new(),
        }
    }

    /// Empties the set and makes room for slots `0..slots`.
    pub(crate) fn clear(&mut self, slots: usize) {
        for &word in &self.touched {
            self.bits[word] = 0;
        }
        self.touched.clear();
        if self.bits.len() < slots.div_ceil(64) {
            self.bits.resize(slots.div_ceil(64), 0);
        }
    }

    /// Adds `slot`; true when it was not in the set yet. Slots beyond the set's room count as
    /// already seen (never walked).
    pub(crate) fn insert(&mut self, slot: u32) -> bool {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        let Some(bits) = self.bits.get_mut(word) else {
            return false;
        };
        if *bits & bit != 0 {
            return false;
        }
        if *bits == 0 {
            self.touched.push(word);
        }
        *bits |= bit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_clears() {
        let mut seen = Visited::new(100);
        assert!(seen.insert(3));
        assert!(!seen.insert(3));
        assert!(seen.insert(99));
        assert!(!seen.insert(128), "beyond its room");
        seen.clear(200);
        assert!(seen.insert(3));
        assert!(seen.insert(150));
    }
}
