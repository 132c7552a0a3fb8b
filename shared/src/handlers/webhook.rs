//! The `unsubscribe-webhook` function: Vonage's inbound SMS webhook (docs/api.md "The webhook").
//! An opt-out keyword or clear revocation phrase is recorded as an opt-out, a revocation cue
//! opens a review item, HELP and opt-in words are recorded, anything else is dropped. Every
//! valid message is answered 200 (any other answer makes Vonage resend for 24 hours); 503 only
//! when storage failed, so Vonage retries and nothing is lost.

use crate::adapters::config::{ConfigError, Settings};
use crate::adapters::metrics::{Metric, Metrics};
use crate::adapters::provider::ProviderMode;
use crate::adapters::store::Store;
use crate::domain::consent::{self, ConsentRequest};
use crate::domain::event::Status;
use crate::domain::event::{Event, EventKind, Outcome};
use crate::domain::inbound::{self, InboundSms, RawInbound};
use crate::domain::intent::{Intent, IntentRules, DEFAULT_OPT_IN_WORDS};
use crate::domain::keywords::KeywordRules;
use crate::domain::language::{parse_languages, DEFAULT_LANGUAGES};
use crate::domain::origin::{InboundMessage, Origin};
use crate::domain::program::{newest_in, Program, Programs, Reach, RevokeAll, Scope};
use crate::domain::replies::SOURCE_SMS;
use crate::domain::review::{self, Review, ReviewStatus};
use crate::domain::revocation::ReviewCues;
use crate::domain::signature::{self, SignatureMethod};
use crate::domain::timestamp;
use crate::handlers::http::{json_response, ApiError, ErrorCode};
use crate::handlers::routing::{self, Selected};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// An inbound SMS, even a Messages API one with every optional field, is a few KiB.
pub const BODY_LIMIT: usize = 64 * 1024;
const ROUTE: &str = "/webhooks/inbound";
const FUNCTION: &str = "unsubscribe-webhook";
/// Every (method, path) this function serves; `template.yaml` must route exactly these to it
/// (checked by `shared/tests/integration/template_routes.rs`).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/webhooks/inbound"),
    ("POST", "/webhooks/inbound"),
    ("GET", "/webhooks/inbound/{token}"),
    ("POST", "/webhooks/inbound/{token}"),
];

/// How the webhook knows a request came from Vonage.
#[derive(Clone, Default)]
pub struct WebhookAuth {
    /// Signed webhooks: secret and method.
    pub signature: Option<(String, SignatureMethod)>,
    /// For accounts without signing: an unguessable path segment registered with Vonage as
    /// `/webhooks/inbound/<token>`. When set, requests without it are refused.
    pub token: Option<String>,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuth")
            .field("signature", &self.signature.as_ref().map(|(_, m)| m))
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Everything the webhook needs, built once per container.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub store: Store,
    pub intents: IntentRules,
    /// The rules of programs that declare their own `languages`.
    pub program_intents: Vec<(crate::domain::program::ProgramId, IntentRules)>,
    pub auth: WebhookAuth,
    /// Decides what an opt-in by text records: a resubscribe, or (`short-code-api`) a request the
    /// notify function takes to Vonage first. A program's own `provider_mode` wins.
    pub mode: ProviderMode,
    /// Which program a message's `to` belongs to, and what an opt-out ends.
    pub programs: Programs,
    pub revoke_all: RevokeAll,
    /// How long after a revoke-all confirmation a program's keep keyword restores it
    /// (`CLARIFICATION_HOURS`).
    pub clarification_window: time::Duration,
}

/// `CLARIFICATION_HOURS` unset (docs/decisions/0005-programs.md).
pub const DEFAULT_CLARIFICATION_HOURS: i64 = 24;

impl Webhook {
    /// Default rules (no extra words, START and UNSTOP), `short-code-api` mode.
    pub fn new(store: Store, auth: WebhookAuth) -> Self {
        Self {
            store,
            intents: IntentRules::default(),
            program_intents: Vec::new(),
            auth,
            mode: ProviderMode::default(),
            programs: Programs::single(""),
            revoke_all: RevokeAll::default(),
            clarification_window: time::Duration::hours(DEFAULT_CLARIFICATION_HOURS),
        }
    }

