//! When a Vonage call is tried again and how long to wait first (pure functions, so every rule
//! has a unit test), each call's policy, and the one loop that applies them ([`run`]):
//! docs/decisions/0003-one-retry-loop-and-one-deadline.md.
//!
//! Retried: no answer, 429 (honouring `Retry-After`) and 5xx; not 2xx (the body decides), other
//! 4xx (Vonage said no), 1xx/3xx (redirects would turn the POST into a GET without the
//! credentials). Each call judges its own attempts ([`Step`]): a send that may have reached
//! Vonage is not tried again (it could make two texts). Waits are exponential with full jitter.

use crate::domain::deadline::Deadline;
use std::future::Future;
use std::time::Duration;

/// No attempt starts, and no backoff sleep begins, with less than this left before the caller's
/// deadline: it cannot complete a TLS round trip anyway.
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(50);

/// How many times, how fast and how long each call is tried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first one (0 is treated as 1).
    pub max_attempts: u32,
    /// Backoff cap before attempt 2, doubled for each further attempt; the sleep is uniformly
    /// random up to the cap.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// One attempt (connect, send, read the body), capped by the time left before the deadline.
    pub attempt_timeout: Duration,
}

/// Constants, not settings: they follow from the functions' timeouts in template.yaml (ADR 0003).
impl RetryPolicy {
    /// Sending a reply (notify): nobody waits on the answer and the function has a minute.
    pub const SEND: Self = Self {
        max_attempts: 4,
        base_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(5),
    };
    /// Lifting Vonage's block: resubscribe, where a person waits and the function has 15 s with
    /// a record to write after Vonage answers, and notify's opt-ins by text (at most ~10 s).
    pub const MANAGE: Self = Self {
        max_attempts: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(3),
    };
    /// One page of the opted-out list (reconcile): fits the run's stop margin with its DynamoDB
    /// calls; a page that fails is read again by the next run.
    pub const QUERY: Self = Self::MANAGE;
}

/// What one attempt came to, as the call making it judges it.
#[derive(Debug)]
pub enum Step<T> {
    /// A success, or a failure another attempt would not change.
    Done(T),
    /// Worth another attempt, after Vonage's `Retry-After` if given.
    Retry {
        failure: String,
        retry_after: Option<Duration>,
    },
}

impl<T> Step<T> {
    pub fn retry(failure: String) -> Self {
        Step::Retry {
            failure,
            retry_after: None,
        }
    }
}

/// The loop ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The last failure and why no further attempt was made.
    pub detail: String,
    /// Attempts made (0: the deadline allowed none).
    pub attempts: u32,
}

/// Attempts until one is [`Step::Done`], the attempts are spent, or the deadline leaves no room.
/// `attempt` gets its number (1-based) and timeout; between attempts the loop sleeps as [`next`]
/// decides.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Deadline,
    mut attempt: F,
) -> Result<T, Stopped>
where
    F: FnMut(u32, Duration) -> Fut,
    Fut: Future<Output = Step<T>>,
{
    let mut attempts: u32 = 0;
    let mut last = String::from("deadline reached before the first attempt");
    loop {
        let remaining = deadline.remaining();
        if remaining < MIN_ATTEMPT_BUDGET {
            let detail = if attempts == 0 {
                last
            } else {
                format!("{last}; deadline reached, no time for another attempt")
            };
            return Err(Stopped { detail, attempts });
        }
        attempts += 1;
        let retry_after = match attempt(attempts, remaining.min(policy.attempt_timeout)).await {
            Step::Done(result) => return Ok(result),
            Step::Retry {
                failure,
                retry_after,
            } => {
                last = failure;
                retry_after
            }
        };
        let why = match next(
            policy,
            attempts,
            retry_after,
            deadline.remaining(),
            full_jitter,
        ) {
            Next::Wait(wait) => {
                tokio::time::sleep(wait).await;
                continue;
            }
            Next::GiveUp(why) => why,
        };
        let detail = match why {
            GiveUp::AttemptsExhausted => format!("{last} (gave up after {attempts} attempt(s))"),
            GiveUp::RetryAfterTooLong(wait) => format!(
                "{last}; Retry-After {}s does not fit before the deadline",
                wait.as_secs()
            ),
            GiveUp::NoTimeLeft => format!("{last}; no time left for another attempt"),
        };
        return Err(Stopped { detail, attempts });
    }
}

