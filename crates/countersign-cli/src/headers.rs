//! Parsing received headers given as `Name: value` lines (`-H` flags and `--header-file`).
//!
//! The format is exactly what `countersign sign` prints: one header per line, the name, a
//! colon, optional blanks, the value. Names are case-insensitive. In a header file, blank
//! lines are skipped and `\r\n` line ends are accepted. A header given twice is kept twice
//! (the verifier then rejects it as `malformed_header`), because that is what was received.
//! Error messages name the line and the header, never echo a value.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::CliError;

/// Appends the `-H` values to `headers`.
pub(crate) fn parse_flags(lines: &[String], headers: &mut HeaderMap) -> Result<(), CliError> {
    for (i, line) in lines.iter().enumerate() {
        let (name, value) = parse_line(line.as_bytes()).map_err(|reason| CliError::HeaderLine {
            origin: format!("-H #{}", i.saturating_add(1)),
            reason,
        })?;
        headers.append(name, value);
    }
    Ok(())
}

/// Appends the lines of a header file to `headers`.
pub(crate) fn parse_block(block: &[u8], headers: &mut HeaderMap) -> Result<(), CliError> {
    for (i, line) in block.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t')) {
            continue;
        }
        let (name, value) = parse_line(line).map_err(|reason| CliError::HeaderLine {
            origin: format!("--header-file line {}", i.saturating_add(1)),
            reason,
        })?;
        headers.append(name, value);
    }
    Ok(())
}

/// One `Name: value` line.
fn parse_line(line: &[u8]) -> Result<(HeaderName, HeaderValue), &'static str> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err("a header line cannot start with a blank (folded headers are not supported)");
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or("expected `Name: value`")?;
    let (name, rest) = line.split_at(colon);
    let value = rest.get(1..).unwrap_or_default();
    if name.is_empty() {
        return Err("empty header name");
    }
    let name = HeaderName::from_bytes(name)
        .map_err(|_| "invalid header name (no blanks before the colon)")?;
    let value = HeaderValue::from_bytes(trim(value))
        .map_err(|_| "invalid header value (control characters are not allowed)")?;
    Ok((name, value))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_sign_prints_them() {
        let mut h = HeaderMap::new();
        parse_block(
            b"webhook-signature: v1,abc=\r\nWebhook-Timestamp:1700000000\n\n  \nwebhook-id:\tmsg_1  \n",
            &mut h,
        )
        .unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h["webhook-signature"], "v1,abc=");
        assert_eq!(h["webhook-timestamp"], "1700000000");
        assert_eq!(h["webhook-id"], "msg_1");
    }

    #[test]
    fn value_may_contain_colons_and_be_empty() {
        let mut h = HeaderMap::new();
        parse_flags(
            &["X-Url: https://a.example:8443/x".into(), "X-Empty:".into()],
            &mut h,
        )
        .unwrap();
        assert_eq!(h["x-url"], "https://a.example:8443/x");
        assert_eq!(h["x-empty"], "");
    }

    #[test]
    fn repeated_headers_are_kept() {
        let mut h = HeaderMap::new();
        parse_flags(&["X-Sig: a".into(), "x-sig: b".into()], &mut h).unwrap();
        assert_eq!(h.get_all("x-sig").iter().count(), 2);
    }

    #[test]
    fn bad_lines_are_named_without_their_value() {
        let cases: &[&[u8]] = &[
            b"no colon here v4lue",
            b": v4lue",
            b"Bad Name: v4lue",
            b"X-Sig : v4lue",
            b" X-Folded: v4lue",
            b"X-Ctl: v4lue\x01",
        ];
        for case in cases {
            let mut h = HeaderMap::new();
            let err = parse_block(case, &mut h).unwrap_err();
            let msg = err.report();
            assert!(msg.starts_with("--header-file line 1: "), "{msg}");
            assert!(!msg.contains("v4lue"), "{msg}");
        }
        let err =
            parse_flags(&["ok: 1".into(), "broken".into()], &mut HeaderMap::new()).unwrap_err();
        assert_eq!(err.report(), "-H #2: expected `Name: value`");
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A cheap exhaustive sweep over short inputs from an alphabet of the interesting bytes.
        let alphabet = [b'a', b':', b' ', b'\t', b'\r', b'\n', 0x00, 0x7f, 0xff];
        let mut buf = Vec::new();
        for len in 0..=4u32 {
            for mut n in 0..alphabet.len().pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let _ = parse_block(&buf, &mut HeaderMap::new());
            }
        }
    }
}
