//! The replies a person gets by text (what CTIA asks: docs/vonage.md "What the rules ask"), and
//! which event owes one ([`plan`]): a person's own message by SMS, never our paperwork (not a
//! website resubscribe, an API opt-out, a review decision, a sync or an import).
//!
//! The texts are settings with complete defaults; one that does not fit one SMS segment or lacks
//! a required part is refused when the function starts ([`ReplyTexts::new`]), never at send
//! time. A confirmation goes out only while its state is still true and never after a newer
//! one's (docs/decisions/0001-reply-order.md).

use crate::domain::event::{EventKind, Status};
use crate::domain::keywords::match_key;
use crate::domain::language::Language;
use crate::domain::sms::{self, Alphabet, GSM7_SEGMENT, UCS2_SEGMENT};

/// An event that came in by SMS through the webhook.
pub const SOURCE_SMS: &str = "webhook";
/// The resubscribe recorded once Vonage lifted its block for an opt-in by text.
pub const SOURCE_SMS_OPT_IN: &str = "sms-opt-in";

crate::named_enum! {
    #[strum(serialize_all = "snake_case")]
    pub enum ReplyKind {
        StopConfirmation,
        Help,
        OptInConfirmation,
        /// The text asking a person who texted a join keyword to confirm with YES.
        ConsentPrompt,
        /// The confirmation of a join (after YES, or at once without double opt-in).
        JoinConfirmation,
    }
}

impl ReplyKind {
    /// The state a reply tells the person they are in (sent only while true).
    pub fn confirms(self) -> Option<Status> {
        match self {
            ReplyKind::StopConfirmation => Some(Status::OptedOut),
            ReplyKind::OptInConfirmation | ReplyKind::JoinConfirmation => Some(Status::Subscribed),
            ReplyKind::Help | ReplyKind::ConsentPrompt => None,
        }
    }
}

crate::named_enum! {
    #[strum(serialize_all = "snake_case")]
    pub enum ReplyStatus {
        Claimed,
        Sent,
        NotSent,
        Retryable,
        Unknown,
        Skipped,
    }
}

/// What a new history entry asks of the notify function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Send this reply, once.
    Reply(ReplyKind),
    /// An opt-in request (`short-code-api` mode): ask Vonage to lift its block, then record the
    /// resubscribe (or the refusal).
    LiftThenRecord,
    Nothing,
}

/// What the history entry of `kind`, from `source`, asks for (`applied`: it set the state when
/// recorded). With `replies` off only opt-in requests are acted on.
pub fn plan(kind: EventKind, source: &str, applied: bool, replies: bool) -> Plan {
    if kind == EventKind::OptInRequest && source == SOURCE_SMS {
        return Plan::LiftThenRecord;
    }
    if !replies {
        return Plan::Nothing;
    }
    match (kind, source) {
        // Even a late STOP (older than the state): confirmed if the number is still opted out.
        (EventKind::OptOut, SOURCE_SMS) => Plan::Reply(ReplyKind::StopConfirmation),
        (EventKind::Help, SOURCE_SMS) => Plan::Reply(ReplyKind::Help),
        // A late START (older than a newer STOP) did not subscribe anyone: nothing to confirm.
        (EventKind::Resubscribe, SOURCE_SMS | SOURCE_SMS_OPT_IN) if applied => {
            Plan::Reply(ReplyKind::OptInConfirmation)
        }
        (EventKind::ConsentRequest, SOURCE_SMS) => Plan::Reply(ReplyKind::ConsentPrompt),
        (EventKind::Consent, SOURCE_SMS) if applied => Plan::Reply(ReplyKind::JoinConfirmation),
        _ => Plan::Nothing,
    }
}

/// What a program's texts are built from (its name, help contact and frequency), and the opt-in
/// word a STOP reply names, if any.
#[derive(Debug, Clone)]
pub struct TextParts {
    pub name: String,
    pub help_contact: String,
    pub frequency: String,
    pub opt_in_word: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTexts {
    pub stop: String,
    pub help: String,
    pub opt_in: String,
    /// For a program with a join keyword ([`ReplyTexts::with_join_texts`]).
    pub consent_prompt: String,
    pub joined: String,
}

/// Why a reply text is refused at start-up: the setting and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ReplyTextError {
    pub setting: &'static str,
    pub reason: String,
}