    /// Settings: docs/configuration.md.
    pub fn from_settings(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let method = match settings.get("VONAGE_SIGNATURE_METHOD") {
            None => SignatureMethod::default(),
            Some(m) => m.parse().map_err(|e| ConfigError::Invalid {
                name: "VONAGE_SIGNATURE_METHOD",
                reason: format!("{e:?}"),
            })?,
        };
        let auth = WebhookAuth {
            signature: settings
                .get("VONAGE_SIGNATURE_SECRET")
                .map(|s| (s.to_string(), method)),
            token: settings.get("WEBHOOK_TOKEN").map(String::from),
        };
        if auth.signature.is_none() && auth.token.is_none() {
            tracing::warn!("neither VONAGE_SIGNATURE_SECRET nor WEBHOOK_TOKEN is set: the webhook accepts unauthenticated requests");
        }
        let languages = parse_languages(settings.get("LANGUAGES").unwrap_or(DEFAULT_LANGUAGES))
            .map_err(|reason| ConfigError::Invalid {
                name: "LANGUAGES",
                reason,
            })?;
        let rules = |languages: &[crate::domain::language::Language]| {
            let mut languages = languages.to_vec();
            if !languages.contains(&crate::domain::language::Language::En) {
                languages.insert(0, crate::domain::language::Language::En);
            }
            IntentRules::new(
                KeywordRules::from_config(settings.get("OPT_OUT_EXTRA_WORDS").unwrap_or("")),
                settings.get("OPT_IN_WORDS").unwrap_or(DEFAULT_OPT_IN_WORDS),
            )
            .with_languages(&languages)
            .with_review_cues(ReviewCues::from_config_in(
                settings.get("REVIEW_CUES").unwrap_or("default"),
                &languages,
            ))
        };
        let intents = rules(&languages);
        let programs = Programs::from_settings(settings)?;
        let program_intents = programs
            .all()
            .iter()
            .filter(|p| !p.languages.is_empty())
            .map(|p| (p.id.clone(), rules(&p.languages)))
            .collect();
        check_keep_keywords(&intents, &programs)?;
        Ok(Self {
            store,
            intents,
            program_intents,
            auth,
            mode: ProviderMode::from_settings(settings)?,
            programs,
            revoke_all: RevokeAll::from_settings(settings)?,
            clarification_window: clarification_window(settings)?,
        })
    }

