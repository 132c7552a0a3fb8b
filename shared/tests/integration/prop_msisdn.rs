//! Property tests of number normalisation (`shared::domain::msisdn`): `from_provider` and `parse` never
//! panic on any input, what they accept obeys the invariant (7 to 15 ASCII digits, first not 0),
//! and accepted values round-trip: the digits, with or without `+`, give the same number back.

use proptest::prelude::*;
use shared::domain::msisdn::{mask, Msisdn, Region};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn id(code: &str) -> Region {
    code.parse().expect("a region with metadata")
}

fn region() -> impl Strategy<Value = Region> {
    proptest::sample::select(
        [
            "US", "CA", "GB", "DE", "FR", "IN", "AU", "BR", "JP", "MX", "NL", "ZA",
        ]
        .map(id)
        .to_vec(),
    )
}

/// What people type: digits in groups with separators, maybe a `+` or an international prefix.
fn phone_like() -> impl Strategy<Value = String> {
    let group = "[0-9]{1,4}";
    let separator = prop_oneof![
        Just(" "),
        Just("-"),
        Just("."),
        Just("/"),
        Just(""),
        Just("("),
        Just(")")
    ];
    (
        prop_oneof![
            Just(""),
            Just("+"),
            Just("00"),
            Just("011"),
            Just("+1 "),
            Just("+44 ")
        ],
        proptest::collection::vec((group, separator), 1..6),
    )
        .prop_map(|(prefix, groups)| {
            let mut s = prefix.to_string();
            for (g, sep) in groups {
                s.push_str(&g);
                s.push_str(sep);
            }
            s
        })
}

fn invariant_holds(m: &Msisdn) -> bool {
    let s = m.as_str();
    (7..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn from_provider_never_panics_and_round_trips(raw in prop_oneof![any::<String>(), "[+ ]?[0-9]{0,18} ?"]) {
        if let Ok(m) = Msisdn::from_provider(&raw) {
            prop_assert!(invariant_holds(&m), "{:?}", m.as_str());
            prop_assert_eq!(Msisdn::from_provider(m.as_str()), Ok(m.clone()));
            prop_assert_eq!(Msisdn::from_provider(&format!("+{}", m.as_str())), Ok(m.clone()));
            // Masked forms never show more than the last 4 digits.
            prop_assert!(m.masked().ends_with(&m.as_str()[m.as_str().len() - 4..]));
            prop_assert_eq!(m.masked().chars().filter(char::is_ascii_digit).count(), 4);
        }
        let _ = mask(&raw);
    }

    #[test]
    fn every_e164_shape_is_accepted_from_the_provider(digits in "[1-9][0-9]{6,14}", plus in any::<bool>()) {
        let raw = if plus { format!(" +{digits} ") } else { digits.clone() };
        let m = Msisdn::from_provider(&raw);
        prop_assert!(m.is_ok(), "{:?}", m);
        let m = m.expect("checked");
        prop_assert_eq!(m.as_str(), digits.as_str());
    }

    #[test]
    fn parse_never_panics_and_accepted_numbers_round_trip(
        input in prop_oneof![any::<String>(), phone_like(), "\\+?[0-9]{4,20}"],
        region in region(),
    ) {
        if let Ok(m) = Msisdn::parse(&input, region) {
            prop_assert!(invariant_holds(&m), "{:?} -> {:?}", input, m.as_str());
            // The stored digits are a valid E.164 number whatever the region...
            for other in [id("US"), id("GB"), id("DE")] {
                prop_assert_eq!(Msisdn::parse(&format!("+{}", m.as_str()), other), Ok(m.clone()));
            }
            // ...and what the provider sends for it is the same number.
            prop_assert_eq!(Msisdn::from_provider(m.as_str()), Ok(m.clone()));
        }
    }

    #[test]
    fn valid_us_numbers_parse_in_any_common_format(area in proptest::sample::select(vec!["212", "415", "617", "312", "206"]), line in 100u32..200) {
        let expected = format!("1{area}555{:04}", line);
        for written in [
            format!("+1 ({area}) 555-{:04}", line),
            format!("{area}-555-{:04}", line),
            format!("1 {area} 555 {:04}", line),
            format!("+1.{area}.555.{:04}", line),
            format!("011 1 {area} 555 {:04}", line),
        ] {
            let m = Msisdn::parse(&written, Region::US);
            prop_assert!(m.is_ok(), "{:?}: {:?}", written, m);
            let m = m.expect("checked");
            prop_assert_eq!(m.as_str(), expected.as_str());
        }
    }
}
