//! Terminal progress bars (indicatif) for scans and downloads; drawn only when stderr is a
//! terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use shoebox_engine::{DownloadProgress, ScanProgress};

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

/// A count bar for photos going through a model (`shoebox index` embedding).
pub(crate) fn photos_bar(hidden: bool, what: &str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {elapsed_precise} [{bar:40}] {pos}/{len} photos · {per_sec} · ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// A bytes progress bar per downloaded file (`shoebox models pull`).
pub(crate) struct DownloadBar {
    bar: ProgressBar,
    hidden: bool,
}

impl DownloadBar {
    pub(crate) fn new(hidden: bool) -> Self {
        Self {
            bar: ProgressBar::hidden(),
            hidden,
        }
    }
}

impl DownloadProgress for DownloadBar {
    fn start(&mut self, file: &str, bytes: u64) {
        // hf-hub announces a file twice (before and after resuming); keep one bar.
        if self.bar.length() == Some(bytes) && self.bar.message() == file {
            return;
        }
        self.bar.finish_and_clear();
        self.bar = if self.hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(bytes)
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:24} [{bar:32}] {bytes}/{total_bytes} · {bytes_per_sec} · ETA {eta}",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(file.to_owned());
    }

    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