    /// The Lambda handler. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let mut log = LogLine::default();
        let result = self.process(&req, &mut log).await;
        let metric = match &result {
            Ok(handled) => handled.metric(),
            Err(err) => err.code.metric(),
        };
        if let Some(metric) = metric {
            for document in metric_documents(metric, log.program.as_deref()) {
                document.emit();
            }
        }
        let (outcome, error) = match &result {
            Ok(handled) => (Some(handled.as_str()), None),
            Err(err) => (None, Some(err.code.as_str())),
        };
        let response = match result {
            Ok(handled) => json_response(StatusCode::OK, &handled.reply()),
            Err(err) => err.into_response(),
        };
        tracing::info!(
            request_id,
            route = ROUTE,
            method = req.method().as_str(),
            status = response.status().as_u16(),
            outcome,
            error,
            msisdn = log.msisdn,
            message_id = log.message_id,
            api = log.api,
            encoding = log.encoding,
            keyword = log.keyword,
            phrase = log.phrase,
            cue = log.cue,
            review_id = log.review_id,
            program = log.program,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "inbound webhook"
        );
        response
    }

    async fn process(&self, req: &Request, log: &mut LogLine) -> Result<Handled, ApiError> {
        ApiError::check_readable(req)?;
        // The path's token segment is decoded once and compared whole (`routing`).
        let token = match routing::select(req, ROUTES) {
            Selected::Route { params, .. } => params.into_iter().next(),
            Selected::MethodNotAllowed { allow } => {
                return Err(ApiError::method_not_allowed(&allow))
            }
            Selected::NotFound => {
                return Err(ApiError::not_found(format!(
                    "no such route; the webhook is {ROUTE}"
                )))
            }
        };
        if let Some(expected) = &self.auth.token {
            let given = token.as_deref().unwrap_or("");
            if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(ApiError::new(
                    ErrorCode::InvalidToken,
                    "the webhook URL's token is missing or wrong",
                ));
            }
        }
        let body = req.body().as_ref();
        if body.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large(BODY_LIMIT));
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let raw = inbound::extract(req.method().as_str(), content_type, req.uri().query(), body)?;
        let received_at = timestamp::now();
        if let Some((secret, method)) = &self.auth.signature {
            match &raw {
                RawInbound::Sms { params, .. } => {
                    let pairs: Vec<(&str, &str)> = params
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    signature::verify_sms(&pairs, secret, *method, received_at)
                }
                RawInbound::Messages { .. } => {
                    let authorization = req
                        .headers()
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    signature::verify_messages_jwt(authorization, body, secret, received_at)
                }
            }?;
        }
        let message = raw.interpret()?;
        log.msisdn = Some(message.msisdn.masked());
        log.message_id = Some(message.message_id.clone());
        log.api = Some(message.api.as_str());
        log.encoding = Some(message.encoding.as_str());

        let program = self.programs.for_number(&message.to);
        let intents = self
            .program_intents
            .iter()
            .find(|(id, _)| *id == program.id)
            .map_or(&self.intents, |(_, rules)| rules);
        let intent = if message.is_keyword_candidate() {
            intents.classify(&message.text)
        } else if message.is_continuation() {
            intents.classify_continuation(&message.text)
        } else {
            Intent::Other
        };
        if self.programs.declared() {
            log.program = Some(program.id.to_string());
        }
        let mode = program.mode(self.mode);
        let (kind, words): (EventKind, MatchedWords) = match intent {
            Intent::Other if !message.is_keyword_candidate() => return Ok(Handled::Ignored),
            Intent::Other => {
                if let Some((keep, word)) = self.programs.keep_keyword_in(&message.text) {
                    log.keyword = Some(word);
                    return self.keep(&message, keep, received_at).await;
                }
                if program.is_join(&message.text) {
                    log.keyword = program.join_keyword.clone();
                    return self.join(&message, program, received_at).await;
                }
                // Read only where a join can be waiting: most messages reach here.
                if program.join_keyword.is_some()
                    && program.confirm_join
                    && consent::is_confirmation(&message.text)
                {
                    log.keyword = Some(consent::CONFIRM_WORDS[0].into());
                    return self.confirm_join(&message, program, received_at).await;
                }
                return Ok(Handled::Ignored);
            }
            Intent::ReviewCue { cue } => {
                log.cue = Some(cue.clone());
                return self.open_review(&message, cue, received_at, log).await;
            }
            Intent::OptOut { keyword } => (EventKind::OptOut, MatchedWords::Keyword(keyword)),
            Intent::Revocation { phrase } => (EventKind::OptOut, MatchedWords::Phrase(phrase)),
            Intent::Help { keyword } => (EventKind::Help, MatchedWords::Keyword(keyword)),
            // Where Vonage's block must be lifted first, only its confirmation may clear the
            // opt-out: the request is noted, and the notify function asks Vonage.
            Intent::OptIn { keyword } if mode == ProviderMode::ShortCodeApi => {
                (EventKind::OptInRequest, MatchedWords::Keyword(keyword))
            }
            Intent::OptIn { keyword } => (EventKind::Resubscribe, MatchedWords::Keyword(keyword)),
        };
        match &words {
            MatchedWords::Keyword(keyword) => log.keyword = Some(keyword.clone()),
            MatchedWords::Phrase(phrase) => log.phrase = Some(phrase.clone()),
        }
        let scopes = if kind == EventKind::OptOut {
            let keyword = match &words {
                MatchedWords::Keyword(keyword) => Some(keyword.as_str()),
                MatchedWords::Phrase(_) => None,
            };
            let reach = Reach::of_message(keyword, &message.text);
            let at = message_time(&message, received_at);
            self.programs
                .opt_out_scopes(program, reach, self.revoke_all, at)
        } else {
            vec![self.programs.own_scope(program)]
        };
        let event = inbound_event(&message, kind, words, scopes, received_at);
        let outcome = self.store.record(&event).await?;
        Ok(match kind {
            EventKind::OptOut => Handled::OptedOut(outcome),
            EventKind::Help => Handled::Help(outcome),
            EventKind::OptInRequest => Handled::OptInRequested(outcome),
            _ => Handled::OptedIn(outcome),
        })
    }

    /// A program's keep keyword: within the window after a revoke-all opt-out by text (whose
    /// confirmation offered it), and with nothing newer reaching the program, a resubscribe to
    /// that program alone, with the revocation it answers as evidence. Otherwise nothing: no
    /// answer keeps everything ended.
    async fn keep(
        &self,
        message: &InboundSms,
        keep: &Program,
        received_at: time::OffsetDateTime,
    ) -> Result<Handled, ApiError> {
        let at = message_time(message, received_at);
        let states = self.store.scoped_states(&message.msisdn).await?;
        let revocation = states
            .iter()
            .find(|(scope, _)| *scope == Scope::ConsentRequired)
            .map(|(_, state)| state);
        let newest = newest_in(&states, &self.programs.scopes_reaching(keep));
        let answers = match (revocation, newest) {
            (Some(revocation), Some(newest)) => {
                keep.consent_required
                    && newest.event_id == revocation.event_id
                    && revocation.status == Status::OptedOut
                    && revocation.source == SOURCE_SMS
                    && at >= revocation.since
                    && at - revocation.since <= self.clarification_window
            }
            _ => false,
        };
        if !answers {
            tracing::info!(
                program = keep.id.as_str(),
                "a keep keyword with no revoke-all opt-out in its window to answer: nothing changes"
            );
            return Ok(Handled::Ignored);
        }
        let mut event = inbound_event(
            message,
            EventKind::Resubscribe,
            MatchedWords::Keyword(keep.keep_keyword.clone().unwrap_or_default()),
            vec![Scope::Program(keep.id.clone())],
            received_at,
        );
        if let (Origin::Message(evidence), Some(revocation)) = (&mut event.origin, revocation) {
            evidence.clarifies = Some(revocation.event_id.clone());
        }
        Ok(Handled::OptedIn(self.store.record(&event).await?))
    }

    /// A program's join keyword. With confirmation asked (double opt-in), the join is noted and
    /// waits for a YES within the program's window (the notify function sends the prompt);
    /// without, it is an opt-in by text as START is, recorded as a consent.
    async fn join(
        &self,
        message: &InboundSms,
        program: &Program,
        received_at: time::OffsetDateTime,
    ) -> Result<Handled, ApiError> {
        let word = MatchedWords::Keyword(program.join_keyword.clone().unwrap_or_default());
        let scopes = vec![self.programs.own_scope(program)];
        if !program.confirm_join {
            let kind = match program.mode(self.mode) {
                ProviderMode::ShortCodeApi => EventKind::OptInRequest,
                _ => EventKind::Consent,
            };
            let event = inbound_event(message, kind, word, scopes, received_at);
            let outcome = self.store.record(&event).await?;
            return Ok(match kind {
                EventKind::OptInRequest => Handled::OptInRequested(outcome),
                _ => Handled::OptedIn(outcome),
            });
        }
        let event = inbound_event(
            message,
            EventKind::ConsentRequest,
            word,
            scopes,
            received_at,
        );
        let request = ConsentRequest {
            program: program.id.clone(),
            request_event_id: event.event_id.clone(),
            requested_at: event.occurred_at,
            expires_at: event.occurred_at + program.confirm_window(),
        };
        let outcome = self.store.open_consent_request(&event, &request).await?;
        Ok(Handled::JoinRequested(outcome))
    }

    /// A YES to a program with a join waiting: within the window, the consent, with the join
    /// it confirms as its evidence (one consent per join, however many YES). Otherwise nothing:
    /// an expired join keeps only its history entry.
    async fn confirm_join(
        &self,
        message: &InboundSms,
        program: &Program,
        received_at: time::OffsetDateTime,
    ) -> Result<Handled, ApiError> {
        let at = message_time(message, received_at);
        let waiting = self
            .store
            .consent_request(&message.msisdn, &program.id)
            .await?;
        let Some(request) = waiting.filter(|r| r.open_at(at)) else {
            tracing::info!(
                program = program.id.as_str(),
                "a YES with no join waiting in its window: nothing recorded"
            );
            return Ok(Handled::Ignored);
        };
        let mut event = inbound_event(
            message,
            EventKind::Consent,
            MatchedWords::Keyword(consent::CONFIRM_WORDS[0].into()),
            vec![self.programs.own_scope(program)],
            received_at,
        );
        event.event_id = consent::confirmed_event_id(&request.request_event_id);
        if let Origin::Message(evidence) = &mut event.origin {
            evidence.confirms = Some(request.request_event_id.clone());
        }
        let outcome = self.store.record(&event).await?;
        self.store
            .close_consent_request(&message.msisdn, &request)
            .await?;
        Ok(Handled::OptedIn(outcome))
    }

    /// A message with a revocation cue and no clear wording: a review item for a person, due
    /// 10 business days after receipt. The state is not touched; a redelivery opens nothing new.
    async fn open_review(
        &self,
        message: &InboundSms,
        cue: String,
        received_at: time::OffsetDateTime,
        log: &mut LogLine,
    ) -> Result<Handled, ApiError> {
        let message_event_id = message_event_id(message);
        let id = review::review_id(&message.msisdn, &message_event_id);
        log.review_id = Some(id.clone());
        let Some(due) = review::due_date(received_at) else {
            // Only past the year 9999: the message is acknowledged rather than refused forever.
            tracing::error!("no due date for a review item");
            return Ok(Handled::Ignored);
        };
        let item = Review {
            id,
            msisdn: message.msisdn.clone(),
            status: ReviewStatus::Open,
            due: review::Due::Day(due),
            cue,
            text: message.text.chars().take(160).collect(),
            message_id: message.message_id.clone(),
            message_event_id,
            short_code: message.to.clone(),
            message_at: message_time(message, received_at),
            received_at,
            resolution: None,
        };
        Ok(match self.store.open_review(&item).await? {
            true => Handled::Review(ReviewOpened::Opened),
            false => Handled::Review(ReviewOpened::Duplicate),
        })
    }
}

