use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn utc(s: &str) -> String {
    s.parse::<Timestamp>()
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
        .to_string()
}

fn number(lexeme: &str) -> Result<String, lax::Failure> {
    Timestamp::from_json(&Json::Number(lexeme)).map(|t| t.to_string())
}

#[test]
fn canonical_reads_exactly_what_display_writes() {
    let slow = |s: &str| parse_text(s).ok().filter(|t| t.to_string() == s);
    let mut micros = Timestamp::MIN.unix_micros();
    while micros < Timestamp::MAX.unix_micros() {
        let at = Timestamp::from_unix_micros(micros).unwrap();
        assert_eq!(canonical(&at.to_string()), Some(at));
        micros += 7_777_777_777_777 + micros.rem_euclid(999_983);
    }
    for text in [
        "2026-11-26T21:17:10Z",
        "2026-11-26T21:17:10.000001Z",
        "2026-11-26T21:17:10.000000Z",
        "2026-11-26T21:17:10.5Z",
        "2026-11-26T21:17:10.1234567Z",
        "2026-11-26t21:17:10Z",
        "2026-11-26 21:17:10Z",
        "2026-11-26T21:17:10+00:00",
        "2026-11-26T21:17:10",
        "2024-02-29T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2000-02-29T23:59:59.999999Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "+2026-01-01T00:00:00Z",
        "2026-1-01T00:00:00Z",
        "2026-01-01T00:00:0xZ",
        "２026-01-01T00:00:00Z",
        "",
    ] {
        assert_eq!(canonical(text), slow(text), "{text}");
    }
}

#[test]
fn iso_forms_pydantic_accepts() {
    let cases = [
        ("2026-11-26T21:17:10Z", "2026-11-26T21:17:10Z"),
        ("2026-11-26T21:17:10", "2026-11-26T21:17:10Z"),
        ("2026-11-26 21:17:10", "2026-11-26T21:17:10Z"),
        ("2026-11-26_21:17:10", "2026-11-26T21:17:10Z"),
        ("2026-11-26t21:17:10z", "2026-11-26T21:17:10Z"),
        ("2026-11-26", "2026-11-26T00:00:00Z"),
        ("2026-11-26T21:17", "2026-11-26T21:17:00Z"),
        ("2026-11-26T21:17+01:00", "2026-11-26T20:17:00Z"),
        ("2026-11-26T21:17:10.5Z", "2026-11-26T21:17:10.500000Z"),
        ("2026-11-26T21:17:10,5Z", "2026-11-26T21:17:10.500000Z"),
        (
            "2026-11-26T21:17:10.1234569999Z",
            "2026-11-26T21:17:10.123456Z",
        ),
        ("2026-11-26T21:17:10.000000Z", "2026-11-26T21:17:10Z"),
        ("2026-11-26T21:17:10+0530", "2026-11-26T15:47:10Z"),
        ("2026-11-26T21:17:10-23:59", "2026-11-27T21:16:10Z"),
        ("2026-11-26T21:17:10\u{2212}01:00", "2026-11-26T22:17:10Z"),
        ("2024-02-29T00:00:00", "2024-02-29T00:00:00Z"),
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.999999Z"),
        ("1700000000", "2023-11-14T22:13:20Z"),
        ("1700000000.5", "2023-11-14T22:13:20.500000Z"),
        ("+1700000000", "2023-11-14T22:13:20Z"),
        ("-1", "1969-12-31T23:59:59Z"),
        (".5", "1970-01-01T00:00:00.500000Z"),
        ("2026", "1970-01-01T00:33:46Z"),
        ("20000000001", "1970-08-20T11:33:20.001000Z"),
    ];
    for (input, want) in cases {
        assert_eq!(utc(input), *want, "{input:?}");
    }
    // An exponent counts only after a decimal point.
    assert_eq!(utc("1.5e9"), "2017-07-14T02:40:00Z");
    assert_eq!(utc("1.5E+9"), "2017-07-14T02:40:00Z");
}

