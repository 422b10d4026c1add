//! Signed timestamps: strict parsing and checked tolerance arithmetic.
//!
//! A numeric timestamp is ASCII digits only (no sign, no fraction, no whitespace inside), at
//! most 19 of them, and never larger than `i64::MAX`. An RFC 3339 timestamp follows the
//! grammar strictly (see [`TimestampUnit::Rfc3339`]). Everything else is a
//! `malformed_timestamp` rejection; no input can overflow or panic.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderName;

use crate::error::VerifyError;

/// Default timestamp tolerance in each direction: 300 s.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// How far a signed timestamp may be from the verifier's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be (clock skew).
    pub future: Duration,
}

impl Tolerance {
    /// The same window in both directions.
    #[must_use]
    pub const fn symmetric(window: Duration) -> Self {
        Tolerance {
            past: window,
            future: window,
        }
    }
}

impl Default for Tolerance {
    /// 300 s in both directions.
    fn default() -> Self {
        Tolerance::symmetric(DEFAULT_TOLERANCE)
    }
}

/// Where the signed timestamp comes from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TimestampSource {
    /// A header of its own (first of the names present).
    Header(Vec<HeaderName>),
    /// The timestamp key of a [`SignatureSyntax::KeyValue`](crate::SignatureSyntax::KeyValue) signature header.
    SignatureHeader,
    /// A string or integer member of the JSON body (Linear's `webhookTimestamp`, Mailgun's
    /// `signature.timestamp`). Checked after the signature, since it needs the body.
    JsonField(Vec<Cow<'static, str>>),
}

/// The unit of a signed timestamp. Numbers are ASCII digits only, at most 19 of them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
    /// An RFC 3339 date-time such as `2019-11-16T10:11:12.634234626Z` (Twitch): a `T` (or
    /// `t`/space) separator, an optional fraction of up to 18 digits (nanoseconds are kept),
    /// `Z` or a `±hh:mm` offset; not before 1970. Compared with nanosecond precision.
    Rfc3339,
}

impl TimestampUnit {
    /// The name used in scheme files: `seconds`, `milliseconds`, `rfc3339`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TimestampUnit::Seconds => "seconds",
            TimestampUnit::Milliseconds => "milliseconds",
            TimestampUnit::Rfc3339 => "rfc3339",
        }
    }
}

impl<'de> serde::Deserialize<'de> for TimestampUnit {
    /// `"seconds"` (or `"s"`), `"milliseconds"` (or `"ms"`) or `"rfc3339"`, in any case.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "seconds" | "s" => Ok(TimestampUnit::Seconds),
            "milliseconds" | "ms" => Ok(TimestampUnit::Milliseconds),
            "rfc3339" => Ok(TimestampUnit::Rfc3339),
            _ => Err(serde::de::Error::custom(format_args!(
                "`{text}`: expected seconds, milliseconds or rfc3339"
            ))),
        }
    }
}

/// A scheme's signed timestamp: where it is and what unit it has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimestampSpec {
    /// Where it is.
    pub source: TimestampSource,
    /// Its unit.
    pub unit: TimestampUnit,
}

impl TimestampSpec {
    /// A timestamp in its own header.
    #[must_use]
    pub fn header(name: HeaderName, unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::Header(vec![name]),
            unit,
        }
    }

    /// A timestamp inside the signature header (`t=` for Stripe).
    #[must_use]
    pub fn in_signature_header(unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::SignatureHeader,
            unit,
        }
    }

    /// A timestamp inside the JSON body, at `path`.
    #[must_use]
    pub fn json_field(path: &[&'static str], unit: TimestampUnit) -> Self {
        TimestampSpec {
            source: TimestampSource::JsonField(path.iter().map(|k| Cow::Borrowed(*k)).collect()),
            unit,
        }
    }
}

/// At most this many digits (`i64::MAX` has 19).
pub(crate) const MAX_DIGITS: usize = 19;

