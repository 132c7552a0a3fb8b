//! The sender's programs, and which of them an opt-out ends
//! (docs/decisions/0005-programs.md): declared in `PROGRAMS`, or one `default` program.

use crate::domain::event::State;
use crate::domain::language::Language;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use time::{Date, OffsetDateTime, UtcOffset};

crate::named_enum! {
    /// How the sender works with Vonage for a program: the `PROVIDER_MODE` setting, or a
    /// program's own `provider_mode` (docs/operations.md "Which mode").
    #[derive(Default)]
    #[strum(serialize_all = "kebab-case")]
    pub enum ProviderMode {
        /// Vonage's legacy US short code program: its opt-in API lifts its block.
        #[default]
        ShortCodeApi,
        /// Opt-Out Assist on: Vonage replies and blocks; nothing can lift its block but the person.
        OptOutAssist,
        /// Vonage does nothing: we reply, and our table is the only block.
        SelfManaged,
    }
}

impl ProviderMode {
    /// Whether we send the STOP, HELP and opt-in replies when `REPLIES` is not set: only when
    /// nobody else does (a second confirmation would make two).
    pub fn replies_by_default(self) -> bool {
        self == ProviderMode::SelfManaged
    }

    /// A list of opted-out numbers to reconcile with.
    pub fn has_opt_out_list(self) -> bool {
        self == ProviderMode::ShortCodeApi
    }
}

/// A program's id: 1 to 32 of `a-z`, `0-9` and `-`, so that it can sit in a key beside the
/// upper-case names of the wider scopes and never be mistaken for one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ProgramId(String);

impl ProgramId {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(id: &str) -> Result<Self, ProgramError> {
        let valid = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(ProgramError(format!(
                "program id {id:?}: 1 to 32 of a-z, 0-9 and -"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProgramId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Self::parse(&id).map_err(serde::de::Error::custom)
    }
}

/// A program as `PROGRAMS` declares it. What its replies say falls back to the deployment's
/// settings (`HELP_CONTACT`, `MESSAGE_FREQUENCY`); the texts are checked at cold start
/// (`replies::ProgramTexts`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub id: ProgramId,
    pub name: String,
    /// The numbers it sends from, as inbound messages name them in `to` (short codes, long
    /// codes, toll-free), digits only.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Whether sending needs the person's consent: revoke-all ends every such program.
    #[serde(default = "yes")]
    pub consent_required: bool,
    /// Inbound to a number no program declares goes here (at most one; else the first).
    #[serde(default)]
    pub default: bool,
    /// A phone number or e-mail for help (else `HELP_CONTACT`).
    pub help_contact: Option<String>,
    /// e.g. `Up to 4 msgs/month` (else `MESSAGE_FREQUENCY`).
    pub frequency: Option<String>,
    /// The program's own texts (else built from the parts above).
    pub stop_reply: Option<String>,
    pub help_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    /// The word a person may reply, after a revoke-all confirmation that offers it, to keep this
    /// program ("reply ALERTS to keep Acme Alerts"); upper case, letters and digits.
    pub keep_keyword: Option<String>,
    /// How Vonage works for this program (else `PROVIDER_MODE`): a legacy short code program
    /// and self-managed 10DLC numbers in one deployment.
    pub provider_mode: Option<ProviderMode>,
    /// Whether the send-time check asks for a consent on file: `may_send` only with one and no
    /// newer opt-out (else a number never seen may be sent, as an opt-out list answers).
    #[serde(default)]
    pub consent_on_file: bool,
    /// The word a person texts to the program's numbers to join (e.g. `JOIN`); upper case,
    /// letters and digits.
    pub join_keyword: Option<String>,
    /// Whether a join is confirmed by a second text (double opt-in): the person gets a prompt
    /// and consent is recorded only when YES arrives within `confirm_hours`.
    #[serde(default = "yes")]
    pub confirm_join: bool,
    /// Hours a YES counts after the join (default [`DEFAULT_CONFIRM_HOURS`], 1 to 720).
    pub confirm_hours: Option<u16>,
    /// The prompt asking for YES, and the text confirming a join (else built from the parts
    /// above; both checked at cold start for what CTIA asks).
    pub confirm_prompt: Option<String>,
    pub join_reply: Option<String>,
    /// The consent wordings the sender registers for this program: version id to the SHA-256
    /// (hex) of its text. When declared, every consent names one of them, and its text or hash
    /// must match (`ConsentEvidence::for_program`).
    #[serde(default)]
    pub consent_wordings: std::collections::BTreeMap<String, String>,
    /// The program's replies in other languages (`{"es": {"stop_reply": "...", ...}}`), each
    /// sent when the person wrote in that language; checked at cold start for the same parts in
    /// that language.
    #[serde(default)]
    pub translations: std::collections::BTreeMap<Language, TranslatedReplies>,
    /// The languages read in messages to this program (else `LANGUAGES`); English always.
    #[serde(default)]
    pub languages: Vec<Language>,
}

/// A program's own replies in one other language; each absent one is sent in English.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslatedReplies {
    pub stop_reply: Option<String>,
    pub help_reply: Option<String>,
    pub opt_in_reply: Option<String>,
}

/// `confirm_hours` unset: a day covers a person reading the prompt that evening.
pub const DEFAULT_CONFIRM_HOURS: u16 = 24;

impl Program {
    /// How Vonage works for this program: its own `provider_mode`, else the deployment's.
    pub fn mode(&self, deployment: ProviderMode) -> ProviderMode {
        self.provider_mode.unwrap_or(deployment)
    }