#[test]
fn iso_forms_pydantic_rejects() {
    for input in [
        "2026-11-26T21:17:10+01",
        "2026-11-26T21:17:10+24:00",
        "2026-11-26T21",
        "2026-11-26T24:00:00",
        "2026-11-26T23:59:60",
        "2026-02-29T00:00:00",
        "0000-01-01T00:00:00",
        "2026-11-26T21:17:10.Z",
        "20261126T211710Z",
        "2026-11-26T21:17:10 Z",
        " 2026-11-26T21:17:10",
        "2026-11-26T21:17:10 ",
        "2026-1-26T21:17:10",
        "2026-11-26Z",
        "2026-11-26T",
        "1e3",
        "-1e1",
        "1_700_000_000",
        "99999999999999999999",
        "inf",
        "now",
        "",
        "0001-01-01T00:00:00+00:01",
    ] {
        assert!(input.parse::<Timestamp>().is_err(), "{input:?}");
    }
}

#[test]
fn failures_carry_pydantics_codes() {
    let code = |value: Json<'_>| Timestamp::from_json(&value).unwrap_err().code;
    for text in [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999-00:01",
    ] {
        assert_eq!(
            code(Json::String(text.into())),
            ErrorCode::DatetimeOutOfRange,
            "{text}"
        );
    }
    for text in [
        "now",
        "",
        "2026-02-29T00:00:00",
        "253402300800000",
        "1e3",
        "-9999999999999999",
    ] {
        assert_eq!(
            code(Json::String(text.into())),
            ErrorCode::DatetimeFromDateParsing,
            "{text}"
        );
    }
    for text in [
        "0000-01-01",
        "0000-12-31T23:00:00-01:00",
        "0000-02-29 00:00",
        "-62135596800001",
        "-62135596800000.5",
    ] {
        assert_eq!(
            code(Json::String(text.into())),
            ErrorCode::DatetimeParsing,
            "{text}"
        );
    }
    assert_eq!(
        code(Json::String("0000-02-30T00:00:00".into())),
        ErrorCode::DatetimeFromDateParsing
    );
    for lexeme in ["1e20", "253402300800000", "-62135596800001"] {
        assert_eq!(code(Json::Number(lexeme)), ErrorCode::DatetimeParsing);
    }
    // Past 64 bits, an integer is a Python big int: not a date-time at all.
    assert_eq!(
        code(Json::Number("99999999999999999999")),
        ErrorCode::DatetimeType
    );
    assert_eq!(code(Json::Bool(true)), ErrorCode::DatetimeType);
    assert_eq!(code(Json::Null), ErrorCode::DatetimeType);
}

#[test]
fn numbers_are_seconds_or_milliseconds() {
    assert_eq!(number("1700000000").unwrap(), "2023-11-14T22:13:20Z");
    assert_eq!(number("1700000000000").unwrap(), "2023-11-14T22:13:20Z");
    assert_eq!(number("20000000000").unwrap(), "2603-10-11T11:33:20Z");
    assert_eq!(
        number("-20000000001").unwrap(),
        "1969-05-14T12:26:39.999000Z"
    );
    assert_eq!(
        number("1700000000.1234567").unwrap(),
        "2023-11-14T22:13:20.123457Z"
    );
    assert_eq!(
        number("1700000000000.5").unwrap(),
        "2023-11-14T22:13:20.000500Z"
    );
    assert_eq!(number("-0.0000015").unwrap(), "1969-12-31T23:59:59.999999Z");
    assert_eq!(number("-0.0000005").unwrap(), "1970-01-01T00:00:00Z");
    assert_eq!(
        number("253402300799999").unwrap(),
        "9999-12-31T23:59:59.999000Z"
    );
    assert!(number("253402300800000").is_err());
    assert!(number("-62135596800001").is_err());
    assert!(number("1e20").is_err());
    assert!(Timestamp::from_json(&Json::Bool(true)).is_err());
}

#[test]
fn civil_round_trip() {
    for days in (-719_162..2_932_896).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}
