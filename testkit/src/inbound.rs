//! Serialising an [`InboundSms`] back into the request Vonage would have sent, in each encoding,
//! for the "parse, re-serialise, re-parse gives the same message" property. Shared by the
//! property tests (`shared/tests/integration/prop_webhook.rs`) and the fuzz targets (`fuzz/`), which include
//! this file by path.
#![allow(dead_code)]

use shared::domain::inbound::{self, Api, Encoding, InboundSms, ParseError};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// A request as the webhook sees it: method, content type, query, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    pub method: &'static str,
    pub content_type: Option<&'static str>,
    pub query: Option<String>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn parse(&self) -> Result<InboundSms, ParseError> {
        inbound::extract(
            self.method,
            self.content_type,
            self.query.as_deref(),
            &self.body,
        )?
        .interpret()
    }
}

/// The SMS API parameters carrying `m` (`None` when a field cannot be written in that API, e.g.
/// a timestamp outside what Vonage's date format can express).
pub fn sms_params(m: &InboundSms) -> Option<Vec<(String, String)>> {
    let mut params = vec![
        ("msisdn".to_string(), m.msisdn.as_str().to_string()),
        ("to".to_string(), m.to.clone()),
        ("messageId".to_string(), m.message_id.clone()),
        ("text".to_string(), m.text.clone()),
    ];
    if let Some(t) = &m.message_type {
        params.push(("type".into(), t.clone()));
    }
    if let Some(part) = m.concat_part {
        params.push(("concat".into(), "true".into()));
        params.push(("concat-part".into(), part.to_string()));
    }
    if let Some(sent) = m.sent_at {
        let utc = sent.to_offset(time::UtcOffset::UTC);
        let date = utc
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()?;
        params.push(("message-timestamp".into(), date));
    }
    Some(params)
}

/// The Messages API JSON body carrying `m`.
pub fn messages_json(m: &InboundSms) -> Option<Vec<u8>> {
    let mut object = serde_json::json!({
        "channel": m.channel,
        "message_uuid": m.message_id,
        "to": m.to,
        "from": m.msisdn.as_str(),
        "text": m.text,
    });
    if let Some(t) = &m.message_type {
        object["message_type"] = t.clone().into();
    }
    if let Some(sent) = m.sent_at {
        object["timestamp"] = sent.format(&Rfc3339).ok()?.into();
    }
    serde_json::to_vec(&object).ok()
}

/// `m` in the given encoding of its own API.
pub fn wire(m: &InboundSms, encoding: Encoding) -> Option<Wire> {
    if m.api == Api::Messages {
        return Some(Wire {
            method: "POST",
            content_type: Some("application/json"),
            query: None,
            body: messages_json(m)?,
        });
    }
    let params = sms_params(m)?;
    Some(match encoding {
        Encoding::GetQuery => Wire {
            method: "GET",
            content_type: None,
            query: Some(serde_urlencoded::to_string(&params).ok()?),
            body: Vec::new(),
        },
        Encoding::PostForm => Wire {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            query: None,
            body: serde_urlencoded::to_string(&params).ok()?.into_bytes(),
        },
        Encoding::PostJson => {
            let object: serde_json::Map<String, serde_json::Value> = params
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            Wire {
                method: "POST",
                content_type: Some("application/json"),
                query: None,
                body: serde_json::to_vec(&object).ok()?,
            }
        }
    })
}

/// Every field of `a` and `b` but the encoding (which the wire chooses).
pub fn same_message(a: &InboundSms, b: &InboundSms) -> bool {
    a.msisdn == b.msisdn
        && a.to == b.to
        && a.message_id == b.message_id
        && a.text == b.text
        && a.sent_at == b.sent_at
        && a.api == b.api
        && a.message_type == b.message_type
        && a.concat_part == b.concat_part
        && a.channel == b.channel
}

/// The round-trip property for one parsed message: in every encoding of its API, it parses
/// back to the same message. `Err` describes the first difference.
pub fn check_round_trip(m: &InboundSms) -> Result<(), String> {
    let encodings: &[Encoding] = match m.api {
        Api::Sms => &[Encoding::GetQuery, Encoding::PostForm, Encoding::PostJson],
        Api::Messages => &[Encoding::PostJson],
    };
    for &encoding in encodings {
        let Some(wire) = wire(m, encoding) else {
            continue;
        };
        match wire.parse() {
            Ok(again) if same_message(m, &again) && again.encoding == encoding => {}
            Ok(again) => {
                return Err(format!(
                    "{encoding:?}: {m:?} came back as {again:?} from {wire:?}"
                ))
            }
            Err(e) => return Err(format!("{encoding:?}: {m:?} failed to parse again: {e}")),
        }
    }
    Ok(())
}