    /// How long after a join its YES counts.
    pub fn confirm_window(&self) -> time::Duration {
        time::Duration::hours(i64::from(
            self.confirm_hours.unwrap_or(DEFAULT_CONFIRM_HOURS),
        ))
    }

    /// Whether the whole of `text` is this program's join keyword.
    pub fn is_join(&self, text: &str) -> bool {
        self.join_keyword
            .as_deref()
            .is_some_and(|word| crate::domain::keywords::match_key(text).eq_ignore_ascii_case(word))
    }
}

fn yes() -> bool {
    true
}

/// A join keyword: 1 to 20 of A-Z and 0-9, and not the YES a join waits for.
fn check_join_keyword(word: &str) -> Result<(), ProgramError> {
    let valid = (1..=20).contains(&word.len())
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && !crate::domain::consent::CONFIRM_WORDS.contains(&word);
    if valid {
        Ok(())
    } else {
        Err(ProgramError(format!(
            "{word:?} is not 1 to 20 of A-Z and 0-9, or is a confirmation word (YES, Y)"
        )))
    }
}

/// Why `PROGRAMS` or `REVOKE_ALL_FROM` is refused at cold start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProgramError(String);

/// Which programs an opt-out ends: each is one state item, and a program's status is the newest
/// of the ones that reach it ([`Programs::scopes_reaching`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every program, including ones declared later; also what every opt-out written before
    /// programs existed means.
    Every,
    /// Every program that needs consent (revoke-all).
    ConsentRequired,
    Program(ProgramId),
}

impl Scope {
    /// Its name in keys and history: `ALL`, `CONSENT`, or the program id (always lower case, so
    /// never one of the other two).
    pub fn name(&self) -> &str {
        match self {
            Scope::Every => "ALL",
            Scope::ConsentRequired => "CONSENT",
            Scope::Program(id) => id.as_str(),
        }
    }

    pub fn parse(name: &str) -> Result<Self, ProgramError> {
        match name {
            "ALL" => Ok(Scope::Every),
            "CONSENT" => Ok(Scope::ConsentRequired),
            id => ProgramId::parse(id).map(Scope::Program),
        }
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// The newest of `states` (a number's state items) whose scope is in `scopes`: what decides the
/// status of the program `scopes` reach.
pub fn newest_in<'a>(states: &'a [(Scope, State)], scopes: &[Scope]) -> Option<&'a State> {
    states
        .iter()
        .filter(|(scope, _)| scopes.contains(scope))
        .map(|(_, state)| state)
        .max_by(|a, b| a.order.cmp(&b.order))
}

/// What the person asked to end: the program they texted, or everything ("STOP ALL").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    ThisProgram,
    All,
}

