//! What an inbound text asks for. The rules, in order of precedence (it leans towards the
//! opt-out), are docs/api.md "What a text asks for": an opt-out keyword ([`KeywordRules`]), a
//! clear revocation phrase ([`revocation`]), HELP or INFO, an opt-in word, a review cue
//! ([`ReviewCues`]), else nothing. Help and opt-in words count only as the whole message ("start
//! over" is not one). `YES` is an opt-in word only if configured: a person answers "yes" to many
//! questions, and reading one as consent would be a wrongful resubscribe.

use crate::domain::keywords::{join_spelled, match_key, KeywordRules};
use crate::domain::language::Language;
use crate::domain::revocation::{self, ReviewCues};

/// What a text asks for. Keywords are canonical and upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    OptOut {
        keyword: String,
    },
    /// A clear revocation in other words (the matched row's canonical phrase).
    Revocation {
        phrase: String,
    },
    Help {
        keyword: String,
    },
    OptIn {
        keyword: String,
    },
    /// A revocation cue: a person must decide.
    ReviewCue {
        cue: String,
    },
    Other,
}

/// CTIA's, and the Spanish and French words for help.
const HELP_WORDS: &[&str] = &["help", "info", "ayuda", "aide"];

/// The language a matched keyword, help word or phrase belongs to (its canonical form as
/// [`Intent`] carries it): the language its reply is written in when the program has texts in
/// it. `None`: a configured word, or English.
pub fn language_of(words: &str) -> Option<Language> {
    match words {
        "AYUDA" => Some(Language::Es),
        "AIDE" => Some(Language::Fr),
        _ => crate::domain::keywords::keyword_language(words)
            .or_else(|| revocation::phrase_language(words)),
    }
    .filter(|l| *l != Language::En)
}
pub const DEFAULT_OPT_IN_WORDS: &str = "START,UNSTOP";

/// The rules for reading an inbound text.
#[derive(Debug, Clone)]
pub struct IntentRules {
    pub opt_out: KeywordRules,
    /// Match keys.
    opt_in: Vec<String>,
    pub review_cues: ReviewCues,
    /// The languages whose words and phrases are read (`LANGUAGES`).
    languages: Vec<Language>,
}

impl Default for IntentRules {
    fn default() -> Self {
        Self::new(KeywordRules::default(), DEFAULT_OPT_IN_WORDS)
    }
}

impl IntentRules {
    /// `opt_in_words`: comma-separated whole-message opt-in words (`START,UNSTOP`). A word that is
    /// also an opt-out or help word is ignored: STOP can never mean "start".
    pub fn new(opt_out: KeywordRules, opt_in_words: &str) -> Self {
        let mut opt_in: Vec<String> = Vec::new();
        for word in opt_in_words.split(',') {
            let key = match_key(word);
            if key.is_empty()
                || opt_in.contains(&key)
                || HELP_WORDS.contains(&key.as_str())
                || opt_out.opt_out_keyword(&key).is_some()
            {
                continue;
            }
            opt_in.push(key);
        }
        Self {
            opt_out,
            opt_in,
            review_cues: ReviewCues::default(),
            languages: Language::ALL.to_vec(),
        }
    }

    /// Read only `languages`' keywords and phrases (review cues are set with their own
    /// setting, [`ReviewCues::from_config_in`]).
    pub fn with_languages(mut self, languages: &[Language]) -> Self {
        self.opt_out = self.opt_out.with_languages(languages);
        self.languages = languages.to_vec();
        self
    }

    pub fn with_review_cues(mut self, review_cues: ReviewCues) -> Self {
        self.review_cues = review_cues;
        self
    }

    /// Upper case.
    pub fn opt_in_words(&self) -> Vec<String> {
        self.opt_in.iter().map(|w| w.to_uppercase()).collect()
    }

    pub fn classify(&self, text: &str) -> Intent {
        // A keyword spelt out letter by letter ("S T O P", "s.t.o.p.") is read as the word.
        let key = join_spelled(&match_key(text));
        if let Some(keyword) = self.opt_out.opt_out_keyword_in_key(&key) {
            return Intent::OptOut { keyword };
        }
        if let Some(found) = revocation::phrase_in_key(&key, true, &self.languages) {
            return Intent::Revocation {
                phrase: found.phrase.to_owned(),
            };
        }
        if HELP_WORDS.contains(&key.as_str()) {
            return Intent::Help {
                keyword: key.to_uppercase(),
            };
        }
        if self.opt_in.contains(&key) {
            return Intent::OptIn {
                keyword: key.to_uppercase(),
            };
        }
        self.review_or_emphatic(text, &key)
    }

    /// A later part of a multipart message is mid-sentence: only a revocation phrase or a review
    /// cue inside it counts.
    pub fn classify_continuation(&self, text: &str) -> Intent {
        let key = join_spelled(&match_key(text));
        if let Some(found) = revocation::phrase_in_key(&key, false, &self.languages) {
            return Intent::Revocation {
                phrase: found.phrase.to_owned(),
            };
        }
        self.review_cue(&key)
    }

    fn review_cue(&self, key: &str) -> Intent {
        match self.review_cues.cue_in_key(key) {
            Some(cue) => Intent::ReviewCue { cue },
            None => Intent::Other,
        }
    }

