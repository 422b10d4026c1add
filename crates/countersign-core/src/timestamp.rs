//! Signed timestamps: strict parsing and checked tolerance arithmetic.
//!
//! A timestamp is ASCII digits only (no sign, no fraction, no whitespace inside), at most 19
//! of them, and never larger than `i64::MAX`. Everything else is a `malformed_timestamp`
//! rejection; no input can overflow or panic.

use std::time::Duration;

use crate::error::VerifyError;
use crate::scheme::{TimestampUnit, Tolerance};

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

/// Checks a parsed timestamp against `now` and returns it in Unix seconds.
///
/// The comparison happens at the timestamp's own granularity, so "exactly the tolerance"
/// is accepted whatever the clock's sub-unit fraction.
pub(crate) fn check(
    value: u64,
    unit: TimestampUnit,
    now: Duration,
    tolerance: Tolerance,
) -> Result<i64, VerifyError> {
    let (now_units, to_duration, secs): (u128, fn(u64) -> Duration, u64) = match unit {
        TimestampUnit::Seconds => (u128::from(now.as_secs()), Duration::from_secs, value),
        TimestampUnit::Milliseconds => (now.as_millis(), Duration::from_millis, value / 1000),
    };
    let value = u128::from(value);
    let saturate = |d: u128| to_duration(u64::try_from(d).unwrap_or(u64::MAX));
    if value < now_units {
        let age = saturate(now_units.saturating_sub(value));
        if age > tolerance.past {
            return Err(VerifyError::TimestampTooOld {
                age,
                tolerance: tolerance.past,
            });
        }
    } else {
        let ahead = saturate(value.saturating_sub(now_units));
        if ahead > tolerance.future {
            return Err(VerifyError::TimestampTooNew {
                ahead,
                tolerance: tolerance.future,
            });
        }
    }
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
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

    #[test]
    fn tolerance_edges_seconds() {
        let tol = Tolerance::symmetric(Duration::from_secs(300));
        let now = Duration::from_millis(1_000_000_999);
        // 300.999 s old at millisecond precision, exactly 300 s at the timestamp's.
        assert!(check(999_700, TimestampUnit::Seconds, now, tol).is_ok());
        assert!(
            check(
                1_000_000 - 300,
                TimestampUnit::Seconds,
                Duration::from_secs(1_000_000),
                tol
            )
            .is_ok()
        );
        assert!(
            check(
                1_000_000 - 301,
                TimestampUnit::Seconds,
                Duration::from_secs(1_000_000),
                tol
            )
            .is_err()
        );
        assert!(
            check(
                1_000_000 + 300,
                TimestampUnit::Seconds,
                Duration::from_millis(1_000_000_999),
                tol
            )
            .is_ok()
        );
        assert_eq!(
            check(
                1_000_000 + 301,
                TimestampUnit::Seconds,
                Duration::from_secs(1_000_000),
                tol
            )
            .unwrap_err()
            .kind(),
            ErrorKind::TimestampTooNew
        );
        // Extremes never overflow.
        assert!(check(i64::MAX as u64, TimestampUnit::Seconds, Duration::ZERO, tol).is_err());
        assert!(check(0, TimestampUnit::Seconds, Duration::MAX, tol).is_err());
        assert!(
            check(
                i64::MAX as u64,
                TimestampUnit::Milliseconds,
                Duration::MAX,
                tol
            )
            .is_err()
        );
    }

    #[test]
    fn tolerance_edges_millis() {
        let tol = Tolerance::symmetric(Duration::from_secs(60));
        let now = Duration::from_secs(1_700_000_000);
        assert_eq!(
            check(
                1_700_000_000_000 - 60_000,
                TimestampUnit::Milliseconds,
                now,
                tol
            ),
            Ok(1_699_999_940)
        );
        assert!(
            check(
                1_700_000_000_000 - 60_001,
                TimestampUnit::Milliseconds,
                now,
                tol
            )
            .is_err()
        );
    }
}