/// A count by function and, with programs, the same count by program: which program people
/// leave (the dashboard's per-program widget).
fn metric_documents(metric: Metric, program: Option<&str>) -> Vec<Metrics> {
    let mut documents = vec![Metrics::new(FUNCTION).count(metric)];
    if let Some(program) = program {
        documents.push(
            Metrics::new(FUNCTION)
                .dimension("Program", program)
                .count(metric),
        );
    }
    documents
}

/// A program's keep and join keywords, and the YES a join waits for, must mean nothing else:
/// a keep keyword read as START would resubscribe the program texted instead of the one
/// offered, one read as STOP would end it; a YES read as START would skip the confirmation.
fn check_keep_keywords(intents: &IntentRules, programs: &Programs) -> Result<(), ConfigError> {
    for program in programs.all() {
        let confirms = program.join_keyword.is_some() && program.confirm_join;
        let words = [
            ("keep_keyword", program.keep_keyword.as_deref()),
            ("join_keyword", program.join_keyword.as_deref()),
        ]
        .into_iter()
        .filter_map(|(what, word)| word.map(|w| (what, w)))
        .chain(
            consent::CONFIRM_WORDS
                .into_iter()
                .filter(|_| confirms)
                .map(|w| ("the confirmation word", w)),
        );
        for (what, word) in words {
            if intents.classify(word) != Intent::Other {
                return Err(ConfigError::Invalid {
                    name: "PROGRAMS",
                    reason: format!(
                        "program {}: {what} {word} is already an opt-out, HELP, opt-in or review word",
                        program.id
                    ),
                });
            }
        }
    }
    Ok(())
}