    /// A review cue, else a short emphatic "no" ([`revocation::emphatic`]).
    fn review_or_emphatic(&self, text: &str, key: &str) -> Intent {
        match self.review_cue(key) {
            Intent::Other if revocation::emphatic(text, key) => Intent::ReviewCue {
                cue: "emphatic".into(),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(intent: Intent) -> (&'static str, String) {
        match intent {
            Intent::OptOut { keyword } => ("opt-out", keyword),
            Intent::Help { keyword } => ("help", keyword),
            Intent::OptIn { keyword } => ("opt-in", keyword),
            Intent::Revocation { phrase } => ("phrase", phrase),
            Intent::ReviewCue { cue } => ("review", cue),
            Intent::Other => ("other", String::new()),
        }
    }

    #[test]
    fn intent_table() {
        let rules = IntentRules::default();
        let table: &[(&str, &str, &str)] = &[
            ("STOP", "opt-out", "STOP"),
            ("stop please", "opt-out", "STOP"),
            ("HELP", "help", "HELP"),
            ("help?", "help", "HELP"),
            ("Info.", "help", "INFO"),
            ("ＨＥＬＰ", "help", "HELP"),
            ("START", "opt-in", "START"),
            ("start!", "opt-in", "START"),
            ("Unstop", "opt-in", "UNSTOP"),
            ("UNSTOP.", "opt-in", "UNSTOP"),
            // Only as the whole message.
            ("help me", "other", ""),
            ("start over", "other", ""),
            ("I need info", "other", ""),
            // YES is not an opt-in unless configured.
            ("YES", "other", ""),
            ("yes please", "other", ""),
            ("", "other", ""),
            ("Hi there", "other", ""),
            // The three tiers, in precedence order: keyword, phrase, review cue.
            ("Stop texting me", "opt-out", "STOP"),
            ("Please stop texting me", "phrase", "stop texting me"),
            ("wrong number", "phrase", "wrong number"),
            ("don't stop", "review", "stop"),
            ("can you remove the charge?", "review", "remove"),
            ("no more than 2 tickets", "review", "no more"),
            ("Please don't stop texting me", "review", "stop"),
            ("This is spam", "review", "spam"),
            // "stop by" is the other sense of a leading STOP (keywords.rs): a person decides.
            ("stop by later", "review", "stop"),
            // Spelt out, or with a per-se word asking to end the messages.
            ("S.T.O.P texting me", "opt-out", "STOP"),
            ("can you end these messages", "phrase", "stop texting me"),
            ("I want to quit getting texts", "phrase", "stop texting me"),
            ("please revoke my consent", "phrase", "revoke my consent"),
            ("cancel my order", "review", "cancel"),
            // Spanish and French, in the three tiers.
            ("ALTO", "opt-out", "ALTO"),
            ("Arrêt svp", "opt-out", "ARRET"),
            (
                "por favor dejen de enviarme mensajes",
                "phrase",
                "dejen de enviarme mensajes",
            ),
            (
                "Arrêtez de m'envoyer des textos",
                "phrase",
                "arretez de m'envoyer des messages",
            ),
            ("¿Quién es?", "review", "quien es"),
            ("c'est qui?", "review", "c est qui"),
            ("no dejen de enviarme ofertas", "review", "dejen de"),
            // Help and opt-in words outrank a cue, and a phrase outranks them.
            ("help", "help", "HELP"),
            ("start", "opt-in", "START"),
        ];
        for (text, want, keyword) in table {
            assert_eq!(
                kind(rules.classify(text)),
                (*want, keyword.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn opt_in_words_are_configurable_and_never_an_opt_out_or_help_word() {
        let rules = IntentRules::new(
            KeywordRules::default(),
            "start, Yes ,STOP,help,,unstop,START",
        );
        assert_eq!(rules.opt_in_words(), ["START", "YES", "UNSTOP"]);
        assert_eq!(kind(rules.classify("yes")), ("opt-in", "YES".into()));
        assert_eq!(kind(rules.classify("STOP")), ("opt-out", "STOP".into()));
        assert_eq!(kind(rules.classify("help")), ("help", "HELP".into()));
        let none = IntentRules::new(KeywordRules::default(), "");
        assert!(none.opt_in_words().is_empty());
        assert_eq!(kind(none.classify("START")), ("other", String::new()));
    }

    #[test]
    fn review_cues_are_configurable_and_continuations_skip_whole_message_rules() {
        let rules = IntentRules::default().with_review_cues(ReviewCues::from_config("refund"));
        assert_eq!(
            kind(rules.classify("I want a refund")),
            ("review", "refund".into())
        );
        assert_eq!(kind(rules.classify("don't stop")), ("other", String::new()));
        let rules = IntentRules::default();
        assert_eq!(
            kind(rules.classify_continuation("STOP")),
            ("review", "stop".into())
        );
        assert_eq!(
            kind(rules.classify_continuation("HELP")),
            ("other", String::new())
        );
        assert_eq!(
            kind(rules.classify_continuation("and so please stop texting me")),
            ("phrase", "stop texting me".into())
        );
    }
}
