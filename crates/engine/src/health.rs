//! What the live library cannot do right now: the fault that holds it back and since when,
//! for `/readyz` and the progress a person sees. Set when a pass fails (the loop backs off and
//! tries again), cleared by the next pass that succeeds.

use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// A fault the live library is waiting out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Degraded {
    /// What fails, for people (no internals: the log has those).
    pub reason: String,
    /// Since when, in Unix seconds.
    pub since: u64,
    /// Failed passes in a row.
    pub failures: u32,
}

/// The live library's health in this process.
#[derive(Debug, Default)]
pub(crate) struct Health(Mutex<Option<Degraded>>);

impl Health {
    /// Records a failed pass; the first in a row sets the time.
    pub(crate) fn failed(&self, reason: String) -> Degraded {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = state.as_ref().map_or_else(now, |d| d.since);
        let failures = state.as_ref().map_or(0, |d| d.failures) + 1;
        let degraded = Degraded {
            reason,
            since,
            failures,
        };
        *state = Some(degraded.clone());
        degraded
    }

    /// Records a pass that succeeded; whether the library was degraded until now.
    pub(crate) fn recovered(&self) -> Option<Degraded> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    pub(crate) fn get(&self) -> Option<Degraded> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl crate::Engine {
    /// What the live library in this process is waiting out, if anything.
    pub fn degraded(&self) -> Option<Degraded> {
        self.health.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_from_the_first_until_a_recovery() {
        let health = Health::default();
        assert_eq!(health.get(), None);
        let first = health.failed("database locked".to_owned());
        let second = health.failed("database locked".to_owned());
        assert_eq!((first.failures, second.failures), (1, 2));
        assert_eq!(first.since, second.since);
        assert_eq!(health.recovered().map(|d| d.failures), Some(2));
        assert_eq!(health.get(), None);
    }
}
