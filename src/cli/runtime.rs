//! What every subcommand that talks to Redis runs on: a Tokio runtime, and
//! the signals that end it.

use std::future::Future;
use std::io;
use std::process::ExitCode;

/// Runs a subcommand on a single-threaded runtime.
pub(super) fn block_on(
    command: impl Future<Output = io::Result<ExitCode>>,
) -> io::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(command)
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn interrupted() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
