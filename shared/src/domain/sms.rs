//! How long a text is as an SMS: GSM-7 (the 3GPP TS 23.038 default alphabet and its extension
//! table) or, for anything else, UCS-2. One segment holds 160 GSM-7 characters (an extension
//! character such as `€` or `{` takes two) or 70 UTF-16 code units. A reply must fit one segment:
//! a multipart reply is several texts billed and delivered separately, and may arrive in pieces.

/// The basic GSM-7 alphabet (3GPP TS 23.038 §6.2.1), in table order.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (reached through the escape character, so each counts as two).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Characters in one single-part SMS.
pub const GSM7_SEGMENT: usize = 160;
pub const UCS2_SEGMENT: usize = 70;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Ucs2,
}

/// The alphabet a text needs, and its length in that alphabet's units (GSM-7 septets, counting
/// an extension character as two; or UTF-16 code units).
pub fn measure(text: &str) -> (Alphabet, usize) {
    let mut septets = 0;
    for c in text.chars() {
        if c != '\u{1b}' && BASIC.contains(c) {
            septets += 1;
        } else if EXTENSION.contains(c) {
            septets += 2;
        } else {
            return (Alphabet::Ucs2, text.encode_utf16().count());
        }
    }
    (Alphabet::Gsm7, septets)
}

pub fn fits_one_segment(text: &str) -> bool {
    match measure(text) {
        (Alphabet::Gsm7, n) => n <= GSM7_SEGMENT,
        (Alphabet::Ucs2, n) => n <= UCS2_SEGMENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabets_have_their_standard_sizes() {
        assert_eq!(BASIC.chars().count(), 128);
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn measuring() {
        assert_eq!(measure("STOP"), (Alphabet::Gsm7, 4));
        assert_eq!(measure("Msg&data rates may apply."), (Alphabet::Gsm7, 25));
        assert_eq!(measure("Café é à ü"), (Alphabet::Gsm7, 10));
        assert_eq!(measure("€5 {x}"), (Alphabet::Gsm7, 9));
        assert_eq!(measure("ç"), (Alphabet::Ucs2, 1)); // only the capital Ç is in GSM-7
        assert_eq!(measure("Stop 🛑"), (Alphabet::Ucs2, 7)); // the emoji is two code units
        assert_eq!(measure("\u{1b}"), (Alphabet::Ucs2, 1)); // the escape itself is no character
        assert_eq!(measure(""), (Alphabet::Gsm7, 0));
    }

    #[test]
    fn one_segment_limits() {
        assert!(fits_one_segment(&"a".repeat(160)));
        assert!(!fits_one_segment(&"a".repeat(161)));
        assert!(fits_one_segment(&"€".repeat(80)));
        assert!(!fits_one_segment(&format!("{}€", "a".repeat(159))));
        assert!(fits_one_segment(&"ж".repeat(70)));
        assert!(!fits_one_segment(&"ж".repeat(71)));
    }
}
