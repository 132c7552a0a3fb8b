//! Number normalisation: no input panics, what is accepted obeys the invariant (7 to 15 ASCII
//! digits, first not 0) and round-trips through `from_provider` and `+<digits>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::msisdn::{mask, Msisdn, Region};

const REGIONS: [&str; 6] = ["US", "GB", "DE", "IN", "BR", "JP"];

fn check(m: &Msisdn) {
    let s = m.as_str();
    assert!(
        (7..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
    );
    assert_eq!(Msisdn::from_provider(s).as_ref(), Ok(m));
    assert_eq!(Msisdn::from_provider(&format!("+{s}")).as_ref(), Ok(m));
}

fuzz_target!(|data: &[u8]| {
    // The phone-number library may panic on some inputs; `Msisdn::parse` catches those. Keep the
    // fuzzer's abort-on-panic hook from firing for panics that are caught.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));

    let Some((&r, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let _ = mask(&text);
    if let Ok(m) = Msisdn::from_provider(&text) {
        check(&m);
    }
    let Ok(region) = REGIONS[usize::from(r) % REGIONS.len()].parse::<Region>() else {
        return;
    };
    if let Ok(m) = Msisdn::parse(&text, region) {
        check(&m);
        assert_eq!(
            Msisdn::parse(&format!("+{}", m.as_str()), Region::US).as_ref(),
            Ok(&m)
        );
    }
});
