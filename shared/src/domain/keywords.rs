//! Which inbound texts are opt-outs (rule 1 of docs/api.md "What a text asks for"): the
//! [`match_key`] is **the whole message** `STOP`, `STOPALL`, `STOP ALL`, `UNSUBSCRIBE`, `CANCEL`,
//! `END`, `QUIT`, `REVOKE`, `OPTOUT`, `OPT OUT` (CTIA's words, the FCC's 2024 TCPA order's, common
//! provider additions) or a configured extra word; or it **starts with** the word `STOP`,
//! `STOPALL`, `UNSUBSCRIBE`, `REVOKE` or `OPT OUT` ("STOP.Thanks"; not "Stopwatch"). Never by
//! substring.
//!
//! A word is a run of letters and digits. Decisions, each a row of the test table: a hyphen
//! separates ("stop-it" is an opt-out: where a rule could go either way it leans towards the
//! opt-out), a digit belongs to its word ("stop2" is not `stop`), symbols and emoji around the
//! text are trimmed ("STOP 🛑"). Accents are folded ("Stöp"): honouring more opt-outs is the safer
//! side legally, and no keyword becomes another ordinary word by losing its accents.
//!
//! One normalisation per message (a single allocation for ASCII text), then a handful of string
//! comparisons; no regex.

use crate::domain::language::Language;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Whole-message opt-outs: normalised form → canonical keyword, and the language that uses it.
/// English: CTIA's words and the FCC's 2024 order's; Spanish: the words carriers and messaging
/// platforms honour for Spanish-speaking audiences; French: ARRET (Canadian carriers) and common
/// usage. Each row's source (CTIA, FCC 24-24, carrier-CA, platform, usage) is tagged; the pages
/// behind each tag: testdata/revocations/README.md.
const WHOLE_MESSAGE: &[(&str, &str, Language)] = &[
    ("stop", "STOP", Language::En),               // CTIA
    ("stopall", "STOPALL", Language::En),         // platform (Twilio, Telnyx)
    ("stop all", "STOPALL", Language::En),        // platform
    ("unsubscribe", "UNSUBSCRIBE", Language::En), // CTIA
    ("cancel", "CANCEL", Language::En),           // CTIA
    ("end", "END", Language::En),                 // CTIA
    ("quit", "QUIT", Language::En),               // CTIA
    ("revoke", "REVOKE", Language::En),           // FCC 24-24
    ("optout", "OPT OUT", Language::En),          // FCC 24-24
    ("opt out", "OPT OUT", Language::En),         // FCC 24-24
    ("alto", "ALTO", Language::Es),               // platform (Twilio's Spanish short codes)
    ("para", "PARA", Language::Es),               // usage
    ("parar", "PARAR", Language::Es),             // platform (Aivo)
    ("pare", "PARAR", Language::Es),
    ("paren", "PARAR", Language::Es),
    ("detener", "DETENER", Language::Es), // platform (Sinch)
    ("baja", "BAJA", Language::Es),       // platform (Aivo)
    ("darme de baja", "BAJA", Language::Es),
    ("dar de baja", "BAJA", Language::Es),
    ("cancelar", "CANCELAR", Language::Es), // platform (Aivo)
    ("desuscribir", "DESUSCRIBIR", Language::Es), // platform (Aivo)
    ("desuscribirme", "DESUSCRIBIR", Language::Es),
    ("no mas", "NO MAS", Language::Es), // usage
    ("ya no mas", "NO MAS", Language::Es),
    ("salir", "SALIR", Language::Es), // platform (Sinch)
    ("fin", "FIN", Language::Es),     // usage
    ("arret", "ARRET", Language::Fr), // carrier-CA (CWTA)
    ("arreter", "ARRET", Language::Fr),
    ("arretez", "ARRET", Language::Fr),
    ("desabonner", "DESABONNER", Language::Fr), // usage
    ("desabonnement", "DESABONNER", Language::Fr),
    ("desinscrire", "DESINSCRIRE", Language::Fr), // usage
    ("desinscription", "DESINSCRIRE", Language::Fr),
    ("annuler", "ANNULER", Language::Fr), // usage
    ("fin", "FIN", Language::Fr),         // usage
];

