//! Latency summaries.

use serde::Serialize;
use std::time::Duration;

/// Milliseconds, nearest-rank percentiles.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: usize,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Summary {
        Summary::of_ms(samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect())
    }

    /// The same from milliseconds, which may be negative (differences of two latencies).
    pub fn of_ms(mut ms: Vec<f64>) -> Summary {
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| -> f64 {
            if ms.is_empty() {
                return f64::NAN;
            }
            // Nearest rank: the smallest value with at least p% of the samples at or below it.
            let index = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[index.clamp(1, ms.len()) - 1]
        };
        let mean = if ms.is_empty() {
            f64::NAN
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        };
        Summary {
            count: ms.len(),
            min_ms: rank(0.0),
            p50_ms: rank(50.0),
            p90_ms: rank(90.0),
            p99_ms: rank(99.0),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
            mean_ms: mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&samples);
        assert_eq!(s.count, 100);
        assert_eq!(s.min_ms, 1.0);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
        let one = Summary::of(&[Duration::from_millis(3)]);
        assert_eq!((one.p50_ms, one.p99_ms), (3.0, 3.0));
        let differences = Summary::of_ms(vec![2.0, -1.0, 0.5]);
        assert_eq!(
            (differences.min_ms, differences.p50_ms, differences.max_ms),
            (-1.0, 0.5, 2.0)
        );
    }
}
