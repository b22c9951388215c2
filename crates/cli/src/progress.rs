//! A terminal progress bar for scans (indicatif); drawn only when stderr is a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use shoebox_engine::ScanProgress;

pub(crate) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub(crate) fn new(hidden: bool) -> Self {
        let bar = if hidden {
            ProgressBar::hidden()
        } else {
            let spinner = ProgressBar::new_spinner().with_message("looking for photos…");
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        };
        Self { bar }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ScanProgress for Bar {
    fn reading(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_message("");
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} photos · {per_sec} · ETA {eta}",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }

    fn advanced(&self, n: u64) {
        self.bar.inc(n);
    }
}
