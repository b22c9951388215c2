//! Watching the library roots: the system's notifications (inotify on Linux) through notify,
//! debounced by notify-debouncer-full, or polling where notifications cannot work — network
//! mounts (their changes made on other machines never reach inotify) and a system out of
//! inotify watches (`ENOSPC`). Changes come out as [`Change`]s on a channel; the watcher only
//! says *where* something changed, the scan decides what.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, NoCache, RecommendedCache, new_debouncer_opt,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::{Error, Result, WatchMode, WatchSettings};

/// What changed under the roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Something was created, modified, removed or renamed at these paths (files or folders).
    Paths(Vec<PathBuf>),
    /// Events may have been lost (a queue overflowed, the watcher failed): reconcile every
    /// root.
    Rescan,
}

/// How one root is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The system's notifications.
    Native,
    /// Polling, every `poll_seconds`.
    Poll,
    /// Not watched: the root was not reachable at start-up (an unmounted drive, a NAS that is
    /// off). Its photos are kept, and the periodic reconciliation scan sees it once it is back.
    Unreachable,
}

/// One root's debounced watcher, held for what its drop does: stop watching.
#[allow(dead_code, reason = "never read, only dropped")]
enum Backend {
    Native(Debouncer<RecommendedWatcher, RecommendedCache>),
    Poll(Debouncer<PollWatcher, NoCache>),
}

/// Watches the roots while it lives; dropping it stops the watching.
pub struct RootWatcher {
    backends: Vec<Backend>,
    methods: Vec<(PathBuf, Method)>,
}

impl std::fmt::Debug for RootWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootWatcher")
            .field("methods", &self.methods)
            .field("watchers", &self.backends.len())
            .finish()
    }
}

impl RootWatcher {
    /// Starts watching every root recursively; changes go to `changes`.
    pub fn start(
        roots: &[PathBuf],
        settings: &WatchSettings,
        changes: &UnboundedSender<Change>,
    ) -> Result<Self> {
        let mut watcher = Self {
            backends: Vec::with_capacity(roots.len()),
            methods: Vec::with_capacity(roots.len()),
        };
        for root in roots {
            if let Err(e) = fs_err::metadata(root) {
                tracing::warn!(root = %root.display(), "library root not reachable ({e}): not watching it; its photos are kept");
                watcher.methods.push((root.clone(), Method::Unreachable));
                continue;
            }
            let method = match settings.mode {
                WatchMode::Poll => Method::Poll,
                WatchMode::Native => Method::Native,
                WatchMode::Auto if network_mount(root) => {
                    tracing::info!(root = %root.display(), "network mount: polling it");
                    Method::Poll
                }
                WatchMode::Auto => Method::Native,
            };
            let backend = match method {
                Method::Poll | Method::Unreachable => poll(root, settings, changes)?,
                Method::Native => match native(root, settings, changes) {
                    Ok(backend) => backend,
                    Err(e) if settings.mode == WatchMode::Auto && out_of_watches(&e) => {
                        tracing::warn!(
                            root = %root.display(),
                            "the system has no inotify watches left (raise fs.inotify.max_user_watches); polling this root"
                        );
                        watcher.methods.push((root.clone(), Method::Poll));
                        watcher.backends.push(poll(root, settings, changes)?);
                        continue;
                    }
                    Err(e) => return Err(watch_error(root, &e)),
                },
            };
            watcher.methods.push((root.clone(), method));
            watcher.backends.push(backend);
        }
        Ok(watcher)
    }

    /// Each root and how it is watched.
    pub fn methods(&self) -> &[(PathBuf, Method)] {
        &self.methods
    }
}

fn native(
    root: &Path,
    settings: &WatchSettings,
    changes: &UnboundedSender<Change>,
) -> notify::Result<Backend> {
    let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher, RecommendedCache>(
        Duration::from_millis(settings.debounce_ms.max(1)),
        None,
        handler(changes.clone()),
        RecommendedCache::new(),
        notify::Config::default(),
    )?;
    debouncer.watch(root, RecursiveMode::Recursive)?;
    Ok(Backend::Native(debouncer))
}

fn poll(
    root: &Path,
    settings: &WatchSettings,
    changes: &UnboundedSender<Change>,
) -> Result<Backend> {
    let config = notify::Config::default()
        .with_poll_interval(Duration::from_secs(settings.poll_seconds.max(1)));
    let mut debouncer = new_debouncer_opt::<_, PollWatcher, NoCache>(
        Duration::from_millis(settings.debounce_ms.max(1)),
        None,
        handler(changes.clone()),
        NoCache,
        config,
    )
    .map_err(|e| watch_error(root, &e))?;
    debouncer
        .watch(root, RecursiveMode::Recursive)
        .map_err(|e| watch_error(root, &e))?;
    Ok(Backend::Poll(debouncer))
}

