//! Phone numbers ("MSISDNs"), normalised to E.164 digits without the `+`, and masked in logs.
//! [`Msisdn`] is the only way a number enters storage:
//!
//! - [`Msisdn::from_provider`] for numbers Vonage sends: lenient (7 to 15 ASCII digits, first not
//!   0, optional `+`), because a STOP must never be dropped for an unusual number.
//! - [`Msisdn::parse`] for what a person types on the website: valid per libphonenumber's
//!   metadata (docs/decisions/0010-phone-number-library.md), so typos are caught before Vonage
//!   sees them; no letters or extensions: the number must be reachable by SMS as written.
//!
//! `Display` and `Debug` print the masked form (`*******0100`); [`Msisdn::as_str`] is for storage,
//! API calls and responses only, [`mask`] for raw input. `rlibphonenumber` writes `log` records
//! with digits: filter out its target before ever bridging `log` into our JSON logs.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use rlibphonenumber::{CountryCodeSource, PhoneNumberFormat, PHONE_NUMBER_UTIL};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

/// Fewest digits an E.164 number can have (country code included), e.g. some Pacific islands.
const MIN_DIGITS: usize = 7;
/// Most digits an E.164 number can have (ITU-T E.164), country code included.
const MAX_DIGITS: usize = 15;
/// Longest website input considered at all (characters); anything longer is not a phone number.
const MAX_INPUT_CHARS: usize = 64;
/// Most digits accepted in website input: 15 plus an international prefix (e.g. `0011`, `00xx`).
const MAX_INPUT_DIGITS: usize = 20;
/// Fewer digits than this cannot be a number in any region, even without a country code.
const MIN_INPUT_DIGITS: usize = 4;

/// The region whose conventions apply to a number written without a country code: an ISO 3166-1
/// alpha-2 code such as `US` or `GB` (`DEFAULT_COUNTRY`, `--country`). Parse one with
/// [`str::parse`]; only regions the phone-number metadata knows are accepted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(rlibphonenumber::Region);

impl Region {
    /// The United States: the default when nothing else is configured.
    pub const US: Region = Region(rlibphonenumber::Region::US);

    /// Whether the region's country calling code is 1 (the North American Numbering Plan).
    fn is_nanp(self) -> bool {
        let code = self.0.as_region_str();
        NANP_REGIONS.split(' ').any(|r| r == code.as_str())
    }

    /// The two-letter code, e.g. `"US"`.
    pub fn code(self) -> String {
        self.0.as_region_str().as_str().to_owned()
    }
}

/// The regions `rlibphonenumber` has metadata for (a unit test keeps this equal to its
/// `get_supported_regions`): `Region::from_code` accepts any two letters, and asking the library
/// would build all its metadata during init, where `DEFAULT_COUNTRY` is read.
const REGIONS_WITH_METADATA: &str = "AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE \
    BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV \
    CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
    GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG \
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN \
    MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK \
    PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV \
    SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU \
    WF WS XK YE YT ZA ZM ZW";

/// The regions of country calling code 1 (a unit test keeps this equal to the library's list).
const NANP_REGIONS: &str =
    "US AG AI AS BB BM BS CA DM DO GD GU JM KN KY LC MP MS PR SX TC TT VC VG VI";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO 3166 country code with phone-number metadata")]
pub struct UnknownRegion;

impl FromStr for Region {
    type Err = UnknownRegion;

    /// Two ASCII letters, any case, of a region in [`REGIONS_WITH_METADATA`].
    fn from_str(code: &str) -> Result<Region, UnknownRegion> {
        let code = code.to_ascii_uppercase();
        if code.len() != 2 || !REGIONS_WITH_METADATA.split(' ').any(|known| known == code) {
            return Err(UnknownRegion);
        }
        rlibphonenumber::Region::from_code(&code)
            .map(Region)
            .map_err(|_| UnknownRegion)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_region_str().as_str())
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_region_str().as_str())
    }
}

/// A phone number as E.164 digits without '+', e.g. "14155550100". Invariant: 7 to 15 ASCII
/// digits, the first not `0`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

/// Why a string is not an acceptable phone number. Messages never contain the input number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MsisdnError {
    /// Nothing but white space (or a lone `+`).
    #[error("the phone number is empty")]
    Empty,
    /// Letters, extensions or symbols other than digits, spaces, `+` and `- . ( ) /`.
    #[error(
        "not a phone number: use only digits, spaces, a leading '+' and - . ( ) / \
         (no letters or extensions)"
    )]
    NotANumber,
    /// A provider number (E.164 digits) starting with 0: E.164 starts with a country code,
    /// and no country code starts with 0.
    #[error("the phone number must start with a country code, which never starts with 0")]
    LeadingZero,
    /// Too few or too many digits to be a phone number at all.
    #[error("a phone number has {MIN_DIGITS} to {MAX_DIGITS} digits including the country code; this one has {digits}")]
    WrongLength {
        /// How many digits the input had (not which).
        digits: usize,
    },
    /// Far longer than any way of writing a phone number.
    #[error("the input is too long to be a phone number")]
    TooLong,
    /// The country calling code after `+` (or an international prefix) does not exist.
    #[error("the country calling code does not exist")]
    InvalidCountryCode,
    /// Well-formed, but not a number that can exist in that country.
    #[error(
        "not a valid phone number for {region}; check the digits, and write numbers from another \
         country with their country code (e.g. +44)"
    )]
    InvalidForRegion {
        /// `US`-style region id or `+44`-style country calling code; never the number.
        region: String,
    },
}

