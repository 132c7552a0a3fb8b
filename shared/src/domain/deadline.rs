//! The time an invocation may still use: one [`Deadline`] type for every "finish by"
//! (docs/decisions/0003-one-retry-loop-and-one-deadline.md). Arithmetic is on the time left,
//! counted from now, so a reserve never puts a deadline before now.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

/// The least time left at an invocation's start for its context's deadline to count as
/// Lambda's: its shortest timeout is a second plus the start, while local emulators send 0 or
/// the time of the request.
pub const MIN_LEFT_AT_START: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        let now = Instant::now();
        // An absurd budget (a nonsense epoch) must not overflow `Instant`.
        let year = Duration::from_secs(365 * 24 * 3600);
        Self(
            now.checked_add(budget)
                .or_else(|| now.checked_add(year))
                .unwrap_or(now),
        )
    }

    /// A Lambda context's deadline (milliseconds since the UNIX epoch), when more than
    /// `min_left` is left; `None` otherwise (no deadline, or one that cannot be Lambda's).
    pub fn from_lambda(epoch_ms: u64, min_left: Duration) -> Option<Self> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let left = Duration::from_millis(epoch_ms.saturating_sub(now_ms));
        (epoch_ms > 0 && left > min_left).then(|| Self::after(left))
    }

    /// Zero once past.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// `reserve` earlier, but not before now: the time kept back for what follows.
    pub fn minus(self, reserve: Duration) -> Self {
        Self::after(self.remaining().saturating_sub(reserve))
    }

    /// `extra` later, counted from now for a passed deadline.
    pub fn plus(self, extra: Duration) -> Self {
        Self::after(self.remaining().saturating_add(extra))
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// UTC, to the millisecond as [`crate::domain::timestamp::now`].
    pub fn wall_clock(self) -> OffsetDateTime {
        crate::domain::timestamp::now()
            + time::Duration::try_from(self.remaining()).unwrap_or(time::Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn epoch_ms_in(left: Duration) -> u64 {
        let at = SystemTime::now() + left;
        u64::try_from(
            at.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX)
    }

    #[test]
    fn lambda_deadlines() {
        let d = Deadline::from_lambda(epoch_ms_in(S(60)), MIN_LEFT_AT_START);
        let left = d.map(Deadline::remaining).unwrap_or_default();
        assert!(left > S(58) && left <= S(60), "{left:?}");
        // No deadline, one already past, one too close to be Lambda's.
        assert_eq!(Deadline::from_lambda(0, Duration::ZERO), None);
        assert_eq!(Deadline::from_lambda(123, Duration::ZERO), None);
        assert_eq!(
            Deadline::from_lambda(epoch_ms_in(S(2)), MIN_LEFT_AT_START),
            None
        );
        assert!(Deadline::from_lambda(epoch_ms_in(S(2)), Duration::ZERO).is_some());
        // A nonsense epoch does not overflow.
        assert!(Deadline::from_lambda(u64::MAX, MIN_LEFT_AT_START).is_some());
    }

    #[test]
    fn time_left_reserves_and_wall_clock() {
        let d = Deadline::after(S(10));
        assert!(d.remaining() > S(9) && d.remaining() <= S(10));
        let reserved = d.minus(S(2));
        assert!(reserved.remaining() > S(7) && reserved.remaining() <= S(8));
        // A reserve larger than what is left: nothing left, not a time before now.
        let none = d.minus(S(60));
        assert_eq!(none.remaining(), Duration::ZERO);
        assert!(none.instant() + Duration::from_millis(50) >= Instant::now());
        // Added time counts from now once the deadline has passed.
        let passed = Deadline::at(Instant::now());
        let lease = passed.plus(S(2));
        assert!(lease.remaining() > Duration::from_millis(1900), "{lease:?}");
        // The wall clock: now plus what is left.
        let wall = d.wall_clock() - crate::domain::timestamp::now();
        assert!(
            wall > time::Duration::seconds(9) && wall <= time::Duration::seconds(10),
            "{wall}"
        );
        assert!(Deadline::after(Duration::MAX).remaining() > S(3600));
    }
}
