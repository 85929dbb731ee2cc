//! Time as hookhub keeps it: Unix milliseconds inside, RFC 3339 in UTC at
//! the edges. One place for both, which every layer may use.

/// Unix milliseconds, the database's unit of time.
pub fn now_ms() -> i64 {
    ::time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Unix milliseconds as RFC 3339 in UTC, as every timestamp of the API reads:
/// always with milliseconds, so that the text sorts as the time does.
pub fn rfc3339(ms: i64) -> String {
    let Ok(t) = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
    else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An RFC 3339 time (any offset) as Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    ::time::OffsetDateTime::parse(text, &::time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_always_carry_milliseconds() {
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339(1_700_000_000_050), "2023-11-14T22:13:20.050Z");
        assert!(rfc3339(1_700_000_000_000) < rfc3339(1_700_000_000_001));
    }

    #[test]
    fn rfc3339_reads_back_what_it_writes() {
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.050Z"),
            Some(1_700_000_000_050)
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
