//! `stats` and `dead`: the state of a stream and its dead letters.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::log;
use super::stream::transport;
use super::{exit_code, write_line, StreamTarget};
use crowd_envelope::redis::Connection;
use crowd_envelope::redis::{
    dead_letter_key, dead_letters, legacy_dead_letters, migrate_legacy_keys, purge_dead_letters,
    replay_dead_letter, stream_stats, DeadLetter, RedisUrl, Replayed, StreamStats,
};

#[derive(Debug, Args)]
pub(super) struct StatsArgs {
    #[command(flatten)]
    target: StreamTarget,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct DeadArgs {
    #[command(flatten)]
    target: StreamTarget,
    #[command(subcommand)]
    action: DeadAction,
}

#[derive(Debug, Subcommand)]
enum DeadAction {
    /// List dead letters, oldest first: id, the entry's id, reason, group
    /// and consumer, first error.
    List {
        /// At most this many.
        #[arg(long, short = 'n', default_value_t = 20, value_name = "N")]
        count: usize,
        /// Start at this dead-letter id.
        #[arg(long, default_value = "-", value_name = "ID")]
        from: String,
        /// One JSON object per dead letter instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one dead letter as JSON, its data included.
    Show {
        /// The dead letter's id.
        id: String,
    },
    /// Publish dead letters' data to the stream again as new entries and
    /// remove them, each in one atomic step; print "DEAD_ID NEW_ID" each.
    Replay {
        /// Dead-letter ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Delete dead letters for good.
    Purge {
        /// Dead-letter ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// The whole dead-letter stream.
        #[arg(long)]
        all: bool,
    },
    /// Move dead letters and attempt counts from the keys before 0.3
    /// (<stream>:dead, <stream>:attempts:<group>) to today's, which share
    /// the stream's cluster slot ({<stream>}:dead, ...); print what moved
    /// as JSON. Running it again moves nothing.
    Migrate,
}

/// Text from Redis, safe for a terminal.
fn printable(text: &str) -> String {
    log::printable(text, usize::MAX)
}

async fn connect(target: &StreamTarget) -> io::Result<Connection> {
    let url = RedisUrl::parse(&target.redis_url).map_err(transport)?;
    url.connect().await.map_err(transport)
}

pub(super) async fn stats(args: StatsArgs) -> io::Result<ExitCode> {
    let mut conn = connect(&args.target).await?;
    let Some(stats) = stream_stats(&mut conn, &args.target.stream)
        .await
        .map_err(transport)?
    else {
        tracing::error!("stream {:?} does not exist", args.target.stream);
        return Ok(ExitCode::FAILURE);
    };
    let mut out = io::stdout().lock();
    if args.json {
        write_line(&mut out, &log::safe_json(&serde_json::to_string(&stats)?))?;
    } else {
        write_stats(&mut out, &stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_stats(out: &mut impl Write, stats: &StreamStats) -> io::Result<()> {
    let id = |id: &Option<String>| id.clone().unwrap_or_else(|| "-".to_owned());
    writeln!(out, "stream        {}", printable(&stats.stream))?;
    writeln!(out, "length        {}", stats.length)?;
    writeln!(out, "first id      {}", id(&stats.first_id))?;
    writeln!(out, "last id       {}", id(&stats.last_id))?;
    writeln!(out, "entries added {}", stats.entries_added)?;
    let key = dead_letter_key(&stats.stream).map_err(transport)?;
    writeln!(
        out,
        "dead letters  {} (in {})",
        stats.dead_letters,
        printable(&key)
    )?;
    if stats.legacy_dead_letters > 0 {
        writeln!(
            out,
            "old dead letters {} (in {}:dead: crowd-envelope dead migrate moves them)",
            stats.legacy_dead_letters,
            printable(&stats.stream)
        )?;
    }
    if stats.groups.is_empty() {
        writeln!(out, "groups        none")?;
    }
    for group in &stats.groups {
        let lag = group.lag.map_or("unknown".to_owned(), |n| n.to_string());
        let lag = if group.lag_counted {
            format!("{lag} (counted: Redis's figure was stale)")
        } else {
            lag
        };
        writeln!(
            out,
            "group {}: lag {lag}, pending {}, last delivered {}, {} consumer(s)",
            printable(&group.name),
            group.pending,
            group.last_delivered_id,
            group.consumers.len()
        )?;
        for consumer in &group.consumers {
            writeln!(
                out,
                "  {}: pending {}, idle {:.1} s",
                printable(&consumer.name),
                consumer.pending,
                consumer.idle_ms as f64 / 1000.0
            )?;
        }
    }
    Ok(())
}

pub(super) async fn dead(args: DeadArgs) -> io::Result<ExitCode> {
    let mut conn = connect(&args.target).await?;
    let stream = &args.target.stream;
    let legacy = legacy_dead_letters(&mut conn, stream)
        .await
        .map_err(transport)?;
    if legacy > 0 && !matches!(args.action, DeadAction::Migrate) {
        tracing::warn!(
            "{legacy} dead letter(s) under the key before 0.3 ({}:dead), not listed here: \
             `crowd-envelope dead migrate` moves them",
            printable(stream)
        );
    }
    match args.action {
        DeadAction::List { count, from, json } => {
            let letters = dead_letters(
                &mut conn,
                stream,
                &from,
                count,
                args.target.max_payload_bytes,
            )
            .await
            .map_err(transport)?;
            let mut out = io::stdout().lock();
            for letter in &letters {
                let line = if json {
                    log::safe_json(&serde_json::to_string(letter)?).into_owned()
                } else {
                    list_row(letter)
                };
                write_line(&mut out, &line)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DeadAction::Show { id } => {
            let found = dead_letters(&mut conn, stream, &id, 1, args.target.max_payload_bytes)
                .await
                .map_err(transport)?;
            match found.into_iter().next().filter(|l| l.id == id) {
                Some(letter) => {
                    if let (None, Some(size)) = (&letter.data, letter.size) {
                        tracing::info!(
                            "its data ({size} bytes) is not shown: over --max-payload-bytes, \
                             or left in the stream as entry {}",
                            letter.entry_id
                        );
                    }
                    let data = letter.data.as_deref().map(String::from_utf8_lossy);
                    let mut object = serde_json::to_value(&letter)?;
                    object["data"] = json!(data);
                    let text = serde_json::to_string_pretty(&object)?;
                    let text = log::safe_json(&text);
                    write_line(&mut io::stdout().lock(), &text)?;
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    let key = dead_letter_key(stream).map_err(transport)?;
                    tracing::error!("no dead letter {id:?} in {key:?}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        DeadAction::Replay { ids, all } => {
            let ids = if all {
                all_ids(&mut conn, stream).await?
            } else {
                ids
            };
            replay(&mut conn, stream, &ids).await
        }
        DeadAction::Purge { ids, all } => {
            let ids = if all { Vec::new() } else { ids };
            let purged = purge_dead_letters(&mut conn, stream, &ids)
                .await
                .map_err(transport)?;
            tracing::info!("purged {purged} dead letter(s)");
            write_line(&mut io::stdout().lock(), &purged.to_string())?;
            Ok(exit_code(all || purged == ids.len() as u64))
        }
        DeadAction::Migrate => {
            let migrated = migrate_legacy_keys(&mut conn, stream)
                .await
                .map_err(transport)?;
            tracing::info!(
                "moved {} dead letter(s) and {} attempt count(s)",
                migrated.dead_letters,
                migrated.attempt_counts
            );
            write_line(&mut io::stdout().lock(), &serde_json::to_string(&migrated)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `DEAD_ID  ENTRY_ID  REASON  GROUP/CONSUMER  first error`.
fn list_row(letter: &DeadLetter) -> String {
    let first = letter.errors.first().map(ToString::to_string);
    printable(&format!(
        "{}  {}  {}  {}/{}  {}",
        letter.id,
        letter.entry_id,
        letter.reason,
        letter.group,
        letter.consumer,
        first.unwrap_or_default()
    ))
}

async fn all_ids(conn: &mut Connection, stream: &str) -> io::Result<Vec<String>> {
    // Ids alone: a limit of 0 leaves every value in Redis.
    let letters = dead_letters(conn, stream, "-", usize::MAX, 0)
        .await
        .map_err(transport)?;
    Ok(letters.into_iter().map(|l| l.id).collect())
}

/// Replays each id; exit status 1 if one could not be.
async fn replay(conn: &mut Connection, stream: &str, ids: &[String]) -> io::Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut all_ok = true;
    for id in ids {
        match replay_dead_letter(conn, stream, id)
            .await
            .map_err(transport)?
        {
            Replayed::Published { id: new_id } => write_line(&mut out, &format!("{id} {new_id}"))?,
            Replayed::Missing => {
                all_ok = false;
                tracing::error!("{id}: no such dead letter");
            }
            Replayed::NoData => {
                all_ok = false;
                tracing::error!("{id}: the dead letter holds no data to publish; left in place");
            }
            other => {
                all_ok = false;
                tracing::error!("{id}: not replayed ({other:?})");
            }
        }
    }
    Ok(exit_code(all_ok))
}