/// Turns debounced events into [`Change`]s; reads (access events) are not changes.
fn handler(changes: UnboundedSender<Change>) -> impl FnMut(DebounceEventResult) + Send + 'static {
    move |result: DebounceEventResult| {
        let change = match result {
            Ok(events) => {
                if events.iter().any(|e| e.need_rescan()) {
                    Change::Rescan
                } else {
                    let paths: Vec<PathBuf> = events
                        .into_iter()
                        .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                        .flat_map(|e| e.event.paths)
                        .collect();
                    if paths.is_empty() {
                        return;
                    }
                    Change::Paths(paths)
                }
            }
            Err(errors) => {
                for e in &errors {
                    tracing::warn!("watching: {e}; reconciling the roots");
                }
                Change::Rescan
            }
        };
        // The receiver is gone when the library stops: nothing left to tell.
        let _ = changes.send(change);
    }
}

/// Whether notify failed because the system has no inotify watches (or instances) left.
fn out_of_watches(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(28) || io.raw_os_error() == Some(24),
        _ => false,
    }
}

fn watch_error(root: &Path, e: &notify::Error) -> Error {
    Error::Watch {
        path: root.to_owned(),
        reason: e.to_string(),
    }
}

/// File systems whose changes may come from other machines, which inotify never hears of.
const NETWORK_FILE_SYSTEMS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "glusterfs",
    "afs",
    "fuse.sshfs",
    "fuse.rclone",
    "davfs",
];

/// Whether `path` lies on a network file system, from `/proc/self/mountinfo` (false where that
/// cannot be read).
fn network_mount(path: &Path) -> bool {
    fs_err::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|info| mount_type(&info, path).map(str::to_owned))
        .is_some_and(|fs| NETWORK_FILE_SYSTEMS.contains(&fs.as_str()))
}

/// The file system type of the mount holding `path` (the longest mount point above it) in
/// the text of a `mountinfo` file.
fn mount_type<'a>(mountinfo: &'a str, path: &Path) -> Option<&'a str> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let mount_point = fields.nth(4)?;
            let fs_type = fields.skip_while(|f| *f != "-").nth(1)?;
            // Spaces and other bytes are escaped as octal (`\040`) in mount points.
            let mount_point = mount_point.replace("\\040", " ");
            path.starts_with(&mount_point)
                .then_some((mount_point.len(), fs_type))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs_type)| fs_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/nas rw,relatime shared:2 - nfs4 nas:/photos rw,vers=4.2
41 40 8:2 / /mnt/nas/local rw - ext4 /dev/sdb1 rw
42 22 0:36 / /mnt/my\\040share rw - cifs //srv/share rw
";

    #[test]
    fn the_longest_mount_point_above_a_path_gives_its_file_system() {
        let fs = |p: &str| mount_type(MOUNTINFO, Path::new(p));
        assert_eq!(fs("/home/me/Pictures"), Some("ext4"));
        assert_eq!(fs("/mnt/nas/2021"), Some("nfs4"));
        assert_eq!(fs("/mnt/nas/local/x"), Some("ext4"));
        assert_eq!(
            fs("/mnt/nasty"),
            Some("ext4"),
            "a prefix of a name is not a mount"
        );
        assert_eq!(fs("/mnt/my share/a"), Some("cifs"));
    }

    #[test]
    fn running_out_of_watches_is_recognised() {
        let enospc = notify::Error::io(std::io::Error::from_raw_os_error(28));
        assert!(out_of_watches(&enospc));
        assert!(out_of_watches(&notify::Error::new(
            notify::ErrorKind::MaxFilesWatch
        )));
        assert!(!out_of_watches(&notify::Error::path_not_found()));
    }

    #[test]
    fn an_unreachable_root_is_kept_unwatched_beside_the_watched_ones()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let here = std::env::temp_dir().join(format!("shoebox-watch-{}", std::process::id()));
        fs_err::create_dir_all(&here)?;
        let gone = here.join("no-such-root");
        let (changes, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let settings = WatchSettings {
            mode: WatchMode::Poll,
            debounce_ms: 100,
            poll_seconds: 60,
            rescan_minutes: 0,
            swap_slice: None,
        };
        let watcher = RootWatcher::start(&[gone.clone(), here.clone()], &settings, &changes)?;
        assert_eq!(
            watcher.methods(),
            [(gone, Method::Unreachable), (here.clone(), Method::Poll)]
        );
        drop(watcher);
        fs_err::remove_dir_all(&here)?;
        Ok(())
    }
}
