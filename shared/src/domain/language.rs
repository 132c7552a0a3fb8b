//! The languages revocations are read in, and replies written in (`LANGUAGES`, a program's
//! `languages`): English, Spanish (a US sender's second audience) and French (Canadian carriers
//! require ARRET).

crate::named_enum! {
    #[derive(PartialOrd, Ord)]
    #[strum(serialize_all = "lowercase")]
    pub enum Language {
        En,
        Es,
        Fr,
    }
}

/// `LANGUAGES` unset: every language we read. Reading one more language can only honour more
/// opt-outs: the careful side.
pub const DEFAULT_LANGUAGES: &str = "en,es,fr";

/// A comma-separated list (`en,es`), each once, at least one. English is always read: CTIA's
/// STOP is honoured in every program, whatever language it speaks.
pub fn parse_languages(value: &str) -> Result<Vec<Language>, String> {
    let mut languages = vec![Language::En];
    let codes: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if codes.is_empty() {
        return Err("at least one of en, es, fr".into());
    }
    for code in codes {
        let language = Language::parse(&code.to_ascii_lowercase())
            .ok_or_else(|| format!("{code:?} is not one of en, es, fr"))?;
        if !languages.contains(&language) {
            languages.push(language);
        }
    }
    Ok(languages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_languages() {
        assert_eq!(
            parse_languages(DEFAULT_LANGUAGES),
            Ok(vec![Language::En, Language::Es, Language::Fr])
        );
        assert_eq!(
            parse_languages(" ES , en,es"),
            Ok(vec![Language::En, Language::Es])
        );
        assert_eq!(parse_languages("fr"), Ok(vec![Language::En, Language::Fr]));
        assert!(parse_languages("en,de").is_err());
        assert!(parse_languages(" , ").is_err());
    }
}