fn clarification_window(settings: &Settings) -> Result<time::Duration, ConfigError> {
    let hours = match settings.get("CLARIFICATION_HOURS") {
        None => DEFAULT_CLARIFICATION_HOURS,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|h| (0..=720).contains(h))
            .ok_or(ConfigError::Invalid {
                name: "CLARIFICATION_HOURS",
                reason: "hours, 0 to 720".into(),
            })?,
    };
    Ok(time::Duration::hours(hours))
}

/// What an inbound event records as the reason it was acted on (canonical forms).
enum MatchedWords {
    Keyword(String),
    Phrase(String),
}

/// `sms:<messageId>` or `msg:<message_uuid>`.
fn message_event_id(message: &InboundSms) -> String {
    let api_prefix = match message.api {
        inbound::Api::Sms => "sms",
        inbound::Api::Messages => "msg",
    };
    format!("{api_prefix}:{}", message.message_id)
}

/// The message's own time decides ordering; absent, or ahead of our clock (a skewed or forged
/// timestamp must not make an event "newest" forever), our receipt time is used.
fn message_time(message: &InboundSms, received_at: time::OffsetDateTime) -> time::OffsetDateTime {
    message
        .sent_at
        .map_or(received_at, |sent| sent.min(received_at))
}

/// The history entry for an inbound message we act on: the evidence a compliance review asks
/// for (for an opt-in by text, the consent: the person's own message).
fn inbound_event(
    message: &InboundSms,
    kind: EventKind,
    words: MatchedWords,
    scopes: Vec<Scope>,
    received_at: time::OffsetDateTime,
) -> Event {
    let (keyword, phrase) = match words {
        MatchedWords::Keyword(keyword) => (Some(keyword), None),
        MatchedWords::Phrase(phrase) => (None, Some(phrase)),
    };
    let language = keyword
        .as_deref()
        .or(phrase.as_deref())
        .and_then(crate::domain::intent::language_of);
    Event {
        scopes,
        msisdn: message.msisdn.clone(),
        kind,
        event_id: message_event_id(message),
        occurred_at: message_time(message, received_at),
        received_at,
        origin: Origin::Message(InboundMessage {
            message_id: message.message_id.clone(),
            short_code: message.to.clone(),
            keyword,
            phrase,
            clarifies: None,
            confirms: None,
            language,
            text: message.text.chars().take(160).collect(),
            api: message.api,
            encoding: message.encoding,
            message_timestamp: message.sent_at.map(timestamp::format),
            extra: Default::default(),
        }),
    }
}