/// Parses unsigned decimal digits into a value no larger than `i64::MAX`.
pub(crate) fn parse_digits(text: &[u8]) -> Result<u64, VerifyError> {
    if text.is_empty() {
        return Err(VerifyError::MalformedTimestamp { reason: "empty" });
    }
    if text.len() > MAX_DIGITS {
        return Err(VerifyError::MalformedTimestamp {
            reason: "more than 19 digits",
        });
    }
    let mut value: u64 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return Err(VerifyError::MalformedTimestamp {
                reason: "not a non-negative integer (digits only)",
            });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b.wrapping_sub(b'0'))))
            .ok_or(VerifyError::MalformedTimestamp {
                reason: "out of range",
            })?;
    }
    if value > i64::MAX as u64 {
        return Err(VerifyError::MalformedTimestamp {
            reason: "out of range",
        });
    }
    Ok(value)
}

/// Parses a timestamp of `unit` into a time since the Unix epoch.
pub(crate) fn parse(text: &[u8], unit: TimestampUnit) -> Result<Duration, VerifyError> {
    match unit {
        TimestampUnit::Seconds => Ok(Duration::from_secs(parse_digits(text)?)),
        TimestampUnit::Milliseconds => Ok(Duration::from_millis(parse_digits(text)?)),
        TimestampUnit::Rfc3339 => parse_rfc3339(text),
    }
}

/// Checks a parsed timestamp against `now` and returns it in Unix seconds.
///
/// The comparison happens at the timestamp's own granularity (seconds, milliseconds, or
/// nanoseconds for RFC 3339), so "exactly the tolerance" is accepted whatever the clock's
/// sub-unit fraction.
pub(crate) fn check(
    at: Duration,
    unit: TimestampUnit,
    now: Duration,
    tolerance: Tolerance,
) -> Result<i64, VerifyError> {
    let (now_units, at_units, to_duration): (u128, u128, fn(u64) -> Duration) = match unit {
        TimestampUnit::Seconds => (
            u128::from(now.as_secs()),
            u128::from(at.as_secs()),
            Duration::from_secs,
        ),
        TimestampUnit::Milliseconds => (now.as_millis(), at.as_millis(), Duration::from_millis),
        TimestampUnit::Rfc3339 => (now.as_nanos(), at.as_nanos(), Duration::from_nanos),
    };
    let saturate = |d: u128| to_duration(u64::try_from(d).unwrap_or(u64::MAX));
    if at_units < now_units {
        let age = saturate(now_units.saturating_sub(at_units));
        if age > tolerance.past {
            return Err(VerifyError::TimestampTooOld {
                age,
                tolerance: tolerance.past,
            });
        }
    } else {
        let ahead = saturate(at_units.saturating_sub(now_units));
        if ahead > tolerance.future {
            return Err(VerifyError::TimestampTooNew {
                ahead,
                tolerance: tolerance.future,
            });
        }
    }
    Ok(i64::try_from(at.as_secs()).unwrap_or(i64::MAX))
}

/// Longest RFC 3339 text accepted.
const MAX_RFC3339_LEN: usize = 64;
/// Most fraction digits accepted (only the first nine count).
const MAX_FRACTION_DIGITS: usize = 18;