impl Msisdn {
    /// As Vonage sends it (webhooks, its opt-out list): E.164 digits, a leading '+' and
    /// surrounding whitespace tolerated. Lenient on purpose (module docs).
    pub fn from_provider(raw: &str) -> Result<Msisdn, MsisdnError> {
        let trimmed = raw.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if digits.is_empty() {
            return Err(MsisdnError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MsisdnError::NotANumber);
        }
        Self::from_digits(digits)
    }

    /// Any common human format ("+1 (415) 555-0100", "415-555-0100", "0044 20 7946 0958"); numbers
    /// without a country code use `default_region`. Must be *valid* per libphonenumber's metadata.
    /// NFKC-normalised first, so full-width digits and `＋` work.
    pub fn parse(input: &str, default_region: Region) -> Result<Msisdn, MsisdnError> {
        Self::parse_with(input, default_region, true)
    }

    /// [`Msisdn::parse`], with or without the North American path (`nanp_digits`): a test
    /// holds the two to the same answers.
    fn parse_with(input: &str, default_region: Region, nanp: bool) -> Result<Msisdn, MsisdnError> {
        let normalized = nfkc(input);
        let text = normalized.trim();
        if text.is_empty() {
            return Err(MsisdnError::Empty);
        }
        if text.chars().count() > MAX_INPUT_CHARS {
            return Err(MsisdnError::TooLong);
        }

        let (international, body) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = String::with_capacity(body.len());
        for c in body.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !is_separator(c) {
                return Err(MsisdnError::NotANumber);
            }
        }
        if digits.is_empty() {
            return Err(if international {
                MsisdnError::Empty
            } else {
                MsisdnError::NotANumber
            });
        }
        if digits.len() < MIN_INPUT_DIGITS || digits.len() > MAX_INPUT_DIGITS {
            return Err(MsisdnError::WrongLength {
                digits: digits.len(),
            });
        }

        if let Some(ten) = nanp_digits(&digits, international, default_region).filter(|_| nanp) {
            // Labelled as the library's path labels an invalid number.
            return parse_nanp(ten, || match international {
                true => "+1".into(),
                false => default_region.code(),
            });
        }
        if international {
            return parse_international(&digits, nanp);
        }
        // National forms, and the region's own international prefix (`011 44 …` in the US).
        let national = parse_national(&digits, default_region, nanp);
        match national {
            Err(MsisdnError::InvalidForRegion { .. }) | Err(MsisdnError::WrongLength { .. }) => {
                // "0044 …" where the region's prefix is not 00: 00 is the international prefix in
                // most of the world, and no valid national number of such a region starts with it.
                match digits.strip_prefix("00") {
                    Some(rest) if !rest.starts_with('0') => {
                        parse_international(rest, nanp).or(national)
                    }
                    _ => national,
                }
            }
            other => other,
        }
    }

    /// The numbers a caller may mean when *reading* (status lookups, the send-time check): the
    /// strict reading ([`Msisdn::parse`]) and the E.164 one ([`Msisdn::from_provider`]), each when
    /// it exists, distinct, strict first; when neither exists, the strict reading's error.
    ///
    /// Why both: the webhook records numbers in the lenient form, and a number on record must be
    /// readable as `/opt-outs` lists it, or a caller treating "not opted out" as "may send" would
    /// text someone who said stop. Bare digits can mean two numbers (`4155550100`); the read
    /// routes answer for the one on record, an opt-out first.
    pub fn readings(input: &str, default_region: Region) -> Result<Vec<Msisdn>, MsisdnError> {
        let strict = Self::parse(input, default_region);
        let provider = Self::from_provider(&nfkc(input)).ok();
        match (strict, provider) {
            (Ok(a), Some(b)) if a != b => Ok(vec![a, b]),
            (Ok(a), _) => Ok(vec![a]),
            (Err(_), Some(b)) => Ok(vec![b]),
            (Err(e), None) => Err(e),
        }
    }

    /// Full digits: storage and API responses only. Never log this.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// All but the last 4 digits replaced by '*', e.g. "*******0100".
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Checks the invariant on ASCII digits.
    fn from_digits(digits: &str) -> Result<Msisdn, MsisdnError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(MsisdnError::WrongLength {
                digits: digits.len(),
            });
        }
        if digits.starts_with('0') {
            return Err(MsisdnError::LeadingZero);
        }
        Ok(Msisdn(digits.to_owned()))
    }
}

