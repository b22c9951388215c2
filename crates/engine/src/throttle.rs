//! Login throttling: after [`MAX_FAILURES`] failed sign-ins for one name within [`WINDOW`],
//! further attempts for it are refused until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per name and window.
const MAX_FAILURES: u32 = 5;
/// Names tracked before stale ones are dropped.
const MAX_NAMES: usize = 10_000;
/// How long failures count.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed sign-ins by name.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// Whether `name` may try to sign in now.
    pub(crate) fn allows(&self, name: &str) -> bool {
        let mut failures = self.lock();
        match failures.get(name) {
            Some((_, since)) if since.elapsed() >= WINDOW => {
                failures.remove(name);
                true
            }
            Some((count, _)) => *count < MAX_FAILURES,
            None => true,
        }
    }

    /// Counts a failed sign-in for `name`.
    pub(crate) fn failed(&self, name: &str) {
        let mut failures = self.lock();
        // Names tried at random must not grow the map without bound.
        if failures.len() >= MAX_NAMES {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = failures
            .entry(name.to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// Forgets `name`'s failures after a successful sign-in.
    pub(crate) fn succeeded(&self, name: &str) {
        self.lock().remove(name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_refused_after_its_failures_and_others_are_not() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.allows("admin"));
            throttle.failed("admin");
        }
        assert!(!throttle.allows("admin"));
        assert!(throttle.allows("someone"));
        throttle.succeeded("admin");
        assert!(throttle.allows("admin"));
    }
}