/// Parses `YYYY-MM-DD(T|t| )HH:MM:SS(.F{1,18})?(Z|z|(+|-)HH:MM)`, not before 1970.
pub(crate) fn parse_rfc3339(text: &[u8]) -> Result<Duration, VerifyError> {
    let bad = |reason| VerifyError::MalformedTimestamp { reason };
    if text.len() > MAX_RFC3339_LEN {
        return Err(bad("longer than 64 bytes"));
    }
    let not_rfc = || bad("not an RFC 3339 date-time");
    let num = |from: usize, len: usize| -> Result<u64, VerifyError> {
        let digits = text
            .get(from..from.saturating_add(len))
            .ok_or_else(not_rfc)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(not_rfc());
        }
        Ok(digits.iter().fold(0u64, |acc, &d| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(d.wrapping_sub(b'0')))
        }))
    };
    let expect = |at: usize, allowed: &[u8]| -> Result<(), VerifyError> {
        match text.get(at) {
            Some(b) if allowed.contains(b) => Ok(()),
            _ => Err(not_rfc()),
        }
    };
    let year = num(0, 4)?;
    expect(4, b"-")?;
    let month = num(5, 2)?;
    expect(7, b"-")?;
    let day = num(8, 2)?;
    expect(10, b"Tt ")?;
    let hour = num(11, 2)?;
    expect(13, b":")?;
    let minute = num(14, 2)?;
    expect(16, b":")?;
    let second = num(17, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time of day"));
    }
    let mut pos = 19usize;
    let mut nanos = 0u64;
    if text.get(pos) == Some(&b'.') {
        pos = pos.saturating_add(1);
        let digits = text
            .get(pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > MAX_FRACTION_DIGITS {
            return Err(bad("fraction of seconds must have 1 to 18 digits"));
        }
        let kept = digits.min(9);
        nanos = num(pos, kept)?;
        for _ in kept..9 {
            nanos = nanos.saturating_mul(10);
        }
        pos = pos.saturating_add(digits);
    }
    let offset_secs: i64 = match text.get(pos) {
        Some(b'Z' | b'z') if text.len() == pos.saturating_add(1) => 0,
        Some(sign @ (b'+' | b'-')) if text.len() == pos.saturating_add(6) => {
            let oh = num(pos.saturating_add(1), 2)?;
            expect(pos.saturating_add(3), b":")?;
            let om = num(pos.saturating_add(4), 2)?;
            if oh > 23 || om > 59 {
                return Err(bad("no such UTC offset"));
            }
            let secs = i64::try_from(
                oh.saturating_mul(3600)
                    .saturating_add(om.saturating_mul(60)),
            )
            .unwrap_or(0);
            if *sign == b'-' {
                0i64.saturating_sub(secs)
            } else {
                secs
            }
        }
        _ => return Err(not_rfc()),
    };
    let days = days_from_civil(year, month, day);
    let local = days.saturating_mul(86_400).saturating_add(
        i64::try_from(
            hour.saturating_mul(3600)
                .saturating_add(minute.saturating_mul(60))
                .saturating_add(second),
        )
        .unwrap_or(0),
    );
    let utc = local.saturating_sub(offset_secs);
    let secs = u64::try_from(utc).map_err(|_| bad("before 1970"))?;
    Ok(Duration::new(secs, u32::try_from(nanos).unwrap_or(0)))
}

/// Formats a time since the epoch as RFC 3339 in UTC, with nanoseconds when there are any.
pub(crate) fn format_rfc3339(t: Duration) -> String {
    let secs = t.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    match t.subsec_nanos() {
        0 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        n => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{n:09}Z"),
    }
}

fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). Inputs
/// are at most four-digit years, so nothing overflows.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "years have four digits, months and days are validated: every value is tiny"
)]
fn days_from_civil(year: u64, month: u64, day: u64) -> i64 {
    let y = i64::try_from(year).unwrap_or(0) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::try_from(month).unwrap_or(1);
    let d = i64::try_from(day).unwrap_or(1);
    let mp = (m + 9).rem_euclid(12);
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
#[expect(
    clippy::arithmetic_side_effects,
    reason = "days come from a u64 of seconds / 86400 (< 2.2e14): every product fits in i64"
)]
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u64::try_from(m).unwrap_or(1),
        u64::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn hostile_timestamps_are_rejected_not_panics() {
        for t in [
            "",
            "-9223372036854775808",
            "99999999999999999999",
            "9223372036854775808",
            "+1700000000",
            "1.5",
            " 17",
            "17 ",
            "0x10",
            "1e9",
            "１７",
        ] {
            let err = parse_digits(t.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedTimestamp, "{t:?}");
        }
        assert_eq!(parse_digits(b"9223372036854775807"), Ok(i64::MAX as u64));
        assert_eq!(parse_digits(b"0"), Ok(0));
    }

    fn secs(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    fn millis(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn tolerance_edges_seconds() {
        let tol = Tolerance::symmetric(Duration::from_secs(300));
        let s = TimestampUnit::Seconds;
        // 300.999 s old at millisecond precision, exactly 300 s at the timestamp's.
        assert!(check(secs(999_700), s, millis(1_000_000_999), tol).is_ok());
        assert!(check(secs(1_000_000 - 300), s, secs(1_000_000), tol).is_ok());
        assert!(check(secs(1_000_000 - 301), s, secs(1_000_000), tol).is_err());
        assert!(check(secs(1_000_000 + 300), s, millis(1_000_000_999), tol).is_ok());
        assert_eq!(
            check(secs(1_000_000 + 301), s, secs(1_000_000), tol)
                .unwrap_err()
                .kind(),
            ErrorKind::TimestampTooNew
        );
        // Extremes never overflow.
        assert!(check(secs(i64::MAX as u64), s, Duration::ZERO, tol).is_err());
        assert!(check(secs(0), s, Duration::MAX, tol).is_err());
        let ms = TimestampUnit::Milliseconds;
        assert!(check(millis(i64::MAX as u64), ms, Duration::MAX, tol).is_err());
        assert!(check(Duration::MAX, TimestampUnit::Rfc3339, Duration::ZERO, tol).is_err());
    }

    #[test]
    fn tolerance_edges_millis() {
        let tol = Tolerance::symmetric(Duration::from_secs(60));
        let now = Duration::from_secs(1_700_000_000);
        let ms = TimestampUnit::Milliseconds;
        assert_eq!(
            check(millis(1_700_000_000_000 - 60_000), ms, now, tol),
            Ok(1_699_999_940)
        );
        assert!(check(millis(1_700_000_000_000 - 60_001), ms, now, tol).is_err());
    }

    #[test]
    fn rfc3339_valid() {
        let p = |s: &str| parse_rfc3339(s.as_bytes()).unwrap();
        assert_eq!(p("1970-01-01T00:00:00Z"), Duration::ZERO);
        assert_eq!(
            p("2019-11-16T10:11:12.634234626Z"),
            Duration::new(1_573_899_072, 634_234_626)
        );
        assert_eq!(
            p("2019-11-16t10:11:12.6z"),
            Duration::new(1_573_899_072, 600_000_000)
        );
        assert_eq!(
            p("2019-11-16 12:11:12.123456789123+02:00"),
            Duration::new(1_573_899_072, 123_456_789)
        );
        assert_eq!(p("2019-11-16T05:41:12-04:30"), secs(1_573_899_072));
        assert_eq!(p("2000-02-29T23:59:60Z"), secs(951_868_800));
        assert_eq!(p("9999-12-31T23:59:59Z"), secs(253_402_300_799));
    }

    #[test]
    fn rfc3339_hostile() {
        for t in [
            "",
            "2019-11-16",
            "2019-11-16T10:11:12",
            "2019-11-16T10:11:12.Z",
            "2019-11-16T10:11:12.1234567890123456789Z",
            "2019-11-16T10:11:12ZZ",
            "2019-11-16T10:11:12+0200",
            "2019-11-16T10:11:12+24:00",
            "2019-02-29T10:11:12Z",
            "2019-13-01T10:11:12Z",
            "2019-00-01T10:11:12Z",
            "2019-11-31T10:11:12Z",
            "2019-11-16T24:00:00Z",
            "2019-11-16T10:60:00Z",
            "2019-11-16T10:11:61Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "+019-11-16T10:11:12Z",
            "2019-11-16T10:11:12.5\u{0}Z",
            "２０１９-11-16T10:11:12Z",
        ] {
            let err = parse_rfc3339(t.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::MalformedTimestamp, "{t:?}");
        }
        assert!(parse_rfc3339("2019-11-16T10:11:12Z".repeat(4).as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_does_not_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
            near in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,20})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
        ) {
            let _ = parse_rfc3339(&bytes);
            let _ = parse_rfc3339(near.as_bytes());
        }

        #[test]
        fn rfc3339_round_trips(secs in 0u64..253_402_300_800, nanos in 0u32..1_000_000_000) {
            let t = Duration::new(secs, nanos);
            proptest::prop_assert_eq!(parse_rfc3339(format_rfc3339(t).as_bytes()), Ok(t));
        }
    }

    #[test]
    fn rfc3339_format_round_trips() {
        for t in [
            Duration::ZERO,
            Duration::new(1_573_899_072, 634_234_626),
            secs(951_868_799),
            secs(253_402_300_799),
            Duration::new(1_700_000_000, 1),
        ] {
            assert_eq!(parse_rfc3339(format_rfc3339(t).as_bytes()), Ok(t), "{t:?}");
        }
        assert_eq!(format_rfc3339(secs(1_573_899_072)), "2019-11-16T10:11:12Z");
    }
}
