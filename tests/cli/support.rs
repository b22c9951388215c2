//! Running the binary against a temporary data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub(crate) struct Sandbox {
    pub(crate) dir: TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    pub(crate) fn photos(&self) -> PathBuf {
        self.dir.path().join("photos")
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `shoebox --data-dir DATA ARGS...`, isolated from the user's own config.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoebox"));
        cmd.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env_remove("SHOEBOX_LOG");
        cmd
    }

    /// Runs to the end; fails the test when the command fails.
    pub(crate) fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "shoebox {args:?} failed: {}",
            stderr(&out)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Runs to the end and parses stdout as JSON.
    pub(crate) fn json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.run(args)?)?)
    }

    /// Runs a command that must fail; returns its stderr.
    pub(crate) fn fail(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).output()?;
        anyhow::ensure!(!out.status.success(), "shoebox {args:?} should have failed");
        Ok(stderr(&out))
    }
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn path_arg(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow::anyhow!("non-UTF-8 temp path"))
}

/// A number field of a JSON object.
pub(crate) fn field(v: &serde_json::Value, name: &str) -> anyhow::Result<u64> {
    v[name]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no number {name} in {v}"))
}