/// What one attempt's outcome means (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Answered,
    Retry { retry_after: Option<Duration> },
    Refused,
    Unusable,
}

/// The verdict on an attempt: `None` when it got no answer, else its status and `Retry-After`.
pub fn classify(answer: Option<(u16, Option<Duration>)>) -> Verdict {
    match answer {
        None => Verdict::Retry { retry_after: None },
        Some((status, _)) if (200..300).contains(&status) => Verdict::Answered,
        Some((429, retry_after)) => Verdict::Retry { retry_after },
        Some((status, _)) if (500..600).contains(&status) => Verdict::Retry { retry_after: None },
        Some((status, _)) if (400..500).contains(&status) => Verdict::Refused,
        Some(_) => Verdict::Unusable,
    }
}

/// After a retryable failure of attempt number `attempt` (1-based): wait, or give up and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Wait(Duration),
    GiveUp(GiveUp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    AttemptsExhausted,
    /// Vonage's `Retry-After` is longer than the time left.
    RetryAfterTooLong(Duration),
    /// The wait would leave no time for another attempt.
    NoTimeLeft,
}

/// The wait before the next attempt: the jittered backoff (`jitter` maps the cap to a wait in
/// `0..=cap`), at least `retry_after`, and only if an attempt still fits into `left`.
pub fn next(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
    left: Duration,
    jitter: impl FnOnce(Duration) -> Duration,
) -> Next {
    if attempt >= policy.max_attempts.max(1) {
        return Next::GiveUp(GiveUp::AttemptsExhausted);
    }
    let mut wait = jitter(backoff_cap(policy, attempt)).min(backoff_cap(policy, attempt));
    if let Some(asked) = retry_after {
        if asked.saturating_add(MIN_ATTEMPT_BUDGET) > left {
            return Next::GiveUp(GiveUp::RetryAfterTooLong(asked));
        }
        wait = wait.max(asked);
    }
    if wait.saturating_add(MIN_ATTEMPT_BUDGET) > left {
        return Next::GiveUp(GiveUp::NoTimeLeft);
    }
    Next::Wait(wait)
}

/// The backoff cap after failed attempt `attempt` (1-based).
pub fn backoff_cap(policy: &RetryPolicy, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay)
}

