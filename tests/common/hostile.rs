//! Payloads shaped to make a decoder hold as much memory as it can, each
//! about `size` bytes: shared by `tests/memory.rs` and
//! `examples/decode_memory.rs` (`make bench`).

/// `(name, payload)` pairs, each payload at most `size` bytes.
pub fn hostile_payloads(size: usize) -> Vec<(&'static str, String)> {
    let fill = |open: &str, item: &dyn Fn(usize) -> String, close: &str| {
        let mut text = String::from(open);
        let mut i = 0;
        loop {
            let next = item(i);
            if text.len() + next.len() + 1 + close.len() > size {
                break;
            }
            if i > 0 {
                text.push(',');
            }
            text.push_str(&next);
            i += 1;
        }
        text.push_str(close);
        text
    };
    let empty = |_: usize| "{}".to_owned();
    vec![
        ("empty objects outside meta", fill("{\"x\":[", &empty, "]}")),
        (
            "empty objects as drivers",
            fill("{\"prediction\":{\"drivers\":[", &empty, "]}}"),
        ),
        (
            "empty objects in meta",
            fill("{\"meta\":{\"rows\":[", &empty, "]}}"),
        ),
        (
            "wide meta",
            fill("{\"meta\":{", &|i| format!("\"{i:x}\":0"), "}}"),
        ),
        (
            "wide object outside meta",
            fill("{\"x\":{", &|i| format!("\"{i:x}\":0"), "}}"),
        ),
        (
            "escaped keys in meta",
            fill("{\"meta\":{", &|i| format!("\"\\u0061{i:x}\":0"), "}}"),
        ),
        (
            "nested arrays",
            fill("{\"x\":[", &|_| "[[[[]]]]".to_owned(), "]}"),
        ),
        (
            "escaped strings",
            fill("{\"x\":[", &|_| "\"\\n\\u00e9\"".to_owned(), "]}"),
        ),
    ]
}