/// Mask unparsed input like [`Msisdn::masked`]: keep the last 4 `char`s, the others '*'. Control
/// characters among the kept 4 become `?` so a masked value cannot break a log line.
pub fn mask(raw: &str) -> String {
    let keep_from = raw.chars().count().saturating_sub(4);
    raw.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_from {
                '*'
            } else if c.is_control() {
                '?'
            } else {
                c
            }
        })
        .collect()
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Msisdn").field(&self.masked()).finish()
    }
}

impl Serialize for Msisdn {
    /// The full digits, as a string: API bodies need the real number.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Msisdn {
    /// A string (or a JSON integer) validated with [`Msisdn::from_provider`]; the error never
    /// contains the number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MsisdnVisitor;

        impl Visitor<'_> for MsisdnVisitor {
            type Value = Msisdn;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a phone number as a string of E.164 digits")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Msisdn, E> {
                Msisdn::from_provider(value).map_err(E::custom)
            }

            // Integers are accepted (same rules as the string form). Overridden so the default
            // "invalid type: integer `…`" error, which would quote the number, never appears.
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Msisdn, E> {
                Msisdn::from_provider(&value.to_string()).map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Msisdn, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::custom(MsisdnError::NotANumber)),
                }
            }

            fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Msisdn, E> {
                Err(E::custom(MsisdnError::NotANumber))
            }
        }

        // `deserialize_any` so numbers reach the visitor above: with `deserialize_str`,
        // serde_json reports a JSON number with its value in the error message.
        deserializer.deserialize_any(MsisdnVisitor)
    }
}

/// NFKC, which leaves ASCII as it is (the common case, then not copied).
fn nfkc(input: &str) -> std::borrow::Cow<'_, str> {
    if input.is_ascii() {
        std::borrow::Cow::Borrowed(input)
    } else {
        std::borrow::Cow::Owned(input.nfkc().collect())
    }
}

/// The ten digits of a North American number written in full: `+1` and ten digits, or, where
/// the default region's country code is 1, ten digits or `1` and ten digits; the first of the
/// ten 2-9. libphonenumber reads each of these as country code 1 with those ten digits as the
/// national number (no trunk prefix or international prefix left to strip), so its parse, most
/// of a website number's CPU, is skipped; its validity check still decides. A property test
/// holds this path to the library's own parse.
fn nanp_digits(digits: &str, international: bool, region: Region) -> Option<&str> {
    let ten = match digits.len() {
        11 => digits.strip_prefix('1')?,
        10 if !international => digits,
        _ => return None,
    };
    if !matches!(ten.as_bytes().first(), Some(b'2'..=b'9')) {
        return None;
    }
    if !international && !region.is_nanp() {
        return None;
    }
    Some(ten)
}

/// The library's metadata of the regions of country code 1, as rlibphonenumber ships it
/// (`shared/data/README.md`): a util of their own is built in 0.7 ms where the library's whole
/// one takes 3-4 ms, which the first North American number after a cold start would wait for.
static NANP_METADATA: &[u8] = include_bytes!("../../data/nanp-metadata.bin");

fn nanp_util() -> &'static rlibphonenumber::PhoneNumberUtil {
    use prost::Message;
    static UTIL: std::sync::OnceLock<Option<rlibphonenumber::PhoneNumberUtil>> =
        std::sync::OnceLock::new();
    UTIL.get_or_init(|| {
        let metadata = rlibphonenumber::PhoneMetadataCollection::decode(NANP_METADATA).ok()?;
        rlibphonenumber::PhoneNumberUtil::new_for_metadata(metadata).ok()
    })
    .as_ref()
    // Cannot happen (a test decodes it); the library's own util then. Lazily: taking its
    // reference builds it.
    .unwrap_or_else(|| &PHONE_NUMBER_UTIL)
}

/// `+1` and `ten`, if libphonenumber's metadata holds it valid (the US first: the library's own
/// first region for country code 1, so a US number is decided in one type check).
fn parse_nanp(ten: &str, region_label: impl FnOnce() -> String) -> Result<Msisdn, MsisdnError> {
    let national_number = ten.parse::<u64>().map_err(|_| MsisdnError::NotANumber)?;
    let number = rlibphonenumber::PhoneNumber {
        country_code: 1,
        national_number,
        ..Default::default()
    };
    let valid = catch_unwind(|| {
        let util = nanp_util();
        util.is_valid_number_for_region(&number, rlibphonenumber::Region::US)
            || util.is_valid_number(&number)
    });
    match valid {
        Ok(true) => Msisdn::from_digits(&format!("1{ten}")),
        Ok(false) => Err(MsisdnError::InvalidForRegion {
            region: region_label(),
        }),
        Err(_panic) => Err(MsisdnError::NotANumber),
    }
}

/// Characters people put between digits. `+` is handled separately (leading only).
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}'
        )
}

/// What the library made of a string, extracted inside `catch_unwind`.
struct Parsed {
    code: i32,
    /// The country code followed the region's international prefix (`011 44 …`).
    after_idd: bool,
    valid: bool,
    has_extension: bool,
    e164: String,
}