impl ReplyTexts {
    /// Each given text, or the default built from `program`; all checked.
    pub fn new(
        program: &TextParts,
        stop: Option<&str>,
        help: Option<&str>,
        opt_in: Option<&str>,
    ) -> Result<Self, ReplyTextError> {
        for (setting, value) in [
            ("PROGRAM_NAME", &program.name),
            ("HELP_CONTACT", &program.help_contact),
            ("MESSAGE_FREQUENCY", &program.frequency),
        ] {
            if value.trim().is_empty() {
                return Err(ReplyTextError {
                    setting,
                    reason: "is required when replies are on".into(),
                });
            }
        }
        let name = program.name.trim();
        let contact = program.help_contact.trim();
        let frequency = program.frequency.trim().trim_end_matches('.');
        let resubscribe = program
            .opt_in_word
            .as_deref()
            .map(|w| format!(" Reply {w} to resubscribe."))
            .unwrap_or_default();
        let texts = Self {
            stop: stop.map(str::to_owned).unwrap_or_else(|| {
                format!("{name}: You are unsubscribed and will get no more messages.{resubscribe}")
            }),
            help: help.map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "{name}: Help at {contact}. {frequency}. Msg&data rates may apply. Reply STOP to cancel."
                )
            }),
            opt_in: opt_in.map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "{name}: You are subscribed again. {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel."
                )
            }),
            consent_prompt: format!(
                "{name}: Reply YES to get {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel."
            ),
            joined: format!(
                "{name}: You are subscribed. {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel."
            ),
        };
        let rates = RATES;
        check(
            "STOP_REPLY_TEXT",
            &texts.stop,
            &[
                Part::Literal("the program name (PROGRAM_NAME)", name),
                Part::AnyOf(
                    "that no more messages will be sent",
                    &["no more messages", "unsubscribed", "opted out"],
                ),
            ],
        )?;
        check(
            "HELP_REPLY_TEXT",
            &texts.help,
            &[
                Part::Literal("the program name (PROGRAM_NAME)", name),
                Part::Literal("the help contact (HELP_CONTACT)", contact),
                Part::Literal("the message frequency (MESSAGE_FREQUENCY)", frequency),
                Part::AnyOf("\"Msg&data rates may apply\"", &rates),
                Part::AnyOf("how to opt out (STOP)", &["stop"]),
            ],
        )?;
        check(
            "OPT_IN_REPLY_TEXT",
            &texts.opt_in,
            &[
                Part::Literal("the program name (PROGRAM_NAME)", name),
                Part::Literal("the message frequency (MESSAGE_FREQUENCY)", frequency),
                Part::AnyOf("\"Msg&data rates may apply\"", &rates),
                Part::AnyOf("how to get help (HELP)", &["help"]),
                Part::AnyOf("how to opt out (STOP)", &["stop"]),
            ],
        )?;
        Ok(texts)
    }

    /// A program's own texts for a join (`confirm_prompt`, `join_reply`), each given one
    /// checked for what CTIA asks of an opt-in: the program, the frequency, "Msg&data rates may
    /// apply", HELP and STOP, and the prompt the YES it waits for.
    pub fn with_join_texts(
        mut self,
        program: &TextParts,
        prompt: Option<&str>,
        joined: Option<&str>,
    ) -> Result<Self, ReplyTextError> {
        if let Some(prompt) = prompt {
            self.consent_prompt = prompt.to_owned();
        }
        if let Some(joined) = joined {
            self.joined = joined.to_owned();
        }
        let name = program.name.trim();
        let frequency = program.frequency.trim().trim_end_matches('.');
        let opt_in_parts = |extra: Option<Part<'static>>| {
            let mut parts = vec![
                Part::Literal("the program name", name),
                Part::Literal("the message frequency", frequency),
                Part::AnyOf("\"Msg&data rates may apply\"", &RATES),
                Part::AnyOf("how to get help (HELP)", &["help"]),
                Part::AnyOf("how to opt out (STOP)", &["stop"]),
            ];
            parts.extend(extra);
            parts
        };
        check(
            "confirm_prompt",
            &self.consent_prompt,
            &opt_in_parts(Some(Part::AnyOf("the word to confirm (YES)", &["yes"]))),
        )?;
        check("join_reply", &self.joined, &opt_in_parts(None))?;
        Ok(self)
    }

    pub fn text(&self, kind: ReplyKind) -> &str {
        match kind {
            ReplyKind::StopConfirmation => &self.stop,
            ReplyKind::Help => &self.help,
            ReplyKind::OptInConfirmation => &self.opt_in,
            ReplyKind::ConsentPrompt => &self.consent_prompt,
            ReplyKind::JoinConfirmation => &self.joined,
        }
    }
}

