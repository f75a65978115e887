//! The `crowd-envelope` program: output, exit status and errors of each
//! subcommand, and `decode` agreeing with the library on the whole corpus.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The CLI with `args`, every stream piped.
fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_crowd-envelope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    // A program that refuses its arguments exits before reading its input:
    // the pipe is then closed, which is no failure of the test.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(common::parse_deep)
        .collect()
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn decode_prints_ok_line_and_exits_zero() {
    let out = run(&["decode"], &golden("polymarket-yes.expected.json"));
    assert_eq!(out.status.code(), Some(0));
    let result = lines(&out);
    assert_eq!(result.len(), 1);
    assert_eq!(result[0]["ok"], true);
    assert_eq!(result[0]["envelope"]["decision"]["side"], "yes");
    assert!(out.stderr.is_empty());
}

#[test]
fn decode_rejection_prints_reason_and_errors_and_exits_one() {
    let out = run(
        &["decode", "-"],
        br#"{"schema_version":"1","prediction":{}}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    let result = &lines(&out)[0];
    assert_eq!(result["ok"], false);
    assert_eq!(result["reason"], "invalid");
    let paths: Vec<&str> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"prediction.source_type"), "{paths:?}");
    assert!(paths.contains(&"decision_kind"), "{paths:?}");
}

#[test]
fn decode_lines_gives_one_result_per_payload_and_skips_blank_lines() {
    let mut input = golden("fomo2-sell.expected.json");
    input.extend_from_slice(b"\r\n\n{\"schema_version\":\"9\"}\n\xff\n");
    input.extend(golden("oddsoddy-value.expected.json"));
    let out = run(&["decode", "--lines"], &input);
    assert_eq!(out.status.code(), Some(1));
    let reasons: Vec<Value> = lines(&out)
        .iter()
        .map(|r| r.get("reason").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        reasons,
        [
            Value::Null,
            "unsupported_version".into(),
            "invalid_utf8".into(),
            Value::Null
        ]
    );
}

#[test]
fn decode_honours_the_size_limit_option() {
    let out = run(&["decode", "--max-payload-bytes", "10"], b"{}");
    assert_eq!(lines(&out)[0]["reason"], "invalid");
    let out = run(&["decode", "--max-payload-bytes", "1"], b"{}");
    assert_eq!(lines(&out)[0]["reason"], "too_large");
}