/// Single-word keywords that also count as the first word of a longer message ("alto por
/// favor", "arret svp").
const PREFIX_WORDS: &[(&str, &str, Language)] = &[
    ("stop", "STOP", Language::En),
    ("stopall", "STOPALL", Language::En),
    ("unsubscribe", "UNSUBSCRIBE", Language::En),
    ("revoke", "REVOKE", Language::En),
    ("optout", "OPT OUT", Language::En),
    ("alto", "ALTO", Language::Es),
    ("paren", "PARAR", Language::Es),
    ("desuscribir", "DESUSCRIBIR", Language::Es),
    ("desuscribirme", "DESUSCRIBIR", Language::Es),
    ("arret", "ARRET", Language::Fr),
    ("desabonner", "DESABONNER", Language::Fr),
    ("desinscrire", "DESINSCRIRE", Language::Fr),
];

/// Words after a leading STOP that make it the other sense ("stop by later", "stop at the
/// store"): such a message is left to the phrase and review tiers.
const NOT_AFTER_STOP: &[&str] = &["by", "in", "at", "over", "sign", "light", "shop"];
/// Likewise after a leading ARRET ("arrêt de bus", "arrêt de travail").
const NOT_AFTER_ARRET: &[&str] = &["de", "du", "des"];

/// Two-word keywords that also count as the first two words of a longer message.
const PREFIX_PAIRS: &[(&str, &str, &str)] =
    &[("opt", "out", "OPT OUT"), ("stop", "all", "STOPALL")];

/// Normalise a message: NFKC, lower case (per `char`, no Greek final-sigma context), invisible
/// format characters (U+00AD, U+200B–U+200D, U+2060, U+FEFF) removed, inner white space runs
/// collapsed to one space, everything not alphanumeric trimmed from both ends.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.is_ascii() {
        // ASCII is already in NFKC.
        push_collapsed(&mut out, text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        // Invisible characters go before NFKC so they cannot block a composition ("e", ZWSP,
        // U+0301) that would otherwise only happen on a second pass.
        let visible = text.chars().filter(|&c| !is_invisible(c));
        push_collapsed(&mut out, visible.nfkc().flat_map(char::to_lowercase));
    }
    trim_in_place(&mut out);
    out
}