/// Parse, validity and E.164 formatting with `rlibphonenumber` (`util`: the library's whole one
/// or the North American regions' own), whose internal `unwrap`s and `expect`s could panic: a
/// panic is reported as [`MsisdnError::NotANumber`].
fn run_library(
    util: &rlibphonenumber::PhoneNumberUtil,
    region: Option<Region>,
    text: &str,
) -> Result<Parsed, MsisdnError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        util.parse_and_keep_raw_input(text, region.map(|r| r.0))
            .map(|number| Parsed {
                code: number.country_code,
                after_idd: number.country_code_source() == CountryCodeSource::FromNumberWithIdd,
                valid: util.is_valid_number(&number),
                has_extension: number.extension.as_deref().is_some_and(|e| !e.is_empty()),
                e164: util.format(&number, PhoneNumberFormat::E164).into_owned(),
            })
    }));
    match outcome {
        Ok(Ok(parsed)) if parsed.has_extension => Err(MsisdnError::NotANumber),
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(error)) => Err(map_parse_error(&error, text)),
        Err(_panic) => Err(MsisdnError::NotANumber),
    }
}

fn map_parse_error(error: &rlibphonenumber::ParseError, text: &str) -> MsisdnError {
    use rlibphonenumber::ParseError as P;
    match error {
        P::InvalidCountryCode => MsisdnError::InvalidCountryCode,
        P::TooShortAfterIdd | P::TooShortNsn | P::TooLongNsn => MsisdnError::WrongLength {
            digits: text.bytes().filter(u8::is_ascii_digit).count(),
        },
        P::NotANumber(_) => MsisdnError::NotANumber,
    }
}

/// A valid, extension-free parse → its E.164 digits as an [`Msisdn`].
fn finish(parsed: Parsed, region_label: impl FnOnce() -> String) -> Result<Msisdn, MsisdnError> {
    if !parsed.valid {
        return Err(MsisdnError::InvalidForRegion {
            region: region_label(),
        });
    }
    let digits = parsed.e164.strip_prefix('+').unwrap_or(&parsed.e164);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MsisdnError::NotANumber);
    }
    Msisdn::from_digits(digits)
}

/// `digits` start with a country code (the `+` or international prefix already removed). With
/// `nanp`, one starting with 1 is read by the North American regions' util: no other country
/// code starts with 1, and the library reads such a number with their metadata alone.
fn parse_international(digits: &str, nanp: bool) -> Result<Msisdn, MsisdnError> {
    let util = match nanp && digits.starts_with('1') {
        true => nanp_util(),
        false => &*PHONE_NUMBER_UTIL,
    };
    let parsed = run_library(util, None, &format!("+{digits}"))?;
    let code = parsed.code;
    finish(parsed, || format!("+{code}"))
}

/// `digits` are written the way `region` writes them: a national number, possibly starting with
/// the region's own country code or its international prefix and another country code. With
/// `nanp`, in a North American region, its regions' util reads it first (so that a number the
/// fast path does not take, say nine digits, does not wait for the library's whole metadata);
/// only a number after the international prefix with another country code is not in it
/// (`InvalidCountryCode`), and goes to the library's whole util.
fn parse_national(digits: &str, region: Region, nanp: bool) -> Result<Msisdn, MsisdnError> {
    if nanp && region.is_nanp() {
        match run_library(nanp_util(), Some(region), digits) {
            Err(MsisdnError::InvalidCountryCode) => {}
            read => return finish_national(read?, region, 1),
        }
    }
    let expected_code = catch_unwind(|| PHONE_NUMBER_UTIL.get_country_code_for_region(region.0))
        .ok()
        .flatten();
    let parsed = run_library(&PHONE_NUMBER_UTIL, Some(region), digits)?;
    match expected_code {
        Some(code) => finish_national(parsed, region, code),
        None => Err(MsisdnError::InvalidForRegion {
            region: region.code(),
        }),
    }
}