#[test]
fn unreadable_input_is_a_one_line_error_with_status_two() {
    let out = run(&["decode", "/nonexistent/payload.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/payload.json"), "{stderr}");
    assert!(out.stdout.is_empty());
    // A directory is named too, with what was expected.
    let dir = std::env::temp_dir();
    let out = run(&["decode", dir.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{}: is a directory, expected a file",
            dir.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_url_that_is_not_redis_says_which_schemes_are() {
    for (url, found) in [
        ("http://localhost", "found http://"),
        ("localhost:6379", "found no scheme"),
    ] {
        let out = run(&["tail", "--redis-url", url], b"");
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(
                "expected a redis://, rediss://, redis+unix://, redis+cluster:// or \
                 redis+sentinel:// URL"
            ),
            "{stderr}"
        );
        assert!(stderr.contains(found), "{stderr}");
    }
    let help = run(&["tail", "--help"], b"");
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("[env: CROWD_STREAM]") && !help.contains("CROWD_STREAM="),
        "{help}"
    );
}

#[test]
fn build_prints_the_envelope_with_the_given_options() {
    let out = run(
        &[
            "build",
            "--correlation-id",
            "abc",
            "--published-at",
            "2026-01-01T00:00:00+01:00",
            "--meta",
            r#"{"k": [1]}"#,
        ],
        &golden("fomo2-sell.prediction.json"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let envelope = &lines(&out)[0];
    assert_eq!(envelope["decision"]["action"], "sell");
    assert_eq!(envelope["correlation_id"], "abc");
    assert_eq!(envelope["published_at"], "2025-12-31T23:00:00Z");
    assert_eq!(envelope["meta"]["k"][0], 1);
}

#[test]
fn build_defaults_are_fresh_uuid_and_now() {
    let out = run(&["build"], &golden("fomo2-sell.prediction.json"));
    let envelope = &lines(&out)[0];
    let id = envelope["correlation_id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(envelope["published_at"].as_str().unwrap() > "2026-01-01");
}

#[test]
fn build_rejects_an_invalid_prediction_on_one_stderr_line() {
    let out = run(
        &["build"],
        br#"{"source_type": "fomo2_report", "probability": 3}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("probability: expected a number from 0.0 to 1.0, found 3;"),
        "{stderr}"
    );
    // Said once: no reason code before the message that says it.
    assert!(
        stderr.starts_with("crowd-envelope: error: invalid prediction: source_id:"),
        "{stderr}"
    );
}

#[test]
fn decode_lines_numbers_each_result_and_can_show_rejections_only() {
    let mut input = golden("fomo2-sell.expected.json");
    input.extend_from_slice(b"\n\n[1]\n");
    input.extend_from_slice(&golden("fomo2-sell.expected.json"));
    input.extend_from_slice(b"\n{\"a\": tru}\n");
    let out = run(&["decode", "--lines"], &input);
    assert_eq!(out.status.code(), Some(1));
    let results = lines(&out);
    let numbers: Vec<_> = results
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    // Line 2 is blank: skipped, and still counted.
    assert_eq!(numbers, [1, 3, 4, 5]);
    assert_eq!(results[1]["reason"], "invalid");

    let out = run(&["decode", "--lines", "--rejected-only"], &input);
    assert_eq!(out.status.code(), Some(1));
    let rejected: Vec<_> = lines(&out)
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["ok"].clone()))
        .collect();
    assert_eq!(rejected, [(3, false.into()), (5, false.into())]);
    let raw = String::from_utf8(out.stdout).unwrap();
    assert!(raw.starts_with("{\"line\":3,\"ok\":false,"), "{raw}");

    let all_good = run(
        &["decode", "--lines", "--rejected-only"],
        &golden("fomo2-sell.expected.json"),
    );
    assert_eq!(all_good.status.code(), Some(0));
    assert!(all_good.stdout.is_empty());
}

#[test]
fn decode_places_a_json_error_in_a_file_by_line_and_column() {
    let out = run(
        &["decode"],
        b"{\n  \"schema_version\": \"1\",\n  \"arena\": nope\n}\n",
    );
    let message = lines(&out)[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        message,
        "invalid JSON: invalid literal (expected true, false or null) at line 3, column 12 (byte 38)"
    );
}

#[test]
fn decode_hints_at_lines_when_the_input_holds_two_values() {
    let mut input = golden("fomo2-sell.expected.json");
    input.extend_from_slice(&golden("fomo2-sell.expected.json"));
    let out = run(&["decode"], &input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["reason"], "invalid_json");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("more than one JSON value; for one payload per line, use --lines"),
        "{stderr}"
    );
    // A single broken value gets no such hint.
    let single = run(&["decode"], b"{\"a\": tru}");
    assert!(
        single.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
}

#[test]
fn naive_date_times_are_utc_instants_whatever_the_local_zone() {
    let prediction = String::from_utf8(golden("fomo2-sell.prediction.json"))
        .unwrap()
        .replace(r#""generated_at""#, r#""ignored""#)
        .replacen('{', r#"{"generated_at": "2026-01-01 12:00:00.5","#, 1);
    for zone in ["Asia/Kolkata", "America/St_Johns"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crowd-envelope"))
            .args(["build", "--published-at", "2026-01-01T12:00:00"])
            .env("TZ", zone)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(prediction.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let envelope: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(envelope["published_at"], "2026-01-01T12:00:00Z", "{zone}");
        assert_eq!(
            envelope["prediction"]["generated_at"], "2026-01-01T12:00:00.500000Z",
            "{zone}"
        );
    }
}

#[test]
fn a_date_time_that_is_not_one_is_said_plainly() {
    let out = run(
        &["build", "--published-at", "2026-01-01T00:00:00Z"],
        br#"{"generated_at": "yesterday"}"#,
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(r#"generated_at: expected a date-time, found the string "yesterday" (not an ISO 8601 date-time or a Unix timestamp)"#),
        "{stderr}"
    );
    let flag = run(&["build", "--published-at", "soon"], b"{}");
    assert_eq!(flag.status.code(), Some(2));
    let stderr = String::from_utf8(flag.stderr).unwrap();
    assert!(
        stderr.contains("not an ISO 8601 date-time or a Unix timestamp"),
        "{stderr}"
    );
}

#[test]
fn build_lines_reports_each_prediction() {
    let mut input = golden("fomo2-sell.prediction.json");
    input.extend_from_slice(b"\n[1]\n");
    let out = run(&["build", "--lines"], &input);
    assert_eq!(out.status.code(), Some(1));
    let results = lines(&out);
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[1]["reason"], "invalid");
}

#[test]
fn bad_arguments_exit_two_and_help_exits_zero() {
    assert_eq!(run(&["build", "--meta", "[1]"], b"").status.code(), Some(2));
    assert_eq!(run(&["frobnicate"], b"").status.code(), Some(2));
    let help = run(&["--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8(help.stdout).unwrap().contains("decode"));
}

#[test]
fn schema_is_json_schema_of_the_envelope() {
    let out = run(&["schema"], b"");
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["$defs"]["Crowd"]["properties"]["agents"]["maximum"],
        1_000_000
    );
    assert_eq!(
        schema["$defs"]["CrowdPrediction"]["properties"]["source_id"]["maxLength"],
        256
    );
}

#[test]
fn schema_asyncapi_is_the_golden_document() {
    let out = run(&["schema", "--asyncapi"], b"");
    assert_eq!(out.status.code(), Some(0));
    let golden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/asyncapi.json"
    ))
    .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(golden).unwrap()
    );
    let both = run(&["schema", "--asyncapi", "--result"], b"");
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn schema_prediction_and_result_and_version() {
    let out = run(&["schema", "--prediction"], b"");
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let required = schema["required"].as_array().unwrap();
    assert!(
        required.contains(&"source_type".into()) && !required.contains(&"decision".into()),
        "{schema}"
    );
    let result: Value = serde_json::from_slice(&run(&["schema", "--result"], b"").stdout).unwrap();
    // decode --lines writes "line" first; the schema of a result line says so.
    assert_eq!(result["oneOf"][1]["properties"]["line"]["minimum"], 1);
    let version = run(&["--version"], b"");
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("crowd-envelope {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Every corpus payload, one process each, as an operator would run it.
#[test]
fn decode_agrees_with_the_reference_on_every_corpus_payload() {
    let dir = std::env::temp_dir().join(format!("crowd-envelope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for vector in common::corpus() {
        let file = dir.join("payload");
        std::fs::write(&file, &vector.payload).unwrap();
        let limit = vector.max_payload_bytes.to_string();
        let out = run(
            &[
                "decode",
                file.to_str().unwrap(),
                "--max-payload-bytes",
                &limit,
            ],
            b"",
        );
        let result = &lines(&out)[0];
        let ok = vector.expect["ok"].as_bool().unwrap();
        assert_eq!(result["ok"], ok, "{}", vector.name);
        assert_eq!(
            out.status.code(),
            Some(if ok { 0 } else { 1 }),
            "{}",
            vector.name
        );
        if ok {
            common::assert_envelope_matches(&vector.name, &result["envelope"], &vector.expect);
        } else {
            assert_eq!(result["reason"], vector.expect["reason"], "{}", vector.name);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decode_holds_no_more_of_an_item_than_its_limit() {
    const HUGE: usize = 64 << 20;
    for args in [
        &["decode", "--lines", "--max-payload-bytes", "10"][..],
        &["decode", "--max-payload-bytes", "10"][..],
    ] {
        let mut child = spawn(args);
        let mut stdin = child.stdin.take().unwrap();
        let line = vec![b'x'; HUGE];
        stdin.write_all(&line).unwrap();
        stdin.write_all(b"\n{}\n").unwrap();
        stdin.flush().unwrap();
        // The process is still reading (stdin is open): how much did it hold?
        std::thread::sleep(std::time::Duration::from_millis(300));
        let peak = common::peak_kib(child.id());
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            peak < 32 * 1024,
            "{args:?}: {peak} KiB at peak for a {HUGE}-byte item"
        );
        let results = lines(&out);
        assert_eq!(results[0]["reason"], "too_large", "{args:?}");
        if args.contains(&"--lines") {
            assert_eq!(results.len(), 2, "the next line is still read");
            assert_eq!(results[1]["reason"], "invalid");
        }
        assert_eq!(out.status.code(), Some(1));
    }
}

#[test]
fn bash_completion_offers_the_subcommands_and_a_subcommand_s_flags() {
    let out = run(&["completions", "bash"], b"");
    assert_eq!(out.status.code(), Some(0));
    let script = std::env::temp_dir().join(format!("crowd-completion-{}.bash", std::process::id()));
    std::fs::write(&script, &out.stdout).unwrap();
    // Source it in a real bash and ask it what it completes.
    let ask = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
             _crowd__envelope crowd-envelope \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1
        );
        let out = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let subcommands = ask("crowd-envelope ");
    for sub in ["decode", "tail", "stats", "dead", "completions"] {
        assert!(
            subcommands.lines().any(|l| l == sub),
            "{sub} in {subcommands}"
        );
    }
    let flags = ask("crowd-envelope decode --");
    assert!(flags.lines().any(|l| l == "--rejected-only"), "{flags}");
    std::fs::remove_file(script).unwrap();
}

#[test]
fn a_refused_command_line_is_told_in_the_log_format() {
    for args in [
        vec!["tail", "--bogus"],
        vec!["decode", "--max-payload-bytes", "x"],
        vec!["nope"],
    ] {
        let out = run(&args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("crowd-envelope: error: "),
            "{args:?}: {err}"
        );
        assert!(
            err.lines().all(|l| l.starts_with("crowd-envelope: ")),
            "{args:?}: {err}"
        );
    }
    // Help and version are data: standard output, status 0.
    let help = run(&["tail", "--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage:"));
}
