//! Timestamps as stored and compared: UTC, RFC 3339 with exactly three fraction digits, so that
//! DynamoDB's string comparison orders them the same way as time does.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const FIXED: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `2026-11-26T09:46:05.123Z`: fixed width for years 0000..=9999, so string order is time order.
pub fn format(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    // Formatting a valid UTC time with this description cannot fail for years 0..=9999; fall back
    // to the standard form rather than panic outside that range.
    utc.format(FIXED)
        .or_else(|_| utc.format(&Rfc3339))
        .unwrap_or_default()
}

/// Parse any RFC 3339 timestamp (offset or `Z`, any fraction length).
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

/// Now, truncated to milliseconds so a stored value round-trips exactly.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// Serde for a time as stored and answered: [`format`] out, any RFC 3339 in
/// (`#[serde(with = "timestamp::fixed")]`; `fixed::option` for an optional one).
pub mod fixed {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text)
            .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] OffsetDateTime);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
        }
    }
}

/// A day as `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Serde for a day, `YYYY-MM-DD` (serialize only: days are answered, never stored).
pub mod date {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        ))
    }
}

/// Parse a Vonage date leniently, as UTC: `YYYY-MM-DD HH:MM:SS` with any amount of whitespace
/// around and between date and time (one official example has several spaces); also accepts a
/// `T` separator and a trailing `Z`. `None` for anything else.
pub fn parse_vonage_date(s: &str) -> Option<OffsetDateTime> {
    let date_fmt = format_description!("[year]-[month]-[day]");
    let time_fmt = format_description!("[hour]:[minute]:[second]");
    let s = s.trim();
    let mut parts = s.split_whitespace();
    let (date_s, time_s) = match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(t), None) => (d, t),
        (Some(one), None, None) => {
            let (d, t) = one.split_once(['T', 't'])?;
            (d, t.strip_suffix(['Z', 'z']).unwrap_or(t))
        }
        _ => return None,
    };
    let date = Date::parse(date_s, &date_fmt).ok()?;
    let time = Time::parse(time_s, &time_fmt).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_width_and_round_trip() {
        let t = datetime!(2016-05-24 11:12:01.5 UTC);
        assert_eq!(format(t), "2016-05-24T11:12:01.500Z");
        assert_eq!(parse_rfc3339(&format(t)), Some(t));
        assert_eq!(
            format(datetime!(2020-01-01 15:43:21 +02:00)),
            "2020-01-01T13:43:21.000Z"
        );
    }

    #[test]
    fn string_order_is_time_order() {
        let a = format(datetime!(2026-01-01 09:59:59.999 UTC));
        let b = format(datetime!(2026-01-01 10:00:00 UTC));
        assert!(a < b);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339(""), None);
    }
}