/// A uniformly random wait in `0..=cap`.
pub fn full_jitter(cap: Duration) -> Duration {
    let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=cap_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: MS(100),
            max_delay: MS(300),
            attempt_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn what_is_retried() {
        assert_eq!(classify(None), Verdict::Retry { retry_after: None });
        for status in [200, 201, 204, 299] {
            assert_eq!(
                classify(Some((status, None))),
                Verdict::Answered,
                "{status}"
            );
        }
        assert_eq!(
            classify(Some((429, Some(MS(2000))))),
            Verdict::Retry {
                retry_after: Some(MS(2000))
            }
        );
        for status in [500, 502, 503, 504, 599] {
            assert_eq!(
                classify(Some((status, Some(MS(9))))),
                Verdict::Retry { retry_after: None },
                "{status}: Retry-After only counts on a 429"
            );
        }
        for status in [400, 401, 403, 404, 409, 499] {
            assert_eq!(classify(Some((status, None))), Verdict::Refused, "{status}");
        }
        for status in [100, 301, 302, 307, 600, 999] {
            assert_eq!(
                classify(Some((status, None))),
                Verdict::Unusable,
                "{status}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = policy();
        assert_eq!(backoff_cap(&p, 1), MS(100));
        assert_eq!(backoff_cap(&p, 2), MS(200));
        assert_eq!(backoff_cap(&p, 3), MS(300));
        assert_eq!(backoff_cap(&p, 40), MS(300));
        assert_eq!(backoff_cap(&p, u32::MAX), MS(300));
        for attempt in 1..40 {
            assert!(full_jitter(backoff_cap(&p, attempt)) <= MS(300));
        }
    }

    #[test]
    fn when_to_wait_and_when_to_give_up() {
        let p = policy();
        let all = |cap| cap;
        assert_eq!(next(&p, 1, None, MS(5000), all), Next::Wait(MS(100)));
        assert_eq!(next(&p, 2, None, MS(5000), all), Next::Wait(MS(200)));
        assert_eq!(
            next(&p, 3, None, MS(5000), all),
            Next::GiveUp(GiveUp::AttemptsExhausted)
        );
        // Retry-After lengthens the wait, and is refused when it does not fit.
        assert_eq!(
            next(&p, 1, Some(MS(1000)), MS(5000), all),
            Next::Wait(MS(1000))
        );
        assert_eq!(
            next(&p, 1, Some(MS(4990)), MS(5000), all),
            Next::GiveUp(GiveUp::RetryAfterTooLong(MS(4990)))
        );
        // No time for the wait plus an attempt.
        assert_eq!(
            next(&p, 1, None, MS(120), all),
            Next::GiveUp(GiveUp::NoTimeLeft)
        );
        // A jitter that overshoots is held to the cap.
        assert_eq!(
            next(&p, 1, None, MS(5000), |_| MS(999)),
            Next::Wait(MS(100))
        );
        // A policy of 0 attempts makes one.
        let once = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        assert_eq!(
            next(&once, 1, None, MS(5000), all),
            Next::GiveUp(GiveUp::AttemptsExhausted)
        );
    }

    /// [`run`] with attempts that answer from `steps` in turn, recording each attempt's number
    /// and timeout.
    async fn run_steps(
        policy: &RetryPolicy,
        deadline: Deadline,
        steps: Vec<Step<&'static str>>,
    ) -> (Result<&'static str, Stopped>, Vec<(u32, Duration)>) {
        let steps = std::sync::Mutex::new(steps.into_iter());
        let seen = std::sync::Mutex::new(Vec::new());
        let result = run(policy, deadline, |n, timeout| {
            if let Ok(mut seen) = seen.lock() {
                seen.push((n, timeout));
            }
            let step = steps.lock().ok().and_then(|mut s| s.next());
            async move { step.unwrap_or(Step::Done("out of steps")) }
        })
        .await;
        (result, seen.into_inner().unwrap_or_default())
    }

    fn retry(failure: &str) -> Step<&'static str> {
        Step::retry(failure.into())
    }

    #[tokio::test]
    async fn the_loop_stops_at_a_result_or_after_the_policys_attempts() {
        let p = RetryPolicy {
            base_delay: MS(1),
            max_delay: MS(2),
            ..policy()
        };
        let soon = || Deadline::after(Duration::from_secs(5));
        let (result, seen) = run_steps(&p, soon(), vec![retry("HTTP 503"), Step::Done("ok")]).await;
        assert_eq!(result, Ok("ok"));
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        // The attempt timeout is the policy's while the deadline is further away.
        assert!(seen.iter().all(|s| s.1 == p.attempt_timeout), "{seen:?}");

        let (result, seen) =
            run_steps(&p, soon(), vec![retry("a"), retry("b"), retry("HTTP 500")]).await;
        assert_eq!(
            result,
            Err(Stopped {
                detail: "HTTP 500 (gave up after 3 attempt(s))".into(),
                attempts: 3
            })
        );
        assert_eq!(seen.len(), 3);
    }

    #[tokio::test]
    async fn the_loop_keeps_to_the_deadline() {
        let p = policy();
        // Nothing left: no attempt.
        let (result, seen) = run_steps(&p, Deadline::at(std::time::Instant::now()), vec![]).await;
        assert_eq!(
            result,
            Err(Stopped {
                detail: "deadline reached before the first attempt".into(),
                attempts: 0
            })
        );
        assert!(seen.is_empty());
        // Less left than the policy's timeout: the attempt gets what is left.
        let (_, seen) = run_steps(&p, Deadline::after(MS(400)), vec![Step::Done("ok")]).await;
        assert!(seen[0].1 <= MS(400) && seen[0].1 > MS(300), "{seen:?}");
        // A Retry-After that does not fit ends the loop at once.
        let asked = Step::Retry {
            failure: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        let (result, seen) = run_steps(&p, Deadline::after(MS(2000)), vec![asked]).await;
        assert_eq!(
            result.map_err(|s| (s.detail, s.attempts)),
            Err((
                "HTTP 429; Retry-After 30s does not fit before the deadline".into(),
                1
            ))
        );
        assert_eq!(seen.len(), 1);
    }
}
