//! The CLI's one log format on standard error:
//! `crowd-envelope: LEVEL: message key=value ...`, one line per event, with
//! control characters escaped (a payload's text must not drive a terminal).

use std::fmt::{self, Write as _};
use std::io;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Logs to standard error at `CROWD_LOG` (an `EnvFilter`), by default INFO
/// and up, except the transport's own WARN for a skipped entry, which would
/// repeat the line the subcommand prints for it.
pub(super) fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CROWD_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,crowd_envelope::redis=error,crowd_envelope::redis::group=info",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(io::stderr)
        .event_format(Line)
        .init();
}

/// The format: a prefix, the level, the message and its fields.
struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut text = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut text), event)?;
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            _ => "debug",
        };
        writeln!(
            writer,
            "crowd-envelope: {level}: {}",
            printable(&text, usize::MAX)
        )
    }
}

/// At most `max` characters, control characters escaped: text from the
/// stream must not move a terminal's cursor or change its colours.
pub(super) fn printable(text: &str, max: usize) -> String {
    let mut shown = String::with_capacity(text.len().min(max));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            shown.push('…');
            break;
        }
        if c.is_control() {
            let _ = write!(shown, "{}", c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
