//! What may be echoed from a Vonage answer into an error detail or a log line: never the API
//! secret, never a full phone number, never more than [`DETAIL_MAX_CHARS`] characters.

/// Longest echoed text (response snippet, error label) placed into an error `detail`.
pub const DETAIL_MAX_CHARS: usize = 200;

/// `body` with every occurrence of `secret` replaced by `[redacted]`.
pub fn redact_secret(body: Vec<u8>, secret: &str) -> Vec<u8> {
    let secret = secret.as_bytes();
    if secret.is_empty() || !contains(&body, secret) {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(secret) {
            out.extend_from_slice(b"[redacted]");
            i += secret.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Echoed text made safe for an error detail: control characters become spaces, phone-like
/// digit runs (6+ digits, maybe with separators) keep only their last 4 digits, at most
/// [`DETAIL_MAX_CHARS`] characters.
pub fn sanitize_snippet(text: &str) -> String {
    let chars: Vec<char> = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')' | '+');
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Extend over digits and separators, ending on the last digit.
        let start = i;
        let mut end = i; // exclusive end of the last digit seen
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || is_sep(chars[j])) {
            if chars[j].is_ascii_digit() {
                end = j + 1;
            }
            j += 1;
        }
        let run = &chars[start..end];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= 6 {
            let mut keep = 4;
            let mut masked: Vec<char> = run.to_vec();
            for c in masked.iter_mut().rev() {
                if c.is_ascii_digit() {
                    if keep > 0 {
                        keep -= 1;
                    } else {
                        *c = '*';
                    }
                }
            }
            out.extend(masked);
        } else {
            out.extend_from_slice(run);
        }
        i = end;
    }
    let mut s: String = out.into_iter().take(DETAIL_MAX_CHARS).collect();
    if text.trim().chars().count() > DETAIL_MAX_CHARS {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_masks_phone_numbers_and_truncates() {
        let s = sanitize_snippet("number 15559301529 and +1 (555) 930-1529, code 401, 2014-06");
        assert!(!s.contains("15559301529"), "{s}");
        assert!(s.contains("*******1529"), "{s}");
        assert!(!s.contains("555) 930"), "{s}");
        assert!(s.contains("401"), "{s}");
        let long = "x".repeat(1000);
        assert!(sanitize_snippet(&long).chars().count() <= DETAIL_MAX_CHARS + 1);
    }

    #[test]
    fn redact_removes_secret() {
        assert_eq!(
            redact_secret(b"a s3cr3t b s3cr3t".to_vec(), "s3cr3t"),
            b"a [redacted] b [redacted]"
        );
        assert_eq!(redact_secret(b"abc".to_vec(), ""), b"abc");
    }
}