/// How much an opt-out ended, as its confirmation says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The program texted (or, without programs, everything).
    ThisProgram,
    /// Every program ("STOP ALL").
    Every,
    /// Every program that needs consent, and the one texted (revoke-all).
    RevokeAll,
}

/// A program's replies: its own texts, and the one confirmation of an opt-out that ends more
/// than it, naming what ended (FCC 47 CFR 64.1200(a)(12): one text, no marketing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramTexts {
    pub own: ReplyTexts,
    pub stop_every: String,
    /// Names what revoke-all ends, and offers each other program's keep keyword.
    pub stop_revoke_all: String,
    /// The program's own STOP, HELP and opt-in replies in other languages
    /// ([`ProgramTexts::with_translation`]).
    pub translated: std::collections::HashMap<(Language, ReplyKind), String>,
}

/// Another program a revoke-all confirmation offers to keep: its keyword and its name.
pub struct KeepOffer<'a> {
    pub keyword: &'a str,
    pub name: &'a str,
}

impl ProgramTexts {
    /// `own` checked as [`ReplyTexts::new`]; the wider confirmations built for `program`, naming
    /// `revoke_all_ends` (the programs revoke-all ends, this one among them), with `offers`.
    pub fn new(
        program: &TextParts,
        own: ReplyTexts,
        revoke_all_ends: &[&str],
        offers: &[KeepOffer<'_>],
    ) -> Result<Self, ReplyTextError> {
        let name = program.name.trim();
        let offer: String = offers
            .iter()
            .map(|o| format!(" Reply {} to keep {}.", o.keyword, o.name))
            .collect();
        let listed = match revoke_all_ends {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let named = format!(
            "{name}: You are unsubscribed from {listed} and will get no more messages from them.{offer}"
        );
        let stop_revoke_all = if sms::fits_one_segment(&named) {
            named
        } else {
            format!(
                "{name}: You are unsubscribed from all our programs that need your consent.{offer}"
            )
        };
        let texts = Self {
            own,
            stop_every: format!(
                "{name}: You are unsubscribed from all our programs and will get no more messages."
            ),
            stop_revoke_all,
            translated: Default::default(),
        };
        let unsubscribed = Part::AnyOf(
            "that no more messages will be sent",
            &["no more messages", "unsubscribed", "opted out"],
        );
        let name_part = Part::Literal("the program name", name);
        for (setting, text) in [
            ("stop confirmation for STOP ALL", &texts.stop_every),
            ("stop confirmation under revoke-all", &texts.stop_revoke_all),
        ] {
            check(setting, text, &[name_part.clone(), unsubscribed.clone()])?;
        }
        Ok(texts)
    }

    /// The text of a reply of `kind`; for a STOP confirmation, the one naming what ended.
    pub fn text(&self, kind: ReplyKind, ended: Ended) -> &str {
        match (kind, ended) {
            (ReplyKind::StopConfirmation, Ended::Every) => &self.stop_every,
            (ReplyKind::StopConfirmation, Ended::RevokeAll) => &self.stop_revoke_all,
            _ => self.own.text(kind),
        }
    }

    /// [`ProgramTexts::text`] in the person's `language` when the program has that reply in it
    /// (a confirmation naming other programs is built, so always in English).
    pub fn text_in(&self, kind: ReplyKind, ended: Ended, language: Option<Language>) -> &str {
        let own_program = ended == Ended::ThisProgram || kind != ReplyKind::StopConfirmation;
        language
            .filter(|_| own_program)
            .and_then(|l| self.translated.get(&(l, kind)))
            .map_or_else(|| self.text(kind, ended), String::as_str)
    }

    /// Add the program's `text` for `kind` in `language`, checked for what the English one
    /// needs, in that language: the program's name, and (HELP, opt-in) the rates notice and
    /// the words to get help and to stop; (STOP) that no more messages will be sent.
    pub fn with_translation(
        mut self,
        program_name: &str,
        language: Language,
        kind: ReplyKind,
        text: &str,
    ) -> Result<Self, ReplyTextError> {
        let setting = match kind {
            ReplyKind::StopConfirmation => "stop_reply",
            ReplyKind::Help => "help_reply",
            _ => "opt_in_reply",
        };
        check(setting, text, &[])?;
        let (unsubscribed, rates, help, stop): (&[&str], &[&str], &[&str], &[&str]) = match language
        {
            Language::Es => (
                &[
                    "baja",
                    "no recibira",
                    "no recibiras",
                    "cancelad",
                    "no mas mensajes",
                    "desuscrit",
                ],
                &["tarifas", "cargos"],
                &["ayuda", "help"],
                &["alto", "stop", "baja"],
            ),
            Language::Fr => (
                &[
                    "desabonne",
                    "desinscrit",
                    "ne recevrez plus",
                    "plus de messages",
                ],
                &["frais", "tarifs"],
                &["aide", "help"],
                &["arret", "stop"],
            ),
            Language::En => (
                &["no more messages", "unsubscribed", "opted out"],
                &["msg data rates may apply"],
                &["help"],
                &["stop"],
            ),
        };
        let folded = match_key(text);
        let has = |options: &[&str]| {
            let padded = format!(" {folded} ");
            options.iter().any(|o| padded.contains(&format!(" {o}")))
        };
        let mut needs: Vec<(&str, &[&str])> = Vec::new();
        match kind {
            ReplyKind::StopConfirmation => {
                needs.push(("that no more messages will be sent", unsubscribed))
            }
            ReplyKind::Help => needs.extend([("the rates notice", rates), ("how to stop", stop)]),
            _ => needs.extend([
                ("the rates notice", rates),
                ("how to get help", help),
                ("how to stop", stop),
            ]),
        }
        if !folded.contains(&match_key(program_name)) {
            return Err(ReplyTextError {
                setting,
                reason: format!("({}) must contain the program name", language.as_str()),
            });
        }
        for (what, options) in needs {
            if !has(options) {
                return Err(ReplyTextError {
                    setting,
                    reason: format!("({}) must contain {what}", language.as_str()),
                });
            }
        }
        self.translated.insert((language, kind), text.to_owned());
        Ok(self)
    }
}

const RATES: [&str; 2] = ["msg&data rates may apply", "msg & data rates may apply"];

#[derive(Clone)]
enum Part<'a> {
    /// Must contain this text (case-insensitive).
    Literal(&'static str, &'a str),
    /// Must contain one of these (case-insensitive).
    AnyOf(&'static str, &'a [&'a str]),
}

fn check(setting: &'static str, text: &str, parts: &[Part]) -> Result<(), ReplyTextError> {
    let fail = |reason: String| Err(ReplyTextError { setting, reason });
    if text.trim().is_empty() {
        return fail("is empty".into());
    }
    match sms::measure(text) {
        (Alphabet::Gsm7, n) if n > GSM7_SEGMENT => {
            return fail(format!(
                "is {n} GSM-7 characters; one SMS holds {GSM7_SEGMENT} (an extension character such as € or {{ counts as two)"
            ))
        }
        (Alphabet::Ucs2, n) if n > UCS2_SEGMENT => {
            return fail(format!(
                "needs UCS-2 (it has a character outside GSM-7) and is {n} characters; one such SMS holds {UCS2_SEGMENT}"
            ))
        }
        _ => {}
    }
    let lower = text.to_lowercase();
    for part in parts {
        let (what, found) = match part {
            Part::Literal(what, literal) => (*what, lower.contains(&literal.to_lowercase())),
            Part::AnyOf(what, options) => (*what, options.iter().any(|o| lower.contains(o))),
        };
        if !found {
            return fail(format!("must contain {what}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> TextParts {
        TextParts {
            name: "Acme Alerts".into(),
            help_contact: "help@acme.example".into(),
            frequency: "Up to 4 msgs/month".into(),
            opt_in_word: Some("START".into()),
        }
    }

    #[test]
    fn the_defaults_are_complete_and_fit_one_segment() {
        let texts = ReplyTexts::new(&program(), None, None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            texts.stop,
            "Acme Alerts: You are unsubscribed and will get no more messages. Reply START to resubscribe."
        );
        assert_eq!(
            texts.help,
            "Acme Alerts: Help at help@acme.example. Up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel."
        );
        assert!(texts
            .opt_in
            .starts_with("Acme Alerts: You are subscribed again."));
        for kind in [
            ReplyKind::StopConfirmation,
            ReplyKind::Help,
            ReplyKind::OptInConfirmation,
        ] {
            assert!(sms::fits_one_segment(texts.text(kind)), "{kind:?}");
        }
        let no_word = TextParts {
            opt_in_word: None,
            ..program()
        };
        let texts = ReplyTexts::new(&no_word, None, None, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(!texts.stop.contains("Reply"), "{}", texts.stop);
    }

    #[test]
    fn bad_texts_are_refused_with_the_setting_and_the_reason() {
        let p = program();
        let err = |stop: Option<&str>, help: Option<&str>, opt_in: Option<&str>| {
            ReplyTexts::new(&p, stop, help, opt_in)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let long = format!("Acme Alerts: no more messages. {}", "x".repeat(140));
        assert!(
            err(Some(&long), None, None).starts_with("STOP_REPLY_TEXT: is 171 GSM-7 characters")
        );
        let unicode = format!("Acme Alerts: no more messages 🛑 {}", "x".repeat(40));
        assert!(err(Some(&unicode), None, None).contains("needs UCS-2"));
        assert_eq!(
            err(Some("You are unsubscribed."), None, None),
            "STOP_REPLY_TEXT: must contain the program name (PROGRAM_NAME)"
        );
        assert_eq!(
            err(Some("Acme Alerts: bye"), None, None),
            "STOP_REPLY_TEXT: must contain that no more messages will be sent"
        );
        assert_eq!(
            err(
                None,
                Some("Acme Alerts: Up to 4 msgs/month. Msg&data rates may apply. Reply STOP."),
                None
            ),
            "HELP_REPLY_TEXT: must contain the help contact (HELP_CONTACT)"
        );
        assert_eq!(
            err(
                None,
                Some("Acme Alerts help@acme.example Up to 4 msgs/month. Reply STOP."),
                None
            ),
            "HELP_REPLY_TEXT: must contain \"Msg&data rates may apply\""
        );
        assert_eq!(
            err(None, None, Some("Acme Alerts: welcome. Up to 4 msgs/month. Msg&data rates may apply. Reply STOP to cancel.")),
            "OPT_IN_REPLY_TEXT: must contain how to get help (HELP)"
        );
        assert_eq!(err(Some("  "), None, None), "STOP_REPLY_TEXT: is empty");
        // Custom texts that have every part are taken as they are.
        let texts = ReplyTexts::new(
            &p,
            Some("ACME ALERTS: opted out, no more messages."),
            Some("Acme Alerts: help@acme.example, up to 4 msgs/month, Msg & Data rates may apply, text STOP to end"),
            None,
        );
        assert!(texts.is_ok(), "{texts:?}");
        // A program whose name makes the default too long is refused too.
        let long_name = TextParts {
            name: "A".repeat(120),
            ..program()
        };
        assert!(ReplyTexts::new(&long_name, None, None, None).is_err());
        let missing = TextParts {
            help_contact: " ".into(),
            ..program()
        };
        assert_eq!(
            ReplyTexts::new(&missing, None, None, None).map_err(|e| e.to_string()),
            Err("HELP_CONTACT: is required when replies are on".into())
        );
    }

    #[test]
    fn which_entries_owe_what() {
        use EventKind::*;
        let table: &[(EventKind, &str, bool, bool, Plan)] = &[
            (
                OptOut,
                "webhook",
                true,
                true,
                Plan::Reply(ReplyKind::StopConfirmation),
            ),
            (
                OptOut,
                "webhook",
                false,
                true,
                Plan::Reply(ReplyKind::StopConfirmation),
            ),
            (Help, "webhook", false, true, Plan::Reply(ReplyKind::Help)),
            (
                Resubscribe,
                "webhook",
                true,
                true,
                Plan::Reply(ReplyKind::OptInConfirmation),
            ),
            (
                Resubscribe,
                "sms-opt-in",
                true,
                true,
                Plan::Reply(ReplyKind::OptInConfirmation),
            ),
            (Resubscribe, "webhook", false, true, Plan::Nothing),
            (OptInRequest, "webhook", false, true, Plan::LiftThenRecord),
            (OptInRequest, "webhook", false, false, Plan::LiftThenRecord),
            // Replies off: nothing is sent.
            (OptOut, "webhook", true, false, Plan::Nothing),
            (Help, "webhook", false, false, Plan::Nothing),
            // Not a person's message: no reply.
            (Resubscribe, "website", true, true, Plan::Nothing),
            (OptOut, "api", true, true, Plan::Nothing),
            (OptOut, "review", true, true, Plan::Nothing),
            (OptOut, "vonage-sync", true, true, Plan::Nothing),
            (OptOut, "import", true, true, Plan::Nothing),
            (OptInRefused, "webhook", false, true, Plan::Nothing),
        ];
        for (kind, source, applied, replies, want) in table {
            assert_eq!(
                plan(*kind, source, *applied, *replies),
                *want,
                "{kind:?} {source} {applied} {replies}"
            );
        }
    }
}