/// A national reading's answer; `expected_code` is the region's country code.
fn finish_national(
    parsed: Parsed,
    region: Region,
    expected_code: i32,
) -> Result<Msisdn, MsisdnError> {
    let code = parsed.code;
    if parsed.after_idd {
        // `011 44 …` in the US: a number written with its country code, labelled by it.
        return finish(parsed, || format!("+{code}"));
    }
    if expected_code != code {
        // The library found a foreign country code by a route we did not anticipate; do not
        // trust its reading of a number the person wrote as national.
        return Err(MsisdnError::InvalidForRegion {
            region: region.code(),
        });
    }
    finish(parsed, || region.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regions the tables use, by their usual names.
    mod country {
        use super::Region;
        pub const US: Region = Region::US;
        pub const CA: Region = Region(rlibphonenumber::Region::CA);
        pub const GB: Region = Region(rlibphonenumber::Region::GB);
        pub const DE: Region = Region(rlibphonenumber::Region::DE);
        pub const BR: Region = Region(rlibphonenumber::Region::BR);
    }

    fn ok(input: &str, region: Region) -> String {
        match Msisdn::parse(input, region) {
            Ok(m) => m.as_str().to_owned(),
            Err(e) => panic!("{input:?} ({region:?}) rejected: {e}"),
        }
    }

    /// `data/nanp-metadata.bin` is exactly the country code 1 part of the metadata of the
    /// rlibphonenumber this build links (found with `cargo metadata`), in the library's order.
    /// `NANP_METADATA_WRITE=1` rewrites it (after a library upgrade).
    #[test]
    fn nanp_metadata_is_the_linked_library_s() {
        use prost::Message;
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--offline", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
        let manifest = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "rlibphonenumber")
            .and_then(|p| p["manifest_path"].as_str())
            .expect("rlibphonenumber in the dependency graph");
        let library =
            std::path::Path::new(manifest).with_file_name("src/generated/metadata/metadata.bin");
        let all = std::fs::read(&library).expect("the library's metadata");
        let mut nanp =
            rlibphonenumber::PhoneMetadataCollection::decode(all.as_slice()).expect("decodes");
        nanp.metadata.retain(|m| m.country_code == Some(1));
        let expected = nanp.encode_to_vec();
        if std::env::var_os("NANP_METADATA_WRITE").is_some() {
            let ours =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/nanp-metadata.bin");
            std::fs::write(ours, &expected).expect("written");
        } else {
            assert!(
                NANP_METADATA == expected.as_slice(),
                "data/nanp-metadata.bin is not the linked rlibphonenumber's: \
                 rerun this test with NANP_METADATA_WRITE=1"
            );
        }
        let util = nanp_util();
        assert!(
            !std::ptr::eq(util, &*PHONE_NUMBER_UTIL),
            "the subset decodes"
        );
        let mut regions: Vec<String> = util
            .get_supported_regions()
            .map(|r| r.as_region_str().as_str().to_owned())
            .collect();
        regions.sort();
        let mut ours: Vec<&str> = NANP_REGIONS.split(' ').collect();
        ours.sort();
        assert_eq!(ours, regions);
    }

    #[test]
    fn nanp_regions_are_the_metadata_s() {
        let mut nanp: Vec<String> = PHONE_NUMBER_UTIL
            .get_regions_for_country_calling_code(1)
            .into_iter()
            .flatten()
            .map(|r| r.as_region_str().as_str().to_owned())
            .collect();
        assert_eq!(nanp.first().map(String::as_str), Some("US"), "the US first");
        nanp.sort();
        let mut ours: Vec<&str> = NANP_REGIONS.split(' ').collect();
        ours.sort();
        assert_eq!(ours, nanp);
    }

    /// The North American path answers exactly as the library's parse: every ten digits' first
    /// three and last digit varied (all area codes and exchanges, valid or not), in each way of
    /// writing them, in NANP and other default regions.
    #[test]
    fn the_north_american_path_answers_as_the_library_does() {
        let regions = [country::US, country::CA, country::GB, country::DE];
        let mut checked = 0;
        let mut valid = 0;
        let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
        for area in 100..1000u32 {
            for _ in 0..2 {
                let rest = rng.u64(..10_000_000);
                let ten = format!("{area}{rest:07}");
                let forms = [
                    format!("+1{ten}"),
                    format!("+1 ({}) {}-{}", &ten[..3], &ten[3..6], &ten[6..]),
                    ten.clone(),
                    format!("1{ten}"),
                    format!("1-{}-{}-{}", &ten[..3], &ten[3..6], &ten[6..]),
                    format!("{}.{}.{}", &ten[..3], &ten[3..6], &ten[6..]),
                ];
                for form in &forms {
                    for region in regions {
                        let fast = Msisdn::parse_with(form, region, true);
                        let library = Msisdn::parse_with(form, region, false);
                        assert_eq!(fast, library, "{form} in {region}");
                        valid += usize::from(fast.is_ok());
                        checked += 1;
                    }
                }
            }
        }
        // Both answers occur: the comparison is not between two refusals.
        assert!(
            valid > checked / 10 && valid < checked,
            "{valid} of {checked}"
        );
    }

    /// What the fast path leaves to the library, read with the North American regions' util
    /// where it applies, answers exactly as the library's whole util: digits of every length
    /// the parse accepts, after no prefix, a trunk or country code 1, the US's and most of the
    /// world's international prefixes, or `+` with country code 1 or another.
    #[test]
    fn the_north_american_util_answers_as_the_library_does() {
        let regions = [country::US, country::CA, country::GB, country::DE];
        let prefixes = [
            "", "1", "0", "011", "0111", "01144", "00", "001", "0044", "+", "+1", "+44", "+10",
        ];
        let (mut checked, mut valid, mut foreign) = (0, 0, 0);
        let mut rng = fastrand::Rng::with_seed(0x2545_f491_4f6c_dd1d);
        for round in 0..60 {
            for prefix in prefixes {
                let length = 5 + round % 9;
                let digits = format!("{:015}", rng.u64(..1_000_000_000_000_000));
                let input = format!("{prefix}{}", &digits[15 - length..]);
                for region in regions {
                    let nanp = Msisdn::parse_with(&input, region, true);
                    let library = Msisdn::parse_with(&input, region, false);
                    assert_eq!(nanp, library, "{input} in {region}");
                    valid += usize::from(nanp.is_ok());
                    foreign +=
                        usize::from(nanp.as_ref().is_ok_and(|m| !m.as_str().starts_with('1')));
                    checked += 1;
                }
            }
        }
        // Valid numbers of country code 1 and of others both occur, and refusals.
        assert!(
            foreign > 0 && valid > foreign && valid < checked,
            "{valid} ({foreign} foreign) of {checked}"
        );
    }

    #[test]
    fn region_list_matches_the_metadata() {
        let mut supported: Vec<String> = PHONE_NUMBER_UTIL
            .get_supported_regions()
            .map(|r| r.as_region_str().as_str().to_owned())
            .collect();
        supported.sort();
        assert_eq!(REGIONS_WITH_METADATA, supported.join(" "));
        assert_eq!("us".parse(), Ok(Region::US));
        assert_eq!(
            "GB".parse::<Region>().map(Region::code),
            Ok("GB".to_owned())
        );
        for bad in ["", "U", "USA", "XX", "ZZ", "001", "1A", "U\u{301}"] {
            assert_eq!(bad.parse::<Region>(), Err(UnknownRegion), "{bad:?}");
        }
    }

    #[test]
    fn parse_accepts_common_formats() {
        use country::{CA, DE, GB, US};
        let table: &[(&str, Region, &str)] = &[
            // The brief's examples.
            ("+1 (415) 555-0100", US, "14155550100"),
            ("415-555-0100", US, "14155550100"),
            ("0044 20 7946 0958", US, "442079460958"),
            ("+44 20 7946 0958", US, "442079460958"),
            // More US spellings.
            ("(415) 555-0100", US, "14155550100"),
            ("415.555.0100", US, "14155550100"),
            ("4155550100", US, "14155550100"),
            ("14155550100", US, "14155550100"),
            ("1 415 555 0100", US, "14155550100"),
            ("1-415-555-0100", US, "14155550100"),
            ("+14155550100", US, "14155550100"),
            ("+1 415 555 01 00", US, "14155550100"),
            ("  +1 415 555 0100\n", US, "14155550100"),
            ("+1\u{a0}415\u{2013}555\u{2013}0100", US, "14155550100"),
            ("\u{ff0b}\u{ff11} 415 555 0100", US, "14155550100"),
            (
                "\u{ff14}\u{ff11}\u{ff15}\u{ff15}\u{ff15}\u{ff15}\u{ff10}\u{ff11}\u{ff10}\u{ff10}",
                US,
                "14155550100",
            ),
            // Fictional 555-01xx numbers with real area codes are valid.
            ("212 555 0123", US, "12125550123"),
            ("+1 800 555 0199", US, "18005550199"),
            ("+1 415 555 1234", US, "14155551234"),
            // Canada shares +1.
            ("416 555 0100", CA, "14165550100"),
            ("+1 415 555 0100", CA, "14155550100"),
            // US international prefix 011.
            ("011 44 20 7946 0958", US, "442079460958"),
            ("011 49 151 12345678", US, "4915112345678"),
            // Foreign numbers with a country code keep all their digits (phonenumber 0.3, used
            // before, would strip the US national prefix "1" from "+49 151…" if given region US).
            ("+49 151 12345678", US, "4915112345678"),
            ("+4917612345678", US, "4917612345678"),
            ("+86 138 1234 5678", US, "8613812345678"),
            ("+55 11 98765 4321", US, "5511987654321"),
            ("+44 (0)20 7946 0958", US, "442079460958"),
            ("+61 4 1234 5678", US, "61412345678"),
            ("+39 06 1234 5678", US, "390612345678"),
            // National formats of other regions.
            ("020 7946 0958", GB, "442079460958"),
            ("07911 123456", GB, "447911123456"),
            ("0044 20 7946 0958", GB, "442079460958"),
            ("+1 415 555 0100", GB, "14155550100"),
            ("00 1 415 555 0100", GB, "14155550100"),
            ("0151 12345678", DE, "4915112345678"),
            ("030/123456", DE, "4930123456"),
        ];
        for (input, region, expected) in table {
            assert_eq!(
                ok(input, *region),
                *expected,
                "input {input:?} ({region:?})"
            );
        }
    }

    #[test]
    fn parse_rejects_bad_input() {
        use country::{GB, US};
        use MsisdnError::*;
        let region = |r: &str| InvalidForRegion {
            region: r.to_owned(),
        };
        let table: Vec<(&str, Region, MsisdnError)> = vec![
            ("", US, Empty),
            ("   \t\n", US, Empty),
            ("+", US, Empty),
            ("+ ", US, Empty),
            ("---", US, NotANumber),
            ("abc", US, NotANumber),
            ("four one five", US, NotANumber),
            ("1-800-FLOWERS", US, NotANumber),
            ("415-555-0100 ext. 12", US, NotANumber),
            ("415-555-0100x12", US, NotANumber),
            ("+1 415 555 0100;ext=5", US, NotANumber),
            ("tel:+1-415-555-0100", US, NotANumber),
            ("+1 415 555 0100 hello", US, NotANumber),
            ("415#555#0100", US, NotANumber),
            ("1+4155550100", US, NotANumber),
            ("++14155550100", US, NotANumber),
            ("\u{661}\u{664}\u{661}\u{665}", US, NotANumber), // Arabic-Indic digits
            ("123", US, WrongLength { digits: 3 }),
            ("+1 2", US, WrongLength { digits: 2 }),
            ("1234567890123456789012", US, WrongLength { digits: 22 }),
            (
                "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5",
                US,
                TooLong,
            ),
            ("+999 1234567", US, InvalidCountryCode),
            ("+0 415 555 0100", US, InvalidCountryCode),
            // Valid shape, invalid number.
            ("555-0100", US, region("US")),
            ("+1 415 555 010", US, region("+1")),
            ("415 555 01000", US, region("US")),
            ("+1 555 930 1529", US, region("+1")),
            ("+15559301529", US, region("+1")),
            ("15559301529", US, region("US")),
            ("5559301529", US, region("US")),
            ("+1 415 123 4567", US, region("+1")),
            ("+1 242 555 0100", US, region("+1")),
            ("+44 7700 900123", US, region("+44")),
            ("020 7946 095", GB, region("GB")),
            ("+1 415 555 0100 / 0101", US, region("+1")),
        ];
        for (input, region, expected) in table {
            assert_eq!(
                Msisdn::parse(input, region),
                Err(expected),
                "input {input:?} ({region:?})"
            );
        }
    }

    #[test]
    fn error_messages_never_contain_the_number() {
        for input in [
            "+1 415 555 010",
            "15559301529",
            "1-800-FLOWERS",
            "+999 1234567",
            "1234567890123456789012",
        ] {
            let message = match Msisdn::parse(input, country::US) {
                Err(e) => e.to_string(),
                Ok(m) => panic!("{input:?} accepted as {}", m.as_str()),
            };
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            assert!(!message.contains(&digits), "{message:?} contains {digits}");
            assert!(!message.contains(input), "{message:?} contains {input}");
        }
        for raw in ["0014155550100", "14155550100x", "123"] {
            let message = match Msisdn::from_provider(raw) {
                Err(e) => e.to_string(),
                Ok(m) => panic!("{raw:?} accepted as {}", m.as_str()),
            };
            assert!(!message.contains(raw), "{message:?} contains {raw}");
        }
    }

    #[test]
    fn from_provider_accepts_e164_digits() {
        let table = [
            ("14155550100", "14155550100"),
            ("+14155550100", "14155550100"),
            ("  14155550100\n", "14155550100"),
            (" +447700900123 ", "447700900123"),
            // Not valid per libphonenumber, still honoured: a STOP is never dropped.
            ("15559301529", "15559301529"),
            ("1234567", "1234567"),
            ("123456789012345", "123456789012345"),
            ("4915112345678", "4915112345678"),
        ];
        for (raw, expected) in table {
            match Msisdn::from_provider(raw) {
                Ok(m) => assert_eq!(m.as_str(), expected, "raw {raw:?}"),
                Err(e) => panic!("{raw:?} rejected: {e}"),
            }
        }
    }

    #[test]
    fn from_provider_rejects_non_e164() {
        use MsisdnError::*;
        let table = [
            ("", Empty),
            ("   ", Empty),
            ("+", Empty),
            ("123456", WrongLength { digits: 6 }),
            ("1234567890123456", WrongLength { digits: 16 }),
            ("04155550100", LeadingZero),
            ("+0014155550100", LeadingZero),
            ("++14155550100", NotANumber),
            ("1 415 555 0100", NotANumber),
            ("1-415-555-0100", NotANumber),
            ("+1 (415) 555-0100", NotANumber),
            ("14155550100x", NotANumber),
            ("1415555010O", NotANumber),
            ("-14155550100", NotANumber),
            ("\u{ff11}4155550100", NotANumber), // full-width: providers send ASCII
            ("14155550100 14155550101", NotANumber),
        ];
        for (raw, expected) in table {
            assert_eq!(Msisdn::from_provider(raw), Err(expected), "raw {raw:?}");
        }
    }

    #[test]
    fn readings_cover_every_number_the_webhook_can_record() {
        use country::US;
        let read = |input: &str| -> Result<Vec<String>, MsisdnError> {
            Msisdn::readings(input, US).map(|v| v.iter().map(|m| m.as_str().to_owned()).collect())
        };
        // 15559301529 (Vonage's example) is refused by the strict reading, but the
        // webhook records it; a lookup must find it in every form a caller sends.
        for input in [
            "15559301529",
            "+15559301529",
            " +15559301529 ",
            "\u{ff0b}15559301529",
        ] {
            assert_eq!(read(input), Ok(vec!["15559301529".to_owned()]), "{input:?}");
        }
        // Human formats have one reading; bare national digits two, the strict one first.
        assert_eq!(read("415 555 0100"), Ok(vec!["14155550100".to_owned()]));
        assert_eq!(
            read("+1 (415) 555-0100"),
            Ok(vec!["14155550100".to_owned()])
        );
        assert_eq!(read("14155550100"), Ok(vec!["14155550100".to_owned()]));
        assert_eq!(read("+14155550100"), Ok(vec!["14155550100".to_owned()]));
        assert_eq!(
            read("4155550100"),
            Ok(vec!["14155550100".to_owned(), "4155550100".to_owned()])
        );
        // Neither reading: the strict reading's error.
        assert_eq!(read("1-800-FLOWERS"), Err(MsisdnError::NotANumber));
        assert_eq!(
            read("555-0100"),
            Err(MsisdnError::InvalidForRegion {
                region: "US".into()
            })
        );
        // Resubscribing stays strict.
        assert!(Msisdn::parse("15559301529", US).is_err());
        // Any number the webhook accepts is among the readings of its digits and +digits.
        let mut rng = fastrand::Rng::with_seed(0x10);
        for _ in 0..500 {
            let len = rng.usize(7..=15);
            let digits: String = std::iter::once(char::from(b'1' + rng.u8(..9)))
                .chain((1..len).map(|_| char::from(b'0' + rng.u8(..10))))
                .collect();
            let Ok(recorded) = Msisdn::from_provider(&digits) else {
                panic!("{digits} is a provider number");
            };
            for form in [digits.clone(), format!("+{digits}")] {
                let readings = Msisdn::readings(&form, US).unwrap_or_default();
                assert!(readings.contains(&recorded), "{form}");
            }
        }
    }

    #[test]
    fn masking() {
        let m = Msisdn::from_provider("14155550100").expect("valid provider number");
        assert_eq!(m.masked(), "*******0100");
        assert_eq!(m.to_string(), "*******0100");
        assert_eq!(format!("{m:?}"), "Msisdn(\"*******0100\")");
        assert_eq!(format!("{:?}", Some(&m)), "Some(Msisdn(\"*******0100\"))");
        for text in [
            m.to_string(),
            format!("{m:?}"),
            format!("{m:#?}"),
            format!("{m:>20}"),
        ] {
            assert!(!text.contains("14155550100"), "{text:?}");
            assert!(!text.contains("4155550"), "{text:?}");
        }

        assert_eq!(mask(""), "");
        assert_eq!(mask("12"), "12");
        assert_eq!(mask("0100"), "0100");
        assert_eq!(mask("50100"), "*0100");
        assert_eq!(mask("+1 415 555 0100"), "***********0100");
        assert_eq!(mask("ＳＴＯＰ０１００"), "****０１００");
        assert_eq!(mask("né😀é🛑x"), "**😀é🛑x");
        assert_eq!(mask("1234\n"), "*234?");
        assert_eq!(
            mask("a\u{301}\u{301}\u{301}\u{301}"),
            "*\u{301}\u{301}\u{301}\u{301}"
        );
    }

    #[test]
    fn serde_round_trip_uses_full_digits() {
        let m = Msisdn::from_provider("447700900123").expect("valid provider number");
        let json = serde_json::to_string(&m).expect("serialize");
        assert_eq!(json, "\"447700900123\"");
        let back: Msisdn = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, m);

        let plus: Msisdn = serde_json::from_str("\" +14155550100 \"").expect("deserialize");
        assert_eq!(plus.as_str(), "14155550100");

        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Body {
            msisdn: Msisdn,
        }
        let body: Body = serde_json::from_str(r#"{"msisdn":"15559301529"}"#).expect("body");
        assert_eq!(body.msisdn.as_str(), "15559301529");
        assert_eq!(
            serde_json::to_string(&body).expect("serialize body"),
            r#"{"msisdn":"15559301529"}"#
        );
        assert!(!format!("{body:?}").contains("15559301529"));

        let number: Msisdn = serde_json::from_str("14155550100").expect("JSON integer");
        assert_eq!(number.as_str(), "14155550100");

        for bad in [
            r#""""#,
            r#""0123456789""#,
            r#""1-415-555-0100""#,
            "-14155550100",
            "14155550100.0",
            "1.4155550100e10",
            "123456",
            "null",
            "true",
            r#"["14155550100"]"#,
        ] {
            let err = match serde_json::from_str::<Msisdn>(bad) {
                Err(e) => e.to_string(),
                Ok(m) => panic!("{bad} accepted as {}", m.as_str()),
            };
            assert!(!err.contains("4155550100"), "{err}");
            assert!(!err.contains("123456789"), "{err}");
        }
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        let alphabet: Vec<char> =
            "0123456789+ -().x#*;=e/tel:ext,\u{ff0b}\u{ff10}\u{663}é😀\u{301}\n\u{0}"
                .chars()
                .collect();
        let mut rng = fastrand::Rng::with_seed(0x5709);
        for i in 0..3000usize {
            let len = i % 30;
            let s: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let _ = mask(&s);
            let _ = Msisdn::from_provider(&s);
            for region in [country::US, country::GB, country::BR, country::DE] {
                if let Ok(m) = Msisdn::parse(&s, region) {
                    // Whatever parse accepts satisfies the storage invariant.
                    assert_eq!(Msisdn::from_provider(m.as_str()), Ok(m.clone()), "{s:?}");
                }
            }
        }
    }
}
