//! US business days: the FCC's clock for honouring a revocation ("within 10 business days").
//!
//! A business day is a weekday that is not a US federal holiday (5 U.S.C. 6103,
//! [`observed_holidays`]) as observed by federal employees: a fixed-date holiday on a Saturday
//! on the Friday before, on a Sunday on the Monday after (Executive Order 11582), so New Year's
//! Day can be observed on 31 December. One-off closures by executive order are not counted:
//! fewer holidays only make a due date earlier, never later, the safe direction.
//!
//! A receipt instant is read as a date in US Eastern time, taken as UTC−5 all year (no time zone
//! database in a 6 MB Lambda): during daylight saving time that reads an hour early, which can
//! only move the receipt day (and the due date) earlier.

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset, Weekday};

/// The offset receipt instants are read in (US Eastern standard time).
pub const RECEIPT_OFFSET_HOURS: i8 = -5;

/// The US day an instant falls on, for the business-day clock (module docs).
pub fn receipt_day(at: OffsetDateTime) -> Date {
    let offset = UtcOffset::from_hms(RECEIPT_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC);
    at.to_offset(offset).date()
}

pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The federal holiday observed on `date`, if any (its name).
pub fn holiday(date: Date) -> Option<&'static str> {
    // 31 December can be the observed New Year's Day of the next year.
    let next = date.year().checked_add(1);
    observed_holidays(date.year())
        .into_iter()
        .chain(next.map(observed_holidays).unwrap_or_default())
        .find(|(day, _)| *day == date)
        .map(|(_, name)| name)
}

pub fn is_business_day(date: Date) -> bool {
    !is_weekend(date) && holiday(date).is_none()
}

/// The `n`th business day after `date` (never `date` itself): with `n = 10`, the last day of the
/// FCC's window for a revocation received on `date`. `None` only past the year 9999.
pub fn add_business_days(date: Date, n: u32) -> Option<Date> {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day = day.next_day()?;
        if is_business_day(day) {
            left -= 1;
        }
    }
    Some(day)
}

