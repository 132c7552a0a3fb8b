//! Pagination cursors: opaque to callers, a versioned, base64url-encoded position in a list
//! (`v1:` and a JSON array of the position's parts). One codec for every list.

use super::StoreError;
use base64::Engine;

const VERSION: &str = "v1:";

/// The cursor of a position given by its parts.
pub fn encode(parts: &[&str]) -> String {
    let json = serde_json::to_string(parts).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{VERSION}{json}"))
}

/// A cursor's `N` parts; anything we did not issue is [`StoreError::BadCursor`]. A cursor of one
/// part issued before the parts were JSON (`v1:<digits>`) reads as that one part.
pub fn decode<const N: usize>(cursor: &str) -> Result<[String; N], StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::BadCursor)?;
    let payload = text.strip_prefix(VERSION).ok_or(StoreError::BadCursor)?;
    let parts: Vec<String> = match serde_json::from_str(payload) {
        Ok(parts) => parts,
        Err(_) if N == 1 && !payload.is_empty() && payload.bytes().all(|b| b.is_ascii_digit()) => {
            vec![payload.to_owned()]
        }
        Err(_) => return Err(StoreError::BadCursor),
    };
    parts.try_into().map_err(|_| StoreError::BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let c = encode(&["14155550100"]);
        assert_eq!(decode::<1>(&c).ok(), Some(["14155550100".to_string()]));
        let three = encode(&["a", "b#c", "d"]);
        assert_eq!(
            decode::<3>(&three).ok(),
            Some(["a".to_string(), "b#c".to_string(), "d".to_string()])
        );
        assert!(decode::<1>(&three).is_err(), "a cursor of another list");
        // What the previous version issued for the opted-out list.
        let legacy = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1:14155550100");
        assert_eq!(decode::<1>(&legacy).ok(), Some(["14155550100".to_string()]));
        for bad in ["", "!!", "djE6W10", "djI6W10", "djI6MTIz"] {
            assert!(
                matches!(decode::<1>(bad), Err(StoreError::BadCursor)),
                "{bad}"
            );
        }
    }
}
