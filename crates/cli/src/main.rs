//! `shoebox`: index photo folders and inspect the library from the command line.

mod cli;
mod commands;
mod output;
mod progress;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Decoding allocates and frees a full-size pixel buffer per photo on every thread; glibc's
/// allocator hands those pages back to the kernel and faults them in again each time
/// (measured: a quarter of a scan's wall time), mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // A server logs its requests (`shoebox::http`) unless told otherwise.
    let serving = matches!(cli.command, cli::Command::Serve { .. });
    let filter = match cli.verbose {
        0 if serving => "warn,shoebox::http=info",
        0 => "error",
        1 => "warn,shoebox=info",
        2 => "info,shoebox=debug",
        _ => "debug",
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SHOEBOX_LOG").unwrap_or_else(|_| EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr);
    // `SHOEBOX_LOG_FORMAT=json`: one JSON object per line, for log collectors.
    if std::env::var("SHOEBOX_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(commands::run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