impl Reach {
    /// What an opt-out message asks to end: everything if its keyword is STOPALL ("STOP ALL")
    /// or it says "all" or "everything" anywhere ("unsubscribe me from all of it"), else the
    /// program texted. A "not all" still ends everything: the wider opt-out is the careful side.
    pub fn of_message(keyword: Option<&str>, text: &str) -> Reach {
        let says_all = crate::domain::keywords::match_key(text)
            .split(' ')
            .any(|w| w == "all" || w == "everything");
        if keyword == Some("STOPALL") || says_all {
            Reach::All
        } else {
            Reach::ThisProgram
        }
    }
}

/// `REVOKE_ALL_FROM`: from this day (UTC) every revocation ends every program that needs
/// consent; `off` never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokeAll(Option<Date>);

impl Default for RevokeAll {
    fn default() -> Self {
        Self(Some(Self::DEFAULT_FROM))
    }
}

impl RevokeAll {
    /// FCC 24-24's 47 CFR 64.1200(a)(10), as last delayed.
    pub const DEFAULT_FROM: Date = time::macros::date!(2027 - 01 - 31);

    /// The setting: unset is [`Self::DEFAULT_FROM`], `off`, or a `YYYY-MM-DD` date.
    pub fn parse(value: Option<&str>) -> Result<Self, ProgramError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::default()),
            Some(v) if v.eq_ignore_ascii_case("off") => Ok(Self(None)),
            Some(v) => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                Date::parse(v, format).map(|d| Self(Some(d))).map_err(|_| {
                    ProgramError(format!("REVOKE_ALL_FROM {v:?}: a date (YYYY-MM-DD) or off"))
                })
            }
        }
    }

    pub fn in_force_at(self, at: OffsetDateTime) -> bool {
        self.0
            .is_some_and(|from| at.to_offset(UtcOffset::UTC).date() >= from)
    }
}

/// The deployment's programs: at least one, ids and numbers unique, one default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    programs: Vec<Program>,
    default: usize,
    /// No `PROGRAMS`: one program, whose opt-outs are written as before programs existed.
    declared: bool,
}

impl Programs {
    /// The one program of a deployment that declares none, named `name`.
    pub fn single(name: &str) -> Self {
        Self {
            programs: vec![Program {
                id: ProgramId(ProgramId::DEFAULT.to_owned()),
                name: name.to_owned(),
                numbers: Vec::new(),
                consent_required: true,
                default: true,
                help_contact: None,
                frequency: None,
                stop_reply: None,
                help_reply: None,
                opt_in_reply: None,
                keep_keyword: None,
                provider_mode: None,
                consent_on_file: false,
                join_keyword: None,
                confirm_join: true,
                confirm_hours: None,
                confirm_prompt: None,
                join_reply: None,
                consent_wordings: Default::default(),
                translations: Default::default(),
                languages: Vec::new(),
            }],
            default: 0,
            declared: false,
        }
    }

    /// The one program of a deployment without `PROGRAMS`, with the consent settings it may
    /// still have (`JOIN_KEYWORD`, `CONSENT_ON_FILE`): the join is confirmed by YES.
    pub fn single_with_consent(
        name: &str,
        join_keyword: Option<&str>,
        consent_on_file: bool,
    ) -> Result<Self, ProgramError> {
        let mut programs = Self::single(name);
        if let Some(word) = join_keyword {
            check_join_keyword(word).map_err(|e| ProgramError(format!("JOIN_KEYWORD {e}")))?;
        }
        programs.programs[0].join_keyword = join_keyword.map(str::to_owned);
        programs.programs[0].consent_on_file = consent_on_file;
        Ok(programs)
    }