/// What the webhook did with a valid inbound message: every such message is answered 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    OptedOut(Outcome),
    /// HELP or INFO, noted in history (never changes the state).
    Help(Outcome),
    /// An opt-in by text, recorded as a resubscribe.
    OptedIn(Outcome),
    /// An opt-in by text in `short-code-api` mode, noted for the notify function to take to
    /// Vonage; the opt-out stands until Vonage confirms.
    OptInRequested(Outcome),
    /// A join by text to a program that asks for confirmation: waiting for YES.
    JoinRequested(Outcome),
    /// A revocation cue: a review item opened (or already open for this message).
    Review(ReviewOpened),
    /// Acknowledged, nothing stored.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOpened {
    Opened,
    /// A redelivery of a message already under review.
    Duplicate,
}

impl Handled {
    /// The log line's `outcome`: what the message was, then what recording it did.
    pub fn as_str(self) -> &'static str {
        match self {
            Handled::OptedOut(Outcome::Applied) => "opted_out",
            Handled::OptedOut(Outcome::Duplicate) => "duplicate",
            Handled::OptedOut(Outcome::Superseded) => "superseded",
            Handled::OptedOut(Outcome::Noted) => "opted_out",
            Handled::Help(Outcome::Duplicate) => "help_duplicate",
            Handled::Help(_) => "help",
            Handled::OptedIn(Outcome::Duplicate) | Handled::OptInRequested(Outcome::Duplicate) => {
                "opt_in_duplicate"
            }
            Handled::OptedIn(Outcome::Superseded) => "opt_in_superseded",
            Handled::OptedIn(_) => "opted_in",
            Handled::OptInRequested(_) => "opt_in_requested",
            Handled::JoinRequested(Outcome::Duplicate) => "join_duplicate",
            Handled::JoinRequested(_) => "join_requested",
            Handled::Review(ReviewOpened::Opened) => "review_opened",
            Handled::Review(ReviewOpened::Duplicate) => "review_duplicate",
            Handled::Ignored => "ignored",
        }
    }

    /// None for a redelivered review message (it opened nothing).
    pub fn metric(self) -> Option<Metric> {
        Some(match self {
            Handled::OptedOut(Outcome::Applied | Outcome::Noted) => Metric::OptOutsRecorded,
            Handled::OptedOut(Outcome::Duplicate) => Metric::OptOutDuplicates,
            Handled::OptedOut(Outcome::Superseded) => Metric::OptOutsSuperseded,
            Handled::Help(_) => Metric::HelpRequests,
            Handled::OptedIn(_) | Handled::OptInRequested(_) | Handled::JoinRequested(_) => {
                Metric::OptInsByText
            }
            Handled::Review(ReviewOpened::Opened) => Metric::ReviewItemsOpened,
            Handled::Review(ReviewOpened::Duplicate) => return None,
            Handled::Ignored => Metric::MessagesIgnored,
        })
    }

    /// The body Vonage gets: `{"status": what the message was, "outcome": what recording did}`.
    fn reply(self) -> Reply {
        let (status, outcome) = match self {
            Handled::OptedOut(outcome) => ("opted_out", Some(outcome.as_str())),
            Handled::Help(outcome) => ("help", Some(outcome.as_str())),
            Handled::OptedIn(outcome) => ("opted_in", Some(outcome.as_str())),
            Handled::OptInRequested(outcome) => ("opt_in_requested", Some(outcome.as_str())),
            Handled::JoinRequested(outcome) => ("join_requested", Some(outcome.as_str())),
            Handled::Review(ReviewOpened::Opened) => ("review", Some("opened")),
            Handled::Review(ReviewOpened::Duplicate) => ("review", Some("duplicate")),
            Handled::Ignored => ("ignored", None),
        };
        Reply { status, outcome }
    }
}

