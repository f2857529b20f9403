//! The per-Action QPS limit: at most `limit` calls of one Action per AppId within any `window` (a sliding
//! window of call times). One limiter serves the process ([`global`]); time is an input, so tests can move it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Counts recent calls per (AppId, Action).
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    calls: Mutex<HashMap<(u32, &'static str), VecDeque<Instant>>>,
}

/// Keys kept before idle ones are swept.
const SWEEP_AT: usize = 4096;

impl RateLimiter {
    /// A limiter allowing `limit` calls per `window`.
    pub fn new(limit: usize, window: Duration) -> RateLimiter {
        RateLimiter { limit, window, calls: Mutex::new(HashMap::new()) }
    }

    /// Records a call of `action` by `app_id` at `now` and says whether it is allowed; a refused call is not
    /// counted.
    pub fn check(&self, app_id: u32, action: &'static str, now: Instant) -> bool {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.window;
        let recent = |t: &Instant| now.saturating_duration_since(*t) < window;
        if calls.len() >= SWEEP_AT {
            calls.retain(|_, q| q.back().is_some_and(recent));
        }
        let q = calls.entry((app_id, action)).or_default();
        while q.front().is_some_and(|t| !recent(t)) {
            q.pop_front();
        }
        if q.len() >= self.limit {
            return false;
        }
        q.push_back(now);
        true
    }
}

/// The process's limiter: [`super::QPS_LIMIT`] calls per second.
pub fn global() -> &'static RateLimiter {
    static CELL: OnceLock<RateLimiter> = OnceLock::new();
    CELL.get_or_init(|| RateLimiter::new(super::QPS_LIMIT, Duration::from_secs(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_call_within_a_second_is_refused_until_the_window_slides() {
        let l = RateLimiter::new(10, Duration::from_secs(1));
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        for i in 0..10 {
            assert!(l.check(7, "GetTimbreList", ms(i * 50)), "call {i}");
        }
        assert!(!l.check(7, "GetTimbreList", ms(500)), "the 11th call within one second");
        assert!(!l.check(7, "GetTimbreList", ms(999)), "still within a second of the first call");
        // Other Actions and other AppIds have their own budgets.
        assert!(l.check(7, "GetDigitalHumanInfo", ms(999)));
        assert!(l.check(8, "GetTimbreList", ms(999)));
        // One second after the first call, its slot is free again (and only its slot).
        assert!(l.check(7, "GetTimbreList", ms(1000)));
        assert!(!l.check(7, "GetTimbreList", ms(1010)));
        assert!(l.check(7, "GetTimbreList", ms(1050)));
        // A quiet second frees them all.
        for i in 0..10 {
            assert!(l.check(7, "GetTimbreList", ms(3000 + i)), "call {i} after a pause");
        }
        assert!(!l.check(7, "GetTimbreList", ms(3010)));
    }

    #[test]
    fn idle_keys_are_swept() {
        let l = RateLimiter::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        for app in 0..SWEEP_AT as u32 {
            assert!(l.check(app, "GetTimbreList", t0));
        }
        assert!(l.check(u32::MAX, "GetTimbreList", t0 + Duration::from_secs(2)));
        assert_eq!(l.calls.lock().unwrap().len(), 1);
    }
}