    /// `PROGRAMS`, a JSON array of [`Program`].
    pub fn parse(json: &str) -> Result<Self, ProgramError> {
        let programs: Vec<Program> = serde_json::from_str(json)
            .map_err(|e| ProgramError(format!("PROGRAMS: not a list of programs ({e})")))?;
        if programs.is_empty() {
            return Err(ProgramError(
                "PROGRAMS: an empty list (leave it unset for one program)".into(),
            ));
        }
        let mut ids = HashSet::new();
        let mut numbers = HashSet::new();
        let mut keep_words = HashSet::new();
        for program in &programs {
            if !ids.insert(&program.id) {
                return Err(ProgramError(format!(
                    "PROGRAMS: program id {} twice",
                    program.id
                )));
            }
            if program.name.trim().is_empty() {
                return Err(ProgramError(format!(
                    "PROGRAMS: program {} has no name",
                    program.id
                )));
            }
            if let Some(word) = &program.keep_keyword {
                let valid = (1..=20).contains(&word.len())
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !valid || !keep_words.insert(word) {
                    return Err(ProgramError(format!(
                        "PROGRAMS: program {}: keep_keyword {word:?} is not 1 to 20 of A-Z and 0-9, or is another program's",
                        program.id
                    )));
                }
            }
            if let Some(word) = &program.join_keyword {
                check_join_keyword(word).map_err(|e| {
                    ProgramError(format!(
                        "PROGRAMS: program {}: join_keyword {e}",
                        program.id
                    ))
                })?;
            }
            for (version, hash) in &program.consent_wordings {
                let valid = (1..=100).contains(&version.chars().count())
                    && hash.len() == 64
                    && hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !valid {
                    return Err(ProgramError(format!(
                        "PROGRAMS: program {}: consent_wordings {version:?}: a version id of 1 to 100 characters and the text's SHA-256 in lower-case hex",
                        program.id
                    )));
                }
            }
            if program
                .confirm_hours
                .is_some_and(|h| !(1..=720).contains(&h))
            {
                return Err(ProgramError(format!(
                    "PROGRAMS: program {}: confirm_hours is 1 to 720",
                    program.id
                )));
            }
            for number in &program.numbers {
                if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProgramError(format!(
                        "PROGRAMS: program {}: number {number:?} is not digits only",
                        program.id
                    )));
                }
                if !numbers.insert(number) {
                    return Err(ProgramError(format!(
                        "PROGRAMS: number {number} is in two programs"
                    )));
                }
            }
        }
        for program in &programs {
            let clash = program
                .join_keyword
                .as_ref()
                .filter(|w| keep_words.contains(w));
            let keep_is_yes = program
                .keep_keyword
                .as_deref()
                .is_some_and(|w| crate::domain::consent::CONFIRM_WORDS.contains(&w));
            if clash.is_some() || keep_is_yes {
                return Err(ProgramError(format!(
                    "PROGRAMS: program {}: a join keyword is some program's keep keyword, or a keep keyword is YES or Y",
                    program.id
                )));
            }
        }
        let defaults: Vec<usize> = (0..programs.len())
            .filter(|&i| programs[i].default)
            .collect();
        if defaults.len() > 1 {
            return Err(ProgramError(
                "PROGRAMS: more than one program marked default".into(),
            ));
        }
        Ok(Self {
            default: defaults.first().copied().unwrap_or(0),
            programs,
            declared: true,
        })
    }

    pub fn all(&self) -> &[Program] {
        &self.programs
    }

    pub fn get(&self, id: &ProgramId) -> Option<&Program> {
        self.programs.iter().find(|p| &p.id == id)
    }

    pub fn default_program(&self) -> &Program {
        &self.programs[self.default]
    }

    /// The program an inbound message to `to` (a short code or a number, any punctuation)
    /// belongs to; the default one for a number no program declares: never none.
    pub fn for_number(&self, to: &str) -> &Program {
        let digits: String = to.chars().filter(char::is_ascii_digit).collect();
        self.programs
            .iter()
            .find(|p| p.numbers.contains(&digits))
            .unwrap_or_else(|| self.default_program())
    }

    /// What an opt-out ends. `texted`: the program the person texted (or the API or a review
    /// named); `at`: the event's time.
    pub fn opt_out_scopes(
        &self,
        texted: &Program,
        reach: Reach,
        revoke_all: RevokeAll,
        at: OffsetDateTime,
    ) -> Vec<Scope> {
        if !self.declared || reach == Reach::All {
            return vec![Scope::Every];
        }
        if !revoke_all.in_force_at(at) {
            return vec![Scope::Program(texted.id.clone())];
        }
        let mut scopes = vec![Scope::ConsentRequired];
        if !texted.consent_required {
            scopes.push(Scope::Program(texted.id.clone()));
        }
        scopes
    }

    /// Whether programs were declared (`PROGRAMS`); without them every opt-out is written as
    /// before programs existed.
    pub fn declared(&self) -> bool {
        self.declared
    }

    /// The programs an opt-out kept for `scopes` ends, in declaration order.
    pub fn ended_by(&self, scopes: &[Scope]) -> Vec<&Program> {
        self.programs
            .iter()
            .filter(|p| {
                scopes.iter().any(|scope| match scope {
                    Scope::Every => true,
                    Scope::ConsentRequired => p.consent_required,
                    Scope::Program(id) => &p.id == id,
                })
            })
            .collect()
    }

    /// The program whose `keep_keyword` the whole of `text` is, and that word. Nothing is read
    /// when no program declares one (most messages reach here: it is the webhook's hot path).
    pub fn keep_keyword_in(&self, text: &str) -> Option<(&Program, String)> {
        if self.programs.iter().all(|p| p.keep_keyword.is_none()) {
            return None;
        }
        let word = crate::domain::keywords::match_key(text).to_uppercase();
        let program = self
            .programs
            .iter()
            .find(|p| p.keep_keyword.as_deref() == Some(word.as_str()))?;
        Some((program, word))
    }

    /// The wider items a confirmation of an event kept for `scopes` must find no newer opposite
    /// event in (the event's own items must still say what it says): `ALL`, and `CONSENT` when
    /// a program the event concerns needs consent.
    pub fn wider_scopes(&self, scopes: &[Scope]) -> Vec<Scope> {
        let mut wider = Vec::new();
        if !scopes.contains(&Scope::Every) {
            wider.push(Scope::Every);
        }
        if !scopes.contains(&Scope::ConsentRequired)
            && self.ended_by(scopes).iter().any(|p| p.consent_required)
            && self.declared
        {
            wider.push(Scope::ConsentRequired);
        }
        wider
    }

    /// What a resubscribe to `program` (or another event about it alone) is kept for: the
    /// program, or, without programs, everything as before.
    pub fn own_scope(&self, program: &Program) -> Scope {
        if self.declared {
            Scope::Program(program.id.clone())
        } else {
            Scope::Every
        }
    }

    /// The scopes whose items decide `program`'s status: the newest of them wins.
    pub fn scopes_reaching(&self, program: &Program) -> Vec<Scope> {
        if !self.declared {
            return vec![Scope::Every];
        }
        let mut scopes = vec![Scope::Every];
        if program.consent_required {
            scopes.push(Scope::ConsentRequired);
        }
        scopes.push(Scope::Program(program.id.clone()));
        scopes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const THREE: &str = r#"[
        {"id": "alerts", "name": "Acme Alerts", "numbers": ["12345"], "default": true},
        {"id": "marketing", "name": "Acme Deals", "numbers": ["14155550100"]},
        {"id": "notices", "name": "Acme Notices", "numbers": ["18885550100"], "consent_required": false}
    ]"#;

    fn id(s: &str) -> ProgramId {
        ProgramId::parse(s).unwrap()
    }

    #[test]
    fn a_number_goes_to_its_program_and_an_unknown_one_to_the_default() {
        let programs = Programs::parse(THREE).unwrap();
        assert_eq!(programs.for_number("1 (415) 555-0100").id, id("marketing"));
        assert_eq!(programs.for_number("12345").id, id("alerts"));
        assert_eq!(programs.for_number("19995550100").id, id("alerts"));
        assert_eq!(programs.for_number("").id, id("alerts"));
        let single = Programs::single("Acme");
        assert_eq!(single.for_number("12345").id, id("default"));
    }

    #[test]
    fn declarations_that_cannot_be_meant_are_refused() {
        for (json, why) in [
            ("[]", "empty list"),
            ("{}", "not a list"),
            (r#"[{"id": "Alerts", "name": "A"}]"#, "1 to 32"),
            (r#"[{"id": "a", "name": " "}]"#, "no name"),
            (
                r#"[{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]"#,
                "twice",
            ),
            (
                r#"[{"id": "a", "name": "A", "numbers": ["1"]}, {"id": "b", "name": "B", "numbers": ["1"]}]"#,
                "two programs",
            ),
            (
                r#"[{"id": "a", "name": "A", "numbers": ["+1415"]}]"#,
                "digits only",
            ),
            (
                r#"[{"id": "a", "name": "A", "default": true}, {"id": "b", "name": "B", "default": true}]"#,
                "more than one",
            ),
            (
                r#"[{"id": "a", "name": "A", "consent": true}]"#,
                "unknown field",
            ),
        ] {
            let err = Programs::parse(json).unwrap_err().to_string();
            assert!(err.contains(why), "{json}: {err}");
        }
    }

    #[test]
    fn stop_all_and_messages_that_say_all_reach_every_program() {
        for (keyword, text) in [
            (Some("STOPALL"), "STOP ALL"),
            (Some("STOP"), "Stop, all of them"),
            (None, "Unsubscribe me from everything"),
            (Some("STOP"), "stop not all"),
        ] {
            assert_eq!(Reach::of_message(keyword, text), Reach::All, "{text}");
        }
        for (keyword, text) in [
            (Some("STOP"), "STOP"),
            (None, "no more texts"),
            (Some("STOP"), "stop calling"),
        ] {
            assert_eq!(
                Reach::of_message(keyword, text),
                Reach::ThisProgram,
                "{text}"
            );
        }
    }

    #[test]
    fn scopes_have_one_name_each() {
        for scope in [
            Scope::Every,
            Scope::ConsentRequired,
            Scope::Program(id("alerts")),
        ] {
            assert_eq!(Scope::parse(scope.name()), Ok(scope.clone()));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        assert!(Scope::parse("Alerts").is_err());
    }

    #[test]
    fn revoke_all_from_a_date_or_never() {
        let day_before = datetime!(2027-01-30 23:59:59.999 UTC);
        let the_day = datetime!(2027-01-31 00:00 UTC);
        let default = RevokeAll::parse(None).unwrap();
        assert!(!default.in_force_at(day_before));
        assert!(default.in_force_at(the_day));
        // The UTC date decides, whatever offset the time was written with.
        assert!(default.in_force_at(datetime!(2027-01-30 20:00 -05:00)));
        assert!(!RevokeAll::parse(Some("off")).unwrap().in_force_at(the_day));
        let early = RevokeAll::parse(Some("2026-12-01")).unwrap();
        assert!(early.in_force_at(datetime!(2026-12-01 00:00 UTC)));
        assert!(RevokeAll::parse(Some("31/01/2027")).is_err());
    }

    #[test]
    fn what_an_opt_out_ends_on_both_sides_of_the_revoke_all_date() {
        let programs = Programs::parse(THREE).unwrap();
        let rule = RevokeAll::parse(None).unwrap();
        let before = datetime!(2027-01-30 12:00 UTC);
        let from = datetime!(2027-01-31 12:00 UTC);
        let alerts = programs.get(&id("alerts")).unwrap();
        let notices = programs.get(&id("notices")).unwrap();
        let one = |p: &Program, reach, at| programs.opt_out_scopes(p, reach, rule, at);

        assert_eq!(
            one(alerts, Reach::ThisProgram, before),
            [Scope::Program(id("alerts"))]
        );
        assert_eq!(
            one(alerts, Reach::ThisProgram, from),
            [Scope::ConsentRequired]
        );
        // A program that needs no consent ends when texted, and revoke-all ends the rest.
        assert_eq!(
            one(notices, Reach::ThisProgram, from),
            [Scope::ConsentRequired, Scope::Program(id("notices"))]
        );
        assert_eq!(one(notices, Reach::All, before), [Scope::Every]);
        assert_eq!(one(alerts, Reach::All, from), [Scope::Every]);
    }

    #[test]
    fn one_program_writes_as_before_programs_existed() {
        let single = Programs::single("Acme");
        let program = single.default_program();
        for at in [
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2027-02-01 00:00 UTC),
        ] {
            let scopes = single.opt_out_scopes(
                program,
                Reach::ThisProgram,
                RevokeAll::parse(None).unwrap(),
                at,
            );
            assert_eq!(scopes, [Scope::Every]);
        }
        assert_eq!(single.scopes_reaching(program), [Scope::Every]);
    }

    #[test]
    fn a_programs_status_is_decided_by_its_own_item_and_the_wider_ones_that_reach_it() {
        let programs = Programs::parse(THREE).unwrap();
        let alerts = programs.get(&id("alerts")).unwrap();
        let notices = programs.get(&id("notices")).unwrap();
        assert_eq!(
            programs.scopes_reaching(alerts),
            [
                Scope::Every,
                Scope::ConsentRequired,
                Scope::Program(id("alerts"))
            ]
        );
        assert_eq!(
            programs.scopes_reaching(notices),
            [Scope::Every, Scope::Program(id("notices"))]
        );
    }
}