#[derive(Serialize)]
struct Reply {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
}

#[derive(Default)]
struct LogLine {
    msisdn: Option<String>,
    message_id: Option<String>,
    api: Option<&'static str>,
    encoding: Option<&'static str>,
    keyword: Option<String>,
    phrase: Option<String>,
    cue: Option<String>,
    review_id: Option<String>,
    /// The program whose number was texted (with programs declared).
    program: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keep_keyword_that_already_means_something_is_refused_at_start() {
        let programs = |word: &str| {
            Programs::parse(&format!(
                r#"[{{"id": "alerts", "name": "A", "keep_keyword": "{word}"}}, {{"id": "deals", "name": "D"}}]"#
            ))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let intents = IntentRules::default();
        assert!(check_keep_keywords(&intents, &programs("ALERTS")).is_ok());
        for word in ["START", "STOP", "HELP", "UNSUBSCRIBE"] {
            let refused = check_keep_keywords(&intents, &programs(word)).map_err(|e| e.to_string());
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("keep_keyword")),
                "{word}: {refused:?}"
            );
        }
    }

    #[test]
    fn with_programs_each_count_is_also_kept_per_program() {
        let lines = |program| {
            metric_documents(Metric::OptOutsRecorded, program)
                .iter()
                .map(|m| {
                    serde_json::from_str::<serde_json::Value>(&m.to_line(0)).unwrap_or_default()
                })
                .collect::<Vec<_>>()
        };
        let without = lines(None);
        assert_eq!(without.len(), 1);
        let with = lines(Some("deals"));
        assert_eq!(with.len(), 2);
        assert_eq!(with[1]["Program"], "deals");
        assert_eq!(with[1]["OptOutsRecorded"], 1.0);
        assert_eq!(
            with[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["Function", "Program"])
        );
    }

    #[test]
    fn routes_match_the_whole_path_and_keep_the_token_in_one_segment() {
        let select = |method: &str, path: &str| {
            let mut req = Request::default();
            *req.method_mut() = method.parse().unwrap_or_default();
            routing::select(&req.with_raw_http_path(path), ROUTES)
        };
        let token = |path: &str| match select("POST", path) {
            Selected::Route { params, .. } => Some(params.into_iter().next()),
            _ => None,
        };
        assert_eq!(token("/webhooks/inbound"), Some(None));
        assert_eq!(token("/webhooks/inbound/"), Some(None));
        assert_eq!(
            token("/webhooks/inbound/s3cr3t"),
            Some(Some("s3cr3t".into()))
        );
        assert_eq!(
            token("/webhooks/inbound/s3%2Fcr%23t"),
            Some(Some("s3/cr#t".into()))
        );
        assert_eq!(token("/webhooks/other"), None);
        assert_eq!(token("/"), None);
        assert_eq!(token("/webhooks/inbound/a/b"), None);
        assert_eq!(token("/x/webhooks/inbound"), None);
        assert_eq!(
            select("PUT", "/webhooks/inbound/s3cr3t"),
            Selected::MethodNotAllowed {
                allow: "GET, POST".into()
            }
        );
    }
}
