//! What an inbound text asks for: an opt-out, help, an opt-in, or nothing we act on.
//!
//! The order of the rules is the order of precedence, and it leans towards the opt-out:
//!
//! 1. an **opt-out keyword** ([`KeywordRules`]: STOP and the others, whole message or leading);
//! 2. **HELP** or **INFO** as the whole message (CTIA's help words): a HELP reply is owed;
//! 3. an **opt-in word** as the whole message: `START` and `UNSTOP` by default, configurable
//!    (`OPT_IN_WORDS`). `YES` only if configured: a person answers "yes" to many questions, and
//!    reading one as consent would be a wrongful resubscribe;
//! 4. anything else: nothing to do.
//!
//! Words are matched as the keyword rules match them (case, accents, punctuation and symbols
//! around the word ignored), and only as the whole message: "help me" or "start over" are not.

use crate::domain::keywords::{match_key, KeywordRules};

/// What a text asks for. Keywords are canonical and upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    OptOut { keyword: String },
    Help { keyword: String },
    OptIn { keyword: String },
    Other,
}

/// The help words CTIA names.
const HELP_WORDS: &[&str] = &["help", "info"];
/// The opt-in words when none are configured.
pub const DEFAULT_OPT_IN_WORDS: &str = "START,UNSTOP";

/// The rules for reading an inbound text: opt-out keywords, help words, opt-in words.
#[derive(Debug, Clone)]
pub struct IntentRules {
    pub opt_out: KeywordRules,
    /// Match keys of the opt-in words.
    opt_in: Vec<String>,
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
        Self { opt_out, opt_in }
    }

    /// The opt-in words in effect, upper case (for documentation and logs).
    pub fn opt_in_words(&self) -> Vec<String> {
        self.opt_in.iter().map(|w| w.to_uppercase()).collect()
    }

    pub fn classify(&self, text: &str) -> Intent {
        if let Some(keyword) = self.opt_out.opt_out_keyword(text) {
            return Intent::OptOut { keyword };
        }
        let key = match_key(text);
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
        Intent::Other
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
}