/// Appends `chars` without invisible characters and leading white space, runs collapsed (a
/// trailing space is left to [`trim_in_place`]).
fn push_collapsed(out: &mut String, chars: impl Iterator<Item = char>) {
    let mut pending_space = false;
    for c in chars {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
}

fn trim_in_place(s: &mut String) {
    let end = s.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
    s.truncate(end);
    let start = s.len() - s.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
    s.drain(..start);
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// [`normalize`], then diacritics folded ("arrêt" → "arret"), then the words (runs of letters
/// and digits) joined by one space: "Stop,please!" → "stop please". The key every comparison uses.
pub fn match_key(text: &str) -> String {
    let normalized = normalize(text);
    if normalized.is_ascii() {
        return words(&normalized);
    }
    let folded: String = normalized
        .nfd()
        .filter(|&c| !is_combining_mark(c))
        .nfc()
        .collect();
    words(&folded)
}

fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Opt-out keyword rules: the built-in words of the languages read plus configured
/// whole-message extras.
#[derive(Debug, Clone)]
pub struct KeywordRules {
    /// (match key, canonical upper-case keyword); few, so a linear scan beats hashing.
    extra: Vec<(String, String)>,
    languages: Vec<Language>,
}

impl Default for KeywordRules {
    fn default() -> Self {
        Self {
            extra: Vec::new(),
            languages: Language::ALL.to_vec(),
        }
    }
}

impl KeywordRules {
    /// Built-in words plus extra whole-message words from configuration (e.g. "ARRET"); blank,
    /// built-in and repeated entries ignored.
    pub fn with_extra_words<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut rules = KeywordRules::default();
        for word in extra {
            let key = match_key(word.as_ref());
            if key.is_empty()
                // An English built-in is always read; another language's may be turned off
                // (`LANGUAGES`), and then the configured word still counts.
                || WHOLE_MESSAGE
                    .iter()
                    .any(|(w, _, language)| *w == key && *language == Language::En)
                || rules.extra.iter().any(|(k, _)| *k == key)
            {
                continue;
            }
            let canonical = key.to_uppercase();
            rules.extra.push((key, canonical));
        }
        rules
    }

    /// Parse the config value: comma-separated words, e.g. "ARRET, TD".
    pub fn from_config(value: &str) -> Self {
        Self::with_extra_words(value.split(','))
    }

    /// Only the built-in words of `languages` (configured extras are read whatever the
    /// language).
    pub fn with_languages(mut self, languages: &[Language]) -> Self {
        self.languages = languages.to_vec();
        self
    }

    /// The canonical upper-case keyword ("STOP", "OPT OUT", "ARRET") when the text is an opt-out.
    pub fn opt_out_keyword(&self, text: &str) -> Option<String> {
        self.opt_out_keyword_in_key(&match_key(text))
    }

    /// [`KeywordRules::opt_out_keyword`] on a text already in [`match_key`] form.
    pub fn opt_out_keyword_in_key(&self, key: &str) -> Option<String> {
        if key.is_empty() {
            return None;
        }
        let read = |language: &Language| self.languages.contains(language);
        if let Some((_, canonical, _)) = WHOLE_MESSAGE
            .iter()
            .find(|(w, _, language)| *w == key && read(language))
        {
            return Some((*canonical).to_owned());
        }
        if let Some((_, canonical)) = self.extra.iter().find(|(k, _)| *k == key) {
            return Some(canonical.clone());
        }
        // A keyword with politeness around it ("Cancel please", "FIN svp", "baja gracias").
        let polite: Vec<&str> = key
            .split(' ')
            .filter(|w| !crate::domain::revocation::POLITE.contains(w))
            .collect();
        let polite = polite.join(" ");
        if !polite.is_empty() && polite != key {
            if let Some((_, canonical, _)) = WHOLE_MESSAGE
                .iter()
                .find(|(w, _, language)| *w == polite && read(language))
            {
                return Some((*canonical).to_owned());
            }
        }
        if let Some(keyword) = self.prefix_keyword(key) {
            return Some(keyword.to_owned());
        }
        // A keyword spelt out ("S T O P", "s.t.o.p", "ST OP") or drawn out ("STOOOP"): the
        // letters of the whole message, each run of one letter read once, are the keyword's.
        let squeezed = squeeze(&key.replace(' ', ""));
        if squeezed.len() < 3 || squeezed == key {
            return None;
        }
        if let Some((_, canonical, _)) = squeezed_keywords()
            .iter()
            .find(|(w, _, language)| *w == squeezed && read(language))
        {
            return Some((*canonical).to_owned());
        }
        self.extra
            .iter()
            .find(|(k, _)| squeeze(&k.replace(' ', "")) == squeezed)
            .map(|(_, canonical)| canonical.clone())
    }

    fn prefix_keyword(&self, key: &str) -> Option<&'static str> {
        let mut words = key.split(' ');
        let first = words.next()?;
        let second = words.next();
        if let Some(second) = second {
            if let Some((_, _, canonical)) = PREFIX_PAIRS
                .iter()
                .find(|(a, b, _)| *a == first && *b == second)
            {
                return Some(canonical);
            }
            if (first == "stop" && NOT_AFTER_STOP.contains(&second))
                || (first == "arret" && NOT_AFTER_ARRET.contains(&second))
            {
                return None;
            }
        }
        PREFIX_WORDS
            .iter()
            .find(|(w, _, language)| *w == first && self.languages.contains(language))
            .map(|(_, canonical, _)| *canonical)
    }
}

/// The language of a built-in canonical keyword (`ALTO` → Spanish); the first listed for a word
/// two languages share (`FIN`).
pub fn keyword_language(canonical: &str) -> Option<Language> {
    WHOLE_MESSAGE
        .iter()
        .find(|(_, c, _)| *c == canonical)
        .map(|(_, _, language)| *language)
}