/// The days federal employees have off for the holidays of `year`, in date order (New Year's
/// Day may fall in `year - 1`). Empty for years the `time` crate cannot represent.
pub fn observed_holidays(year: i32) -> Vec<(Date, &'static str)> {
    let fixed = |month: Month, day: u8| Date::from_calendar_date(year, month, day).ok();
    let mut days = vec![
        (fixed(Month::January, 1).map(observed), "New Year's Day"),
        (
            nth_weekday(year, Month::January, Weekday::Monday, 3),
            "Birthday of Martin Luther King, Jr.",
        ),
        (
            nth_weekday(year, Month::February, Weekday::Monday, 3),
            "Washington's Birthday",
        ),
        (
            last_weekday(year, Month::May, Weekday::Monday),
            "Memorial Day",
        ),
        (fixed(Month::July, 4).map(observed), "Independence Day"),
        (
            nth_weekday(year, Month::September, Weekday::Monday, 1),
            "Labor Day",
        ),
        (
            nth_weekday(year, Month::October, Weekday::Monday, 2),
            "Columbus Day",
        ),
        (fixed(Month::November, 11).map(observed), "Veterans Day"),
        (
            nth_weekday(year, Month::November, Weekday::Thursday, 4),
            "Thanksgiving Day",
        ),
        (fixed(Month::December, 25).map(observed), "Christmas Day"),
    ];
    if year >= 2021 {
        days.push((
            fixed(Month::June, 19).map(observed),
            "Juneteenth National Independence Day",
        ));
    }
    let mut days: Vec<(Date, &'static str)> = days
        .into_iter()
        .filter_map(|(day, name)| day.map(|d| (d, name)))
        .collect();
    days.sort();
    days
}

/// Saturday → the Friday before, Sunday → the Monday after.
fn observed(date: Date) -> Date {
    match date.weekday() {
        Weekday::Saturday => date.previous_day().unwrap_or(date),
        Weekday::Sunday => date.next_day().unwrap_or(date),
        _ => date,
    }
}

/// 1-based.
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let ahead =
        (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
    first.checked_add(Duration::days(
        i64::from(ahead) + 7 * i64::from(n.saturating_sub(1)),
    ))
}

fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back =
        (7 + last.weekday().number_days_from_monday() - weekday.number_days_from_monday()) % 7;
    last.checked_sub(Duration::days(i64::from(back)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    /// OPM's published federal holiday schedules (opm.gov, "Federal Holidays"), observed dates.
    #[test]
    fn observed_holidays_match_opm_tables() {
        let table: &[(i32, [Date; 11])] = &[
            (
                2021,
                [
                    date!(2021 - 01 - 01),
                    date!(2021 - 01 - 18),
                    date!(2021 - 02 - 15),
                    date!(2021 - 05 - 31),
                    date!(2021 - 06 - 18), // Juneteenth (Saturday) on Friday
                    date!(2021 - 07 - 05), // Independence Day (Sunday) on Monday
                    date!(2021 - 09 - 06),
                    date!(2021 - 10 - 11),
                    date!(2021 - 11 - 11),
                    date!(2021 - 11 - 25),
                    date!(2021 - 12 - 24), // Christmas (Saturday) on Friday
                ],
            ),
            (
                2022,
                [
                    date!(2021 - 12 - 31), // New Year's Day 2022 (Saturday): Friday of 2021
                    date!(2022 - 01 - 17),
                    date!(2022 - 02 - 21),
                    date!(2022 - 05 - 30),
                    date!(2022 - 06 - 20), // Juneteenth (Sunday) on Monday
                    date!(2022 - 07 - 04),
                    date!(2022 - 09 - 05),
                    date!(2022 - 10 - 10),
                    date!(2022 - 11 - 11),
                    date!(2022 - 11 - 24),
                    date!(2022 - 12 - 26), // Christmas (Sunday) on Monday
                ],
            ),
            (
                2023,
                [
                    date!(2023 - 01 - 02), // New Year's Day (Sunday) on Monday
                    date!(2023 - 01 - 16),
                    date!(2023 - 02 - 20),
                    date!(2023 - 05 - 29),
                    date!(2023 - 06 - 19),
                    date!(2023 - 07 - 04),
                    date!(2023 - 09 - 04),
                    date!(2023 - 10 - 09),
                    date!(2023 - 11 - 10), // Veterans Day (Saturday) on Friday
                    date!(2023 - 11 - 23),
                    date!(2023 - 12 - 25),
                ],
            ),
            (
                2025,
                [
                    date!(2025 - 01 - 01),
                    date!(2025 - 01 - 20),
                    date!(2025 - 02 - 17),
                    date!(2025 - 05 - 26),
                    date!(2025 - 06 - 19),
                    date!(2025 - 07 - 04),
                    date!(2025 - 09 - 01),
                    date!(2025 - 10 - 13),
                    date!(2025 - 11 - 11),
                    date!(2025 - 11 - 27),
                    date!(2025 - 12 - 25),
                ],
            ),
            (
                2026,
                [
                    date!(2026 - 01 - 01),
                    date!(2026 - 01 - 19),
                    date!(2026 - 02 - 16),
                    date!(2026 - 05 - 25),
                    date!(2026 - 06 - 19),
                    date!(2026 - 07 - 03), // Independence Day (Saturday) on Friday
                    date!(2026 - 09 - 07),
                    date!(2026 - 10 - 12),
                    date!(2026 - 11 - 11),
                    date!(2026 - 11 - 26),
                    date!(2026 - 12 - 25),
                ],
            ),
            (
                2027,
                [
                    date!(2027 - 01 - 01),
                    date!(2027 - 01 - 18),
                    date!(2027 - 02 - 15),
                    date!(2027 - 05 - 31),
                    date!(2027 - 06 - 18),
                    date!(2027 - 07 - 05),
                    date!(2027 - 09 - 06),
                    date!(2027 - 10 - 11),
                    date!(2027 - 11 - 11),
                    date!(2027 - 11 - 25),
                    date!(2027 - 12 - 24),
                ],
            ),
        ];
        for (year, want) in table {
            let got: Vec<Date> = observed_holidays(*year)
                .into_iter()
                .map(|(d, _)| d)
                .collect();
            assert_eq!(got, want.to_vec(), "{year}");
            for day in want {
                assert!(!is_business_day(*day), "{day}");
                assert!(holiday(*day).is_some(), "{day}");
            }
        }
        // Before 2021 there was no Juneteenth holiday.
        assert_eq!(observed_holidays(2020).len(), 10);
        assert_eq!(holiday(date!(2020 - 06 - 19)), None);
        // 31 December 2027 is New Year's Day 2028 (a Saturday), observed.
        assert_eq!(holiday(date!(2027 - 12 - 31)), Some("New Year's Day"));
        assert_eq!(holiday(date!(2021 - 12 - 31)), Some("New Year's Day"));
        assert_eq!(holiday(date!(2026 - 12 - 31)), None);
        // The holiday itself, when observed on another day, is not a day off twice.
        assert_eq!(holiday(date!(2026 - 07 - 04)), None); // a Saturday, a weekend anyway
        assert!(is_business_day(date!(2023 - 11 - 13)));
    }

    /// Due dates: the 10th business day after the day of receipt.
    #[test]
    fn ten_business_days_across_weekends_holidays_and_year_ends() {
        let table: &[(Date, Date, &str)] = &[
            // A plain fortnight: Monday → the Monday two weeks on.
            (date!(2026 - 03 - 02), date!(2026 - 03 - 16), "plain"),
            // Received on a Saturday or a Sunday: the count starts on Monday.
            (date!(2026 - 03 - 07), date!(2026 - 03 - 20), "Saturday"),
            (date!(2026 - 03 - 08), date!(2026 - 03 - 20), "Sunday"),
            // Received on a holiday: the holiday does not count.
            (date!(2026 - 01 - 19), date!(2026 - 02 - 02), "MLK Day"),
            // Memorial Day inside the window.
            (date!(2026 - 05 - 20), date!(2026 - 06 - 04), "Memorial Day"),
            // Juneteenth on a Friday and Independence Day observed Friday 3 July 2026.
            (date!(2026 - 06 - 15), date!(2026 - 06 - 30), "Juneteenth"),
            (
                date!(2026 - 06 - 29),
                date!(2026 - 07 - 14),
                "July 4th on Friday",
            ),
            // Independence Day 2027 (Sunday) observed Monday 5 July.
            (
                date!(2027 - 06 - 28),
                date!(2027 - 07 - 13),
                "July 4th on Monday",
            ),
            // Thanksgiving.
            (date!(2026 - 11 - 20), date!(2026 - 12 - 07), "Thanksgiving"),
            // Year end 2026: Christmas (Friday) and New Year's Day (Friday) both skipped.
            (
                date!(2026 - 12 - 22),
                date!(2027 - 01 - 07),
                "year end 2026",
            ),
            // Year end 2027: Christmas observed Friday 24 Dec, New Year observed Friday 31 Dec.
            (
                date!(2027 - 12 - 20),
                date!(2028 - 01 - 05),
                "year end 2027",
            ),
            // Year end 2022: Christmas observed Monday 26 Dec, New Year observed Monday 2 Jan.
            (
                date!(2022 - 12 - 21),
                date!(2023 - 01 - 06),
                "year end 2022",
            ),
            // Veterans Day 2023 (Saturday) observed Friday 10 November.
            (
                date!(2023 - 11 - 06),
                date!(2023 - 11 - 21),
                "Veterans Day on Friday",
            ),
        ];
        for (received, due, why) in table {
            assert_eq!(add_business_days(*received, 10), Some(*due), "{why}");
        }
        assert_eq!(
            add_business_days(date!(2026 - 03 - 06), 1),
            Some(date!(2026 - 03 - 09)),
            "Friday + 1 = Monday"
        );
        assert_eq!(
            add_business_days(date!(2026 - 03 - 06), 0),
            Some(date!(2026 - 03 - 06))
        );
        assert_eq!(add_business_days(date!(9999 - 12 - 30), 10), None);
    }

    #[test]
    fn receipt_day_is_the_eastern_standard_date() {
        // 03:00 UTC on Tuesday is still Monday evening in the US.
        assert_eq!(
            receipt_day(datetime!(2026-03-03 03:00 UTC)),
            date!(2026 - 03 - 02)
        );
        assert_eq!(
            receipt_day(datetime!(2026-03-03 05:00 UTC)),
            date!(2026 - 03 - 03)
        );
        assert_eq!(
            receipt_day(datetime!(2027-01-01 04:59:59 UTC)),
            date!(2026 - 12 - 31)
        );
    }

    #[test]
    fn every_day_of_a_decade_has_a_business_day_within_a_week() {
        let mut day = date!(2024 - 01 - 01);
        while day < date!(2034 - 01 - 01) {
            let next = add_business_days(day, 1).unwrap_or(day);
            assert!(next > day && (next - day).whole_days() <= 5, "{day}");
            assert!(is_business_day(next));
            day = day.next_day().unwrap_or(date!(2034 - 01 - 01));
        }
    }
}
