//! Reading and writing the times and durations an investigator types.

use crate::error::{ForensicsError, Result};

/// Reads an instant given as RFC 3339 (`2026-11-23T14:32:47.123456789Z`, any offset) or as
/// Unix epoch nanoseconds (`1763908367123456789`).
///
/// ```
/// use whyline_forensics::parse_time_ns;
/// assert_eq!(parse_time_ns("1970-01-01T00:00:01.5Z")?, 1_500_000_000);
/// assert_eq!(parse_time_ns("1500000000")?, 1_500_000_000);
/// assert_eq!(parse_time_ns("1970-01-01T01:00:01+01:00")?, 1_000_000_000);
/// # Ok::<(), whyline_forensics::ForensicsError>(())
/// ```
pub fn parse_time_ns(input: &str) -> Result<u64> {
    let text = input.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| ForensicsError::BadTime {
            input: input.to_owned(),
        });
    }
    let timestamp: jiff::Timestamp = text.parse().map_err(|_| ForensicsError::BadTime {
        input: input.to_owned(),
    })?;
    u64::try_from(timestamp.as_nanosecond()).map_err(|_| ForensicsError::BadTime {
        input: input.to_owned(),
    })
}

/// Reads a duration like `30s`, `1.5s`, `500ms`, `250us`, `2m`, `1h` into nanoseconds.
///
/// ```
/// use whyline_forensics::parse_duration_ns;
/// assert_eq!(parse_duration_ns("30s")?, 30_000_000_000);
/// assert_eq!(parse_duration_ns("1.5s")?, 1_500_000_000);
/// assert_eq!(parse_duration_ns("500ms")?, 500_000_000);
/// # Ok::<(), whyline_forensics::ForensicsError>(())
/// ```
pub fn parse_duration_ns(input: &str) -> Result<u64> {
    let bad = || ForensicsError::BadDuration {
        input: input.to_owned(),
    };
    let text = input.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(bad()),
    };
    let ns = value * scale;
    if !ns.is_finite() || ns < 0.0 || ns > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(ns.round() as u64)
}

/// Milliseconds from `incident_ns` to `ns` (negative before it), the difference taken in
/// integers first: epoch nanoseconds (~1.8e18) are beyond an `f64`'s 53 bits, so converting
/// each time first would be off by up to 256 ns.
pub(crate) fn relative_ms(ns: u64, incident_ns: u64) -> f64 {
    (i128::from(ns) - i128::from(incident_ns)) as f64 / 1e6
}

/// Formats Unix epoch nanoseconds as RFC 3339 in UTC with nanoseconds.
pub fn format_time_ns(ns: u64) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ns)) {
        Ok(timestamp) => format!("{timestamp:.9}"),
        Err(_) => format!("{ns} ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_the_epoch_or_past_u64_are_refused_by_what_was_given() {
        for input in [
            "18446744073709551616",
            "1969-12-31T23:59:59Z",
            "yesterday",
            "",
        ] {
            let error = parse_time_ns(input).unwrap_err();
            assert!(
                matches!(&error, ForensicsError::BadTime { input: given } if given == input),
                "{input}: {error:?}"
            );
        }
        assert_eq!(parse_time_ns(" 42 ").unwrap(), 42);
        assert_eq!(
            parse_time_ns("2025-11-23T14:32:47.5+00:00").unwrap(),
            1_763_908_367_500_000_000
        );
    }

    #[test]
    fn durations_take_every_unit_and_refuse_the_rest() {
        for (input, ns) in [
            ("250ns", 250),
            ("1.5us", 1_500),
            ("3µs", 3_000),
            ("2min", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            (" 0.5 s ", 500_000_000),
        ] {
            assert_eq!(parse_duration_ns(input).unwrap(), ns, "{input}");
        }
        for input in ["30", "5d", "s", "1..2s", "99999999999h"] {
            assert!(
                matches!(
                    parse_duration_ns(input),
                    Err(ForensicsError::BadDuration { .. })
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn the_epoch_formats_in_utc_and_relative_times_are_exact() {
        assert_eq!(format_time_ns(0), "1970-01-01T00:00:00.000000000Z");
        // 1_763_908_367_000_000_000 ns is past an f64's integers: the difference is exact.
        assert_eq!(
            relative_ms(1_763_908_367_000_000_000, 1_763_908_367_001_500_001),
            -1.500001
        );
        assert_eq!(relative_ms(5_000_000, 0), 5.0);
    }
}