/// A [`match_key`] with each run of three or more one-letter words joined into one word:
/// "s t o p texting me" (from "S.T.O.P texting me") → "stop texting me".
pub fn join_spelled(key: &str) -> String {
    let words: Vec<&str> = key.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let run = words[i..]
            .iter()
            .take_while(|w| w.chars().count() == 1)
            .count();
        if run >= 3 {
            out.push(words[i..i + run].concat());
            i += run;
        } else {
            out.push(words[i].to_owned());
            i += 1;
        }
    }
    out.join(" ")
}

/// The one-word built-in keywords, squeezed ([`squeeze`]), once per process: the spelt-out
/// check runs for every message that is no keyword.
fn squeezed_keywords() -> &'static [(String, &'static str, Language)] {
    static SQUEEZED: std::sync::OnceLock<Vec<(String, &'static str, Language)>> =
        std::sync::OnceLock::new();
    SQUEEZED.get_or_init(|| {
        WHOLE_MESSAGE
            .iter()
            .filter(|(w, _, _)| !w.contains(' '))
            .map(|(w, canonical, language)| (squeeze(w), *canonical, *language))
            .collect()
    })
}

/// Each run of one repeated letter read once ("stooop" → "stop").
fn squeeze(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_examples() {
        let table: &[(&str, &str)] = &[
            ("STOP", "stop"),
            ("  stop. ", "stop"),
            ("¡STOP!", "stop"),
            ("'Stop'", "stop"),
            ("\"STOP\"", "stop"),
            ("STOP 🛑", "stop"),
            ("🛑🛑 stop 🛑", "stop"),
            ("STOP👍🏽", "stop"),
            ("ＳＴＯＰ", "stop"),
            ("ＳＴＯＰ！", "stop"),
            ("sToP", "stop"),
            ("opt    out", "opt out"),
            ("stop\tall", "stop all"),
            ("OPT\nOUT", "opt out"),
            ("OPT\r\n  OUT", "opt out"),
            ("opt\u{3000}out", "opt out"), // ideographic space
            ("opt\u{a0}out", "opt out"),   // NBSP
            ("S\u{200B}TOP", "stop"),
            ("\u{FEFF}stop", "stop"),
            ("stop, please!", "stop, please"),
            ("Don't stop", "don't stop"),
            ("  Stop   texting   me!!  ", "stop texting me"),
            ("Arrêt", "arrêt"), // NFKC keeps accents; the matcher folds them
            ("ARRÊT", "arrêt"),
            ("ﬁn", "fin"), // ligature
            ("STOP 2", "stop 2"),
            ("", ""),
            ("   ", ""),
            ("?!...", ""),
            ("🛑", ""),
            ("\u{0}\u{7}stop\u{1b}", "stop"),
        ];
        for (input, expected) in table {
            assert_eq!(normalize(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn match_key_folds_diacritics() {
        assert_eq!(match_key("Arrêt"), "arret");
        assert_eq!(match_key("  STÖP! "), "stop");
        assert_eq!(match_key("e\u{301}nd"), "end");
        assert_eq!(match_key("QUİT"), "quit"); // Turkish dotted capital I
        assert_eq!(match_key("stop\u{301}"), "stop");
        assert_eq!(match_key("\u{301}"), "");
        assert_eq!(match_key("plain ascii"), "plain ascii");
    }

    #[test]
    fn opt_out_table() {
        let rules = KeywordRules::from_config("ARRET, TD");
        let table: &[(&str, Option<&str>)] = &[
            // Every whole-message keyword.
            ("STOP", Some("STOP")),
            ("STOPALL", Some("STOPALL")),
            ("STOP ALL", Some("STOPALL")),
            ("UNSUBSCRIBE", Some("UNSUBSCRIBE")),
            ("CANCEL", Some("CANCEL")),
            ("END", Some("END")),
            ("QUIT", Some("QUIT")),
            ("REVOKE", Some("REVOKE")),
            ("OPTOUT", Some("OPT OUT")),
            ("OPT OUT", Some("OPT OUT")),
            ("OPT-OUT", Some("OPT OUT")),
            // Case.
            ("sToP", Some("STOP")),
            ("stop", Some("STOP")),
            ("Cancel", Some("CANCEL")),
            ("end", Some("END")),
            ("Quit", Some("QUIT")),
            // Every prefix keyword followed by other words.
            ("Stop texting me", Some("STOP")),
            ("STOP please", Some("STOP")),
            ("stop, please", Some("STOP")),
            ("STOP!!! now", Some("STOP")),
            ("stop all messages", Some("STOPALL")),
            ("STOPALL please", Some("STOPALL")),
            ("Unsubscribe me", Some("UNSUBSCRIBE")),
            ("unsubscribe, thanks", Some("UNSUBSCRIBE")),
            ("Revoke consent", Some("REVOKE")),
            ("opt out please", Some("OPT OUT")),
            ("Optout now", Some("OPT OUT")),
            ("Opt-out, thanks", Some("OPT OUT")),
            ("OPT OUT!", Some("OPT OUT")),
            // Surrounding punctuation, symbols, emoji.
            ("STOP!", Some("STOP")),
            ("  stop. ", Some("STOP")),
            ("'Stop'", Some("STOP")),
            ("¡STOP!", Some("STOP")),
            ("STOP 🛑", Some("STOP")),
            ("🛑STOP🛑", Some("STOP")),
            ("(stop)", Some("STOP")),
            ("end.", Some("END")),
            // Unicode.
            ("ＳＴＯＰ", Some("STOP")),
            ("ｏｐｔ ｏｕｔ", Some("OPT OUT")),
            ("S\u{200B}TOP", Some("STOP")),
            ("Stöp", Some("STOP")),
            ("ÉND", Some("END")),
            ("QUİT", Some("QUIT")),
            // Inner white space.
            ("opt    out", Some("OPT OUT")),
            ("stop\tall", Some("STOPALL")),
            ("OPT\nOUT", Some("OPT OUT")),
            (" \t stop \n", Some("STOP")),
            // Punctuation between words separates them as white space does, for the
            // leading-keyword rule and the whole-message rule alike.
            ("Stop,please", Some("STOP")),
            ("STOP.Thanks", Some("STOP")),
            ("Stop!No more texts", Some("STOP")),
            ("UNSUBSCRIBE,thank you", Some("UNSUBSCRIBE")),
            ("stop...please", Some("STOP")),
            ("Stop;now", Some("STOP")),
            ("STOP/END", Some("STOP")),
            ("stop:)", Some("STOP")),
            ("Revoke,all of it", Some("REVOKE")),
            ("Opt-out,please", Some("OPT OUT")),
            ("OPT.OUT", Some("OPT OUT")),
            ("opt_out", Some("OPT OUT")),
            ("OPT-OUT.", Some("OPT OUT")),
            ("Stop-All", Some("STOPALL")),
            ("STOP,ALL", Some("STOPALL")),
            ("STOP.", Some("STOP")),
            ("STOP!!!", Some("STOP")),
            ("Stop 🛑please", Some("STOP")),
            ("Stop\u{2014}now", Some("STOP")), // em dash
            ("END.", Some("END")),
            ("Quit!", Some("QUIT")),
            ("Cancel!!", Some("CANCEL")),
            // Decided: a hyphen separates words too, so these are opt-outs (lean towards honouring).
            ("stop-it", Some("STOP")),
            ("stop-motion", Some("STOP")),
            // ... and these stay negative: the first word is not a keyword, or the keyword only
            // counts as the whole message.
            ("Don't stop.", None),
            ("Don't,stop", None),
            ("Non-stop", None),
            ("non-stop texts please", None),
            ("The-end", None),
            ("end-of-day report?", None),
            ("Cancel,my appointment", None),
            ("quit.it", None),
            ("Stopping,by later", None),
            ("stop2", None),
            // Configured extras: whole message only, accents folded.
            ("ARRET", Some("ARRET")),
            ("arret", Some("ARRET")),
            ("Arrêt", Some("ARRET")),
            ("ARRÊT!", Some("ARRET")),
            ("td", Some("TD")),
            ("Arrêt svp", Some("ARRET")),
            ("TD bank", None),
            // Traps: not opt-outs.
            ("Stopping", None),
            ("Stopwatch", None),
            ("stops", None),
            ("WEEKEND", None),
            ("The end", None),
            ("Don't stop", None),
            ("Please don't stop texting", None),
            ("See you at the end of the week", None),
            ("Cancel my appointment", None),
            ("end it", None),
            ("quit it", None),
            // Spelt out or drawn out: the keyword (issue 21).
            ("S T O P", Some("STOP")),
            ("s.t.o.p.", Some("STOP")),
            ("S-T-O-P", Some("STOP")),
            ("ST OP", Some("STOP")),
            ("STOOOOP", Some("STOP")),
            ("Sttopp!!", Some("STOP")),
            ("U N S U B S C R I B E", Some("UNSUBSCRIBE")),
            ("e.n.d", Some("END")),
            ("A L T O", Some("ALTO")),
            ("a-r-r-e-t", Some("ARRET")),
            // ... but not words that only share letters.
            ("s top it", None),
            ("end it", None),
            ("stop by later", None),
            ("Stop at the store on your way", None),
            ("opt in", None),
            ("opt", None),
            ("out", None),
            ("UNSTOP", None),
            ("nonstop", None),
            // Anything else.
            ("HELP", None),
            ("INFO", None),
            ("START", None),
            ("YES", None),
            ("Hi, what time is it?", None),
            ("", None),
            ("   ", None),
            ("?!", None),
            ("🛑", None),
        ];
        assert!(table.len() >= 40);
        for (text, expected) in table {
            assert_eq!(
                rules.opt_out_keyword(text).as_deref(),
                *expected,
                "text {text:?}"
            );
        }
    }

    #[test]
    fn each_language_brings_its_words_and_only_those_read_count() {
        let rules = KeywordRules::default();
        assert_eq!(rules.opt_out_keyword("ARRET").as_deref(), Some("ARRET"));
        assert_eq!(rules.opt_out_keyword("Alto").as_deref(), Some("ALTO"));
        assert_eq!(rules.opt_out_keyword("no más").as_deref(), Some("NO MAS"));
        let english = KeywordRules::default().with_languages(&[Language::En]);
        assert_eq!(english.opt_out_keyword("ARRET"), None);
        assert_eq!(english.opt_out_keyword("A L T O"), None);
        let configured = KeywordRules::from_config("ARRET").with_languages(&[Language::En]);
        assert_eq!(
            configured.opt_out_keyword("arrêt").as_deref(),
            Some("ARRET"),
            "OPT_OUT_EXTRA_WORDS keeps working whatever the languages"
        );
        assert_eq!(rules.opt_out_keyword("STOP").as_deref(), Some("STOP"));
        assert_eq!(
            rules.opt_out_keyword("stop please").as_deref(),
            Some("STOP")
        );
    }

    #[test]
    fn extra_words_are_normalised_and_blank_entries_ignored() {
        let rules = KeywordRules::from_config(" arrêt ,, ,TD,\tSTOP, td ,  Remove ");
        assert_eq!(
            rules.extra,
            vec![
                ("arret".to_owned(), "ARRET".to_owned()),
                ("td".to_owned(), "TD".to_owned()),
                ("remove".to_owned(), "REMOVE".to_owned()),
            ]
        );
        assert_eq!(rules.opt_out_keyword("REMOVE").as_deref(), Some("REMOVE"));
        assert_eq!(rules.opt_out_keyword("remove me"), None);

        let rules = KeywordRules::with_extra_words(["", "  ", "!!"]);
        assert!(rules.extra.is_empty());

        let rules = KeywordRules::with_extra_words(vec!["stop now".to_owned()]);
        assert_eq!(
            rules.opt_out_keyword("STOP  NOW!").as_deref(),
            Some("STOP NOW")
        );

        assert!(KeywordRules::from_config("").extra.is_empty());
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        let alphabet: Vec<char> = "sStToOpP \t\n!.,'-🛑é\u{301}\u{200B}ＳİßΣ\u{0}\u{FFFF}"
            .chars()
            .collect();
        let rules = KeywordRules::from_config("ARRET,TD");
        let mut rng = fastrand::Rng::with_seed(0x5709);
        for i in 0..2000usize {
            let s: String = (0..i % 12)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let _ = rules.opt_out_keyword(&s);
            // normalize is idempotent.
            let once = normalize(&s);
            assert_eq!(normalize(&once), once, "{s:?}");
        }
    }
}
