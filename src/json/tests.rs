use super::scan::plain_run_words;
use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn tree(text: &str) -> Result<Json<'_>, JsonError> {
    parse(text, Keep::All)
}

fn rejects(text: &str) -> String {
    tree(text).expect_err(text).message
}

#[test]
fn parses_scalars_and_containers() {
    assert_eq!(tree(" null ").unwrap(), Json::Null);
    assert_eq!(tree("-0.5e+3").unwrap(), Json::Number("-0.5e+3"));
    assert_eq!(
        tree(r#""a\u00e9\ud83d\ude00""#).unwrap(),
        Json::String("aé😀".into())
    );
    let Json::Object(obj) = tree(r#"{"a": [1, {"b": true}]}"#).unwrap() else {
        panic!("object expected");
    };
    assert_eq!(obj.raw, r#"{"a": [1, {"b": true}]}"#);
    assert!(matches!(obj.get("a"), Some(Json::Array(a)) if a.items.len() == 2 && a.len == 2));
}

#[test]
fn rejects_what_rfc_8259_rejects() {
    for bad in [
        "",
        "NaN",
        "Infinity",
        "-Infinity",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "+1",
        "'a'",
        "[1] x",
        "{a:1}",
        "\"\t\"",
        "tru",
        "\u{feff}{}",
        "1e",
        "-",
        "1e400",
        "-1e309",
        "[1.8e308]",
        "{\"m\":1E+999}",
    ] {
        tree(bad).expect_err(bad);
    }
}

#[test]
fn numbers_must_mean_the_same_to_every_json_reader() {
    let max_int = "9".repeat(MAX_INT_DIGITS);
    assert!(
        rejects(&max_int).contains("too large for a double"),
        "4,300 digits are within Python's limit, but overflow a double"
    );
    let ones = "1".repeat(308);
    assert!(tree(&ones).is_ok());
    let ten_to_309 = format!("1{}", "0".repeat(309));
    assert!(rejects(&ten_to_309).contains("too large for a double"));
    let too_long = format!("1{}", "0".repeat(MAX_INT_DIGITS));
    assert!(rejects(&too_long).contains("Python's limit"));
    for ok in [
        "1.7976931348623157e308",
        "-1.7976931348623157e308",
        "1e-400",
        "0e999999",
    ] {
        assert!(tree(ok).is_ok(), "{ok}");
    }
}

#[test]
fn rejects_duplicate_keys_at_any_depth_even_when_escaped() {
    assert!(rejects(r#"{"a":1,"a":2}"#).contains("duplicate"));
    assert!(rejects(r#"{"x":{"a":1,"\u0061":2}}"#).contains("duplicate"));
    let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let ok = format!("{{{}}}", many.join(","));
    assert!(tree(&ok).is_ok());
    let dup = format!("{{{},\"k3\":0}}", many.join(","));
    assert!(rejects(&dup).contains("duplicate"));
}

#[test]
fn nesting_limit_is_inclusive_at_128() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(tree(&ok).is_ok());
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(rejects(&deep).contains("nesting"));
    // Far deeper than the stack could take if the limit were not enforced.
    assert!(tree(&"[".repeat(1_000_000)).is_err());
}

#[test]
fn every_escape_reads_as_its_character() {
    assert_eq!(
        tree(r#""q\"b\\s\/B\bF\fN\nR\rT\t\u0041""#).unwrap(),
        Json::String("q\"b\\s/B\u{8}F\u{c}N\nR\rT\tA".into())
    );
}

#[test]
fn empty_containers_leave_the_depth_as_it_was() {
    let siblings = format!("[{}{{}}]", "[],{},".repeat(MAX_DEPTH * 2));
    assert!(tree(&siblings).is_ok());
    let nested = format!(
        "{}[]{}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(
        tree(&format!("[{nested},{nested}]")).is_err(),
        "one level too deep"
    );
    assert!(tree(&nested).is_ok());
}

#[test]
fn rejects_lone_surrogates() {
    assert!(rejects(r#""\ud800""#).contains("surrogate"));
    assert!(rejects(r#""\udc00""#).contains("surrogate"));
    assert!(rejects(r#""\ud800\u0041""#).contains("surrogate"));
}

#[test]
fn minify_keeps_strings_and_drops_whitespace() {
    assert_eq!(
        minify("{ \"a b\" : [ 1 , \"x \\\" y\" ] }"),
        "{\"a b\":[1,\"x \\\" y\"]}"
    );
}

#[test]
fn plain_run_agrees_with_a_byte_at_a_time_scan() {
    let naive = |b: &[u8]| {
        b.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(b.len())
    };
    let fillers = [b'a', 0x7f, 0x80, 0xc3, 0xff, b'!', b'#', b'[', b']', 0x21];
    let specials = [b'"', b'\\', 0x00, 0x1f, b'\n'];
    for len in 0..40 {
        for &filler in &fillers {
            let mut bytes = vec![filler; len];
            assert_eq!(plain_run(&bytes), naive(&bytes));
            assert_eq!(plain_run_words(&bytes), naive(&bytes));
            for at in 0..len {
                for &special in &specials {
                    bytes[at] = special;
                    assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
                    assert_eq!(plain_run_words(&bytes), naive(&bytes), "{bytes:?}");
                    bytes[at] = filler;
                }
            }
        }
    }
}

const META_ONLY: Keep = Keep::Fields(&[("meta", Keep::Text), ("b", Keep::Scalar)]);

#[test]
fn a_text_member_is_checked_as_strictly_and_kept_as_text() {
    let parse = |text| parse(text, META_ONLY);
    let wide: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
    let wide_duplicate = format!(r#"{{"meta":{{{wide}"k7":0}}}}"#);
    for bad in [
        r#"{"meta":{"a":1,"a":2}}"#,
        r#"{"meta":{"x":[{"b":1},{"c":{"d":1,"d":2}}]}}"#,
        &wide_duplicate,
        r#"{"meta":{"s":"\ud800"}}"#,
        r#"{"meta":{"s":"\x"}}"#,
        r#"{"meta":{"n":01}}"#,
        r#"{"meta":{},"\u006deta":{}}"#,
        r#"{"other":{},"other":1}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let ok = format!(
        r#"{{"meta": {{{wide}"x": [ {{"a":1}}, {{"a":1}} ]}}, "b": 1, "c": {{"d": "\n"}}}}"#
    );
    let Ok(Json::Object(o)) = parse(&ok) else {
        panic!("{ok}")
    };
    let Some(Json::Object(meta)) = o.get("meta") else {
        panic!("meta")
    };
    assert!(meta.members.is_empty(), "no tree for meta");
    assert!(meta.raw.starts_with("{\"k0\":0,") && meta.raw.ends_with("]}"));
    assert!(meta.spaced);
    assert_eq!(o.get("b"), Some(&Json::Number("1")));
    assert_eq!(
        (o.members.len(), o.dropped),
        (2, 1),
        "c is checked and dropped"
    );
}

#[test]
fn dropped_members_of_any_count_are_checked_for_duplicates() {
    for n in [1, 2, 15, 16, 17, 40, 2000] {
        let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":[{i}]")).collect();
        let object = keys.join(",");
        for keep in [
            Keep::Nothing,
            Keep::Text,
            Keep::Fields(&[("k0", Keep::Scalar)]),
        ] {
            assert!(parse(&format!("{{{object}}}"), keep).is_ok(), "{n}");
            for dup in [0, n / 2, n - 1] {
                // The duplicate written with an escape, and plainly.
                let escaped = format!("\"\\u006b{dup}\":0");
                let plain = format!("\"k{dup}\":0");
                for again in [escaped, plain] {
                    let text = format!("{{{object},{again}}}");
                    let error = parse(&text, keep).expect_err(&text);
                    assert!(error.message.contains("duplicate"), "{n} {dup}");
                    assert_eq!(Err(error), tree(&text).map(|_| ()));
                }
            }
        }
    }
}

#[test]
fn containers_where_scalars_belong_are_kept_as_marks() {
    let Ok(Json::Object(o)) = parse(r#"{"b": [{}, {"x": [1]}], "meta": 3}"#, META_ONLY) else {
        panic!()
    };
    assert_eq!(
        o.get("b"),
        Some(&Json::Array(Array {
            items: vec![],
            len: 2
        }))
    );
    assert_eq!(o.get("meta"), Some(&Json::Number("3")));
    let Ok(Json::Object(compact)) = parse(r#"{"a":[1,"x y"]}"#, Keep::Text) else {
        panic!()
    };
    assert!(!compact.spaced, "spaces inside strings are not whitespace");
    assert_eq!(compact.compact_text(), r#"{"a":[1,"x y"]}"#);
}

#[test]
fn arrays_keep_their_first_items_and_count_the_rest() {
    let keep = Keep::Items(2, &Keep::Scalar);
    let Ok(Json::Array(a)) = parse(r#"["a", {"b": 1}, "c", [[]]]"#, keep) else {
        panic!()
    };
    assert_eq!(a.len, 4);
    assert_eq!(a.items.len(), 2);
    assert_eq!(a.items[0], Json::String("a".into()));
    assert!(matches!(&a.items[1], Json::Object(o) if o.members.is_empty() && o.dropped == 1));
}

#[test]
fn skipped_strings_are_checked_like_read_ones() {
    for text in [
        r#"{"x":"\ud800"}"#,
        r#"{"x":"\udc00"}"#,
        r#"{"x":"\ud800\u0041"}"#,
        r#"{"x":"\u12"}"#,
        r#"{"x":"\u12g4"}"#,
        r#"{"x":"a\qb"}"#,
        "{\"x\":\"a\\n\u{1}\"}",
        r#"{"x":"a\n"#,
        r#"{"x":"ok\n\u00e9\ud83d\ude00"}"#,
    ] {
        let skipped = parse(text, Keep::Fields(&[])).map(|_| ());
        let read = tree(text).map(|_| ());
        assert_eq!(skipped, read, "{text}");
    }
}
