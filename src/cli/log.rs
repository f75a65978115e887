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
        if c.is_control() || is_bidi_control(c) {
            let _ = write!(shown, "{}", c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// Unicode's explicit direction controls (embeddings, overrides, isolates
/// and marks): text holding them can show in another order than it is
/// (the "Trojan Source" trick), so they are escaped like control characters.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// JSON text from the stream, safe for a terminal: C1 controls, direction
/// controls and the line and paragraph separators written as `\uXXXX`. It
/// stays valid JSON with the same value: outside strings JSON has no such
/// characters, and inside one the escape means the character.
pub(super) fn safe_json(json: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        ('\u{80}'..='\u{9F}').contains(&c)
            || is_bidi_control(c)
            || matches!(c, '\u{2028}' | '\u{2029}')
    };
    // Each of them is encoded in UTF-8 with a lead byte of C2, D8 or E2:
    // text without those (nearly all) is scanned at memchr's speed.
    if memchr::memchr3(0xC2, 0xD8, 0xE2, json.as_bytes()).is_none()
        || !json.chars().any(unsafe_char)
    {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut safe = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            let _ = write!(safe, "\\u{:04x}", u32::from(c));
        } else {
            safe.push(c);
        }
    }
    std::borrow::Cow::Owned(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_stream_cannot_drive_or_reorder_a_terminal() {
        let text = "a\u{1b}[2Jb\u{9b}c\u{202e}d\u{2067}e";
        assert_eq!(
            printable(text, usize::MAX),
            "a\\u{1b}[2Jb\\u{9b}c\\u{202e}d\\u{2067}e"
        );
        let json = serde_json::json!({"q": text}).to_string();
        let safe = safe_json(&json);
        assert!(
            !safe.contains('\u{9b}') && !safe.contains('\u{202e}') && !safe.contains('\u{2067}')
        );
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u202e"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["q"], text, "the same value");
        assert!(matches!(
            safe_json("{\"a\":1}"),
            std::borrow::Cow::Borrowed(_)
        ));
        // One of each kind alone, each a different UTF-8 lead byte (C2, D8,
        // E2 twice): none may pass the fast check.
        for c in ['\u{85}', '\u{61c}', '\u{2028}', '\u{2069}'] {
            let json = serde_json::json!({"q": format!("é{c}€")}).to_string();
            let want = format!("\\u{:04x}", u32::from(c));
            assert!(safe_json(&json).contains(&want), "{c:?}");
        }
        // Other text with those lead bytes stays as it is.
        assert!(matches!(
            safe_json("\"é€\u{600}\""),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
