//! Durations on the command line and in the proxy's configuration file: `500ms`, `10s`, `2m`,
//! `1h`, or a bare number of seconds (`30`, `0.5`).

use std::time::Duration;

/// The longest duration accepted anywhere: one year.
const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses `<number>[ms|s|m|h]`; no unit means seconds.
///
/// # Errors
/// A message for clap (or the configuration file) when the text is not such a duration, is
/// negative, or exceeds a year.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "`{text}` is not a duration (e.g. 500ms, 10s, 2m, 1h)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 10s, 2m, 1h)"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs > MAX.as_secs_f64() {
        return Err(format!("`{text}` is longer than a year"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in [
            "",
            "s",
            "-1s",
            "10 parsecs",
            "1e3",
            "1..2s",
            "9999999h",
            "10d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
