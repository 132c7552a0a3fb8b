//! The `notify` function, driven by the table's stream: for each new history entry, the reply a
//! person is owed ([`crate::domain::replies::plan`]), sent exactly once, or the opt-in by text
//! taken to Vonage. It never stands between a STOP and its record: the webhook wrote that first.
//! A number's records go in order, a failed one holding back the rest
//! (docs/decisions/0001-reply-order.md); failed records are retried by the stream, refusals
//! recorded, an unknown outcome reported and never re-sent.

use crate::adapters::config::{ConfigError, Settings};
use crate::adapters::metrics::{Metric, Metrics};
use crate::adapters::provider::{Lift, ProviderMode, Providers};
use crate::adapters::store::replies::{OwedReply, ReplyClaim, Settle};
use crate::adapters::store::{schema, Store, StoreError};
use crate::adapters::vonage::{OutgoingSms, SendOutcome, VonageClient, VonageError};
use crate::domain::deadline::Deadline;
use crate::domain::event::{Event, EventKind, HistoryEntry, Outcome, Status};
use crate::domain::intent::DEFAULT_OPT_IN_WORDS;
use crate::domain::msisdn::Msisdn;
use crate::domain::origin::{OptInAnswer, Origin};
use crate::domain::program::{Program, ProgramId, Programs, Scope};
use crate::domain::replies::{
    self, Ended, KeepOffer, Plan, ProgramTexts, ReplyKind, ReplyTextError, ReplyTexts, TextParts,
};
use crate::domain::timestamp;
use crate::handlers::stream_event::{self, BatchResponse, ItemFailure, StreamEvent, StreamRecord};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FUNCTION: &str = "notify";
/// Numbers handled at once within a batch (each number's records one after another).
const CONCURRENCY: usize = 8;
/// The longest pause between two tries at a number's reply lock another invocation holds.
const MAX_LOCK_PAUSE: Duration = Duration::from_secs(1);
/// Time kept back from the invocation's deadline to settle what was sent.
const SETTLE_RESERVE: Duration = Duration::from_secs(2);
/// Budget when no deadline is known (tests, local runs).
const DEFAULT_BUDGET: Duration = Duration::from_secs(20);

/// Replies on: each program's texts, and the client that sends them.
#[derive(Clone)]
pub struct Replies {
    pub texts: HashMap<ProgramId, ProgramTexts>,
    /// The programs whose STOP, HELP and opt-in replies we send (the others' texts, if any, are
    /// only their join prompt and confirmation: nobody else knows a join is waiting).
    pub replying: std::collections::HashSet<ProgramId>,
    pub vonage: VonageClient,
}

impl Replies {
    /// Every program in `texts` gets every reply.
    pub fn to_every_program(texts: HashMap<ProgramId, ProgramTexts>, vonage: VonageClient) -> Self {
        Self {
            replying: texts.keys().cloned().collect(),
            texts,
            vonage,
        }
    }
}

/// Everything the function needs, built once per container.
#[derive(Clone)]
pub struct Notify {
    pub store: Store,
    /// Which program a reply speaks for (the number the person texted), and what an opt-out
    /// ended.
    pub programs: Programs,
    pub providers: Providers,
    /// `None`: replies off everywhere. A program without texts in it gets none (Vonage sends
    /// them in its mode, or the sender chose not to).
    pub replies: Option<Replies>,
}

/// What happened to one record (its name is the log line's `outcome`).
#[derive(Debug, Clone, PartialEq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Done {
    /// Not a new history entry, or nothing is owed for it.
    Nothing,
    Sent {
        kind: ReplyKind,
        latency_ms: Option<f64>,
    },
    /// Vonage refused it for good (barred, refused): recorded, not retried.
    NotSent { kind: ReplyKind },
    /// Recorded as skipped (no longer true, no sender number).
    Skipped { kind: ReplyKind },
    /// A redelivered record: the reply was settled before.
    AlreadySettled,
    /// A claim no invocation settled, or a send whose outcome is unknown: reported, not re-sent.
    Unsettled,
    /// Vonage lifted its block; the resubscribe was recorded with this outcome.
    OptInConfirmed(Outcome),
    /// Vonage refused to lift its block: the opt-out stands (recorded).
    OptInRefused,
    /// An opt-in request older than a later opt-out: nothing asked of Vonage.
    OptInStale,
    /// A record we cannot read: reported, not retried (it would fail every time).
    Malformed,
}

/// Why a record must be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// The reply was certainly not sent (throttled, Vonage's error, no connection).
    NotSentYet(String),
    ProviderUnavailable(String),
    Storage(String),
    /// Another invocation is sending a reply to this number and did not finish in our time.
    Waiting(String),
    /// An earlier record of the same number in this batch failed: this one waits for its retry,
    /// so that the number's replies keep their order.
    HeldBehind,
}

impl From<StoreError> for RetryReason {
    fn from(e: StoreError) -> Self {
        RetryReason::Storage(e.to_string())
    }
}

impl Done {
    fn metric(&self) -> Option<Metric> {
        match self {
            Done::Sent { .. } => Some(Metric::RepliesSent),
            Done::NotSent { .. } => Some(Metric::RepliesFailed),
            Done::Unsettled => Some(Metric::RepliesUnsettled),
            Done::OptInConfirmed(_) => Some(Metric::OptInsConfirmed),
            Done::OptInRefused => Some(Metric::OptInsRefused),
            Done::Malformed => Some(Metric::StreamRecordsMalformed),
            Done::Nothing | Done::Skipped { .. } | Done::AlreadySettled | Done::OptInStale => None,
        }
    }
}

impl RetryReason {
    fn metric(&self) -> Option<Metric> {
        match self {
            RetryReason::NotSentYet(_) | RetryReason::Waiting(_) => Some(Metric::RepliesDeferred),
            RetryReason::ProviderUnavailable(_) => Some(Metric::ProviderUnavailable),
            RetryReason::Storage(_) => Some(Metric::StorageErrors),
            RetryReason::HeldBehind => None,
        }
    }
}

impl Notify {
    /// Settings: docs/configuration.md. A reply text over one segment or without its required
    /// parts stops the start.
    pub fn from_settings(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let mode = ProviderMode::from_settings(settings)?;
        let programs = Programs::from_settings(settings)?;
        let providers = Providers::from_settings(settings, &programs)?;
        let on = match settings.get("REPLIES") {
            None => None,
            Some(v) => Some(crate::adapters::config::parse_switch(v).ok_or(
                ConfigError::Invalid {
                    name: "REPLIES",
                    reason: "must be on or off".into(),
                },
            )?),
        };
        // Unset: we reply for the programs where nobody else does.
        let replying = |program: &Program| on.unwrap_or(program.mode(mode).replies_by_default());
        for program in programs.all().iter().filter(|p| replying(p)) {
            let mode = program.mode(mode);
            if mode != ProviderMode::SelfManaged {
                tracing::warn!(
                    program = program.id.as_str(),
                    mode = mode.as_str(),
                    "replies are on although Vonage replies in this mode: people may get two"
                );
            }
        }
        let texting = |program: &Program| replying(program) || program.join_keyword.is_some();
        let replies = if programs.all().iter().any(texting) {
            let mut texts = HashMap::new();
            for program in programs.all().iter().filter(|p| texting(p)) {
                texts.insert(
                    program.id.clone(),
                    program_texts(settings, &programs, program)?,
                );
            }
            Some(Replies {
                texts,
                replying: programs
                    .all()
                    .iter()
                    .filter(|p| replying(p))
                    .map(|p| p.id.clone())
                    .collect(),
                vonage: VonageClient::from_settings(settings)?,
            })
        } else {
            None
        };
        Ok(Self {
            store,
            programs,
            providers,
            replies,
        })
    }

    /// The Lambda handler: every record handled, the failed ones named. Never fails.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline: Option<Deadline>,
    ) -> BatchResponse {
        let deadline = deadline
            .map(|d| d.minus(SETTLE_RESERVE))
            .unwrap_or_else(|| Deadline::after(DEFAULT_BUDGET));
        let records = match serde_json::from_value::<StreamEvent>(event) {
            Ok(e) => e.records,
            Err(e) => {
                tracing::error!(error = %e, "not a DynamoDB stream event");
                Metrics::new(FUNCTION)
                    .count(Metric::StreamRecordsMalformed)
                    .emit();
                return BatchResponse::default();
            }
        };
        let read: Vec<(Option<String>, Record)> = records
            .iter()
            .map(|r| (stream_event::sequence_number(r), Record::read(r)))
            .collect();
        // Futures of a named async fn, not of a closure: a closure's future would not be `Send`
        // for every lifetime, which `tokio::spawn` of a whole invocation needs.
        let each: Vec<_> = by_number(&read)
            .into_iter()
            .map(|group| self.one_number(group, deadline))
            .collect();
        let mut results: Vec<(usize, Result<Done, RetryReason>)> = futures::stream::iter(each)
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect();
        results.sort_by_key(|(i, _)| *i);
        let batch_item_failures = results
            .into_iter()
            .filter_map(|(i, result)| match (result, &read[i].0) {
                (Err(_), Some(sequence)) => Some(ItemFailure {
                    item_identifier: sequence.clone(),
                }),
                _ => None,
            })
            .collect();
        BatchResponse {
            batch_item_failures,
        }
    }

    /// One number's records (with their places in the batch), in order; after the first failure
    /// the rest are held back.
    async fn one_number(
        &self,
        records: Vec<(usize, &Record)>,
        deadline: Deadline,
    ) -> Vec<(usize, Result<Done, RetryReason>)> {
        let mut results = Vec::with_capacity(records.len());
        let mut failed = false;
        for (i, record) in records {
            let started = Instant::now();
            // Only what may act for the person is held: the stream's other records are nothing.
            let result = match record {
                Record::Entry(..) if failed => Err(RetryReason::HeldBehind),
                _ => self.act(record, deadline).await,
            };
            failed |= result.is_err();
            self.report(record, &result, started);
            results.push((i, result));
        }
        results
    }

    fn report(&self, record: &Record, result: &Result<Done, RetryReason>, started: Instant) {
        let metric = match result {
            Ok(done) => done.metric(),
            Err(retry) => retry.metric(),
        };
        if let Some(metric) = metric {
            let mut metrics = Metrics::new(FUNCTION).count(metric);
            if let Ok(Done::Sent {
                latency_ms: Some(ms),
                ..
            }) = result
            {
                metrics = metrics.milliseconds(Metric::ReplyLatency, *ms);
            }
            metrics.emit();
        }
        let (msisdn, event_id) = match record {
            Record::Entry(msisdn, entry) => (Some(msisdn.masked()), Some(entry.event_id.as_str())),
            _ => (None, None),
        };
        let (outcome, retry) = match result {
            Ok(done) => (Some(<&str>::from(done)), None),
            Err(retry) => (None, Some(format!("{retry:?}"))),
        };
        let kind = match result {
            Ok(Done::Sent { kind, .. } | Done::NotSent { kind } | Done::Skipped { kind }) => {
                Some(kind.as_str())
            }
            _ => None,
        };
        let reply_latency_ms = match result {
            Ok(Done::Sent { latency_ms, .. }) => *latency_ms,
            _ => None,
        };
        if matches!(outcome, Some("nothing")) {
            tracing::debug!(msisdn, event_id, "stream record: nothing to do");
            return;
        }
        tracing::info!(
            msisdn,
            event_id,
            outcome,
            retry,
            reply = kind,
            reply_latency_ms,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "stream record"
        );
    }

    pub async fn process(
        &self,
        record: &serde_json::Value,
        deadline: Deadline,
    ) -> Result<Done, RetryReason> {
        self.act(&Record::read(record), deadline).await
    }

    async fn act(&self, record: &Record, deadline: Deadline) -> Result<Done, RetryReason> {
        let (msisdn, entry) = match record {
            Record::Entry(msisdn, entry) => (msisdn.clone(), entry),
            Record::Nothing => return Ok(Done::Nothing),
            Record::Malformed => return Ok(Done::Malformed),
        };
        match replies::plan(
            entry.kind,
            entry.origin.source(),
            entry.applied,
            self.replies.is_some(),
        ) {
            Plan::Nothing => Ok(Done::Nothing),
            Plan::Reply(kind) => self.reply(msisdn, entry, kind, deadline).await,
            Plan::LiftThenRecord => self.lift_then_record(msisdn, entry, deadline).await,
        }
    }

    async fn skip(&self, owed: &OwedReply, reason: &str) -> Result<Done, RetryReason> {
        self.store.skip_reply(owed, reason).await?;
        Ok(Done::Skipped { kind: owed.kind })
    }

    async fn reply(
        &self,
        msisdn: Msisdn,
        entry: &HistoryEntry,
        kind: ReplyKind,
        deadline: Deadline,
    ) -> Result<Done, RetryReason> {
        let Some(replies) = self.replies.as_ref() else {
            return Ok(Done::Nothing);
        };
        let from = entry
            .origin
            .message()
            .map(|m| m.short_code.clone())
            .unwrap_or_default();
        // The program the event is about (a keep keyword's, answered from the number texted),
        // else the one whose number was texted.
        let program = match entry.scopes.as_slice() {
            [Scope::Program(id)] => self.programs.get(id),
            _ => None,
        }
        .unwrap_or_else(|| self.programs.for_number(&from));
        let ended = self.programs.ended_by(&entry.scopes);
        let ended = if ended.len() == 1 && ended[0].id == program.id {
            Ended::ThisProgram
        } else if entry.scopes.contains(&Scope::Every) {
            Ended::Every
        } else {
            Ended::RevokeAll
        };
        // A program whose replies Vonage sends has no texts here; a join's are ours to send.
        let ours = match kind {
            ReplyKind::ConsentPrompt | ReplyKind::JoinConfirmation => {
                program.join_keyword.is_some()
            }
            _ => replies.replying.contains(&program.id),
        };
        let Some(texts) = replies.texts.get(&program.id).filter(|_| ours) else {
            return Ok(Done::Nothing);
        };
        let language = entry.origin.message().and_then(|m| m.language);
        let text = texts.text_in(kind, ended, language).to_owned();
        let owed = OwedReply {
            event_id: entry.event_id.clone(),
            kind,
            from,
            text,
            order: entry.order.clone(),
            scopes: entry.scopes.clone(),
            wider: self.programs.wider_scopes(&entry.scopes),
            msisdn,
        };
        let msisdn = &owed.msisdn;
        if owed.from.trim().is_empty() {
            return self
                .skip(&owed, "no sender number in the inbound message")
                .await;
        }
        // The lease: until this invocation ends (the deadline plus what is kept to settle).
        let lease_until = deadline.plus(SETTLE_RESERVE).wall_clock();
        let mut pause = Duration::from_millis(50);
        loop {
            match self.store.claim_reply(&owed, lease_until).await? {
                ReplyClaim::Claimed => break,
                ReplyClaim::Settled(_) => return Ok(Done::AlreadySettled),
                ReplyClaim::Stale(reason) => return self.skip(&owed, reason).await,
                ReplyClaim::Unsettled(found) => {
                    tracing::error!(
                        msisdn = %msisdn,
                        event_id = entry.event_id,
                        status = found.status.as_str(),
                        claimed_at = found.claimed_at.map(timestamp::format),
                        lease_until = found.lease_until.map(timestamp::format),
                        "reply claimed earlier and never settled (or its outcome unknown): not sent again; see optout-admin replies stuck"
                    );
                    return Ok(Done::Unsettled);
                }
                // Another invocation is sending this reply, or another reply to this number:
                // wait for it (it settles within its lease), or leave the record to a retry.
                ReplyClaim::InFlight(_) | ReplyClaim::Busy => {
                    if deadline.remaining() <= pause {
                        return Err(RetryReason::Waiting(
                            "another invocation is sending a reply to this number".into(),
                        ));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_LOCK_PAUSE);
                }
            }
        }
        let client_ref = client_ref(&entry.event_id);
        let sms = OutgoingSms {
            from: &owed.from,
            to: msisdn,
            text: &owed.text,
            client_ref: &client_ref,
        };
        let (settle, done) = match replies.vonage.send_sms(&sms, deadline).await {
            SendOutcome::Accepted { message_ids, .. } => {
                let latency_ms =
                    Some((timestamp::now() - entry.received_at).as_seconds_f64() * 1000.0);
                (
                    Settle::Sent { message_ids },
                    Ok(Done::Sent { kind, latency_ms }),
                )
            }
            SendOutcome::Refused { status, detail, .. } => (
                Settle::NotSent {
                    detail: format!("status {status}: {detail}"),
                },
                Ok(Done::NotSent { kind }),
            ),
            SendOutcome::NotSent { detail, .. } => (
                Settle::Retryable {
                    detail: detail.clone(),
                },
                Err(RetryReason::NotSentYet(detail)),
            ),
            SendOutcome::Unknown { detail, .. } => {
                tracing::error!(msisdn = %msisdn, event_id = entry.event_id, error = %detail, "reply outcome unknown: not sent again; see optout-admin replies stuck");
                (Settle::Unknown { detail }, Ok(Done::Unsettled))
            }
        };
        self.store
            .settle_reply(msisdn, &entry.event_id, &settle)
            .await?;
        done
    }

    async fn lift_then_record(
        &self,
        msisdn: Msisdn,
        entry: &HistoryEntry,
        deadline: Deadline,
    ) -> Result<Done, RetryReason> {
        let Some(message) = entry.origin.message().cloned() else {
            return Ok(Done::Malformed);
        };
        let request = Event::from_history(msisdn.clone(), entry);
        // A STOP newer than this START stands: Vonage is not asked (as the website's 409).
        let program = self.programs.for_number(&message.short_code);
        let provider = self.providers.for_program(program);
        let reaching = self.programs.scopes_reaching(program);
        if let Some(state) = self.store.state_in(&msisdn, &reaching).await? {
            if state.status == Status::OptedOut && state.order > request.order() {
                return Ok(Done::OptInStale);
            }
        }
        // What Vonage answered, as an event of the person's opt-in request (its time, its id),
        // with the person's message as its evidence.
        let answer = OptInAnswer {
            message,
            opt_in_request: request.event_id.clone(),
            provider: Some(provider.mode().as_str().into()),
            provider_response: None,
            provider_refusal: None,
        };
        // Kept where the request was: the program texted.
        let event = |kind: EventKind, prefix: &str, answer| Event {
            scopes: request.scopes.clone(),
            msisdn: msisdn.clone(),
            kind,
            event_id: format!("{prefix}:{}", request.event_id),
            occurred_at: request.occurred_at,
            received_at: timestamp::now(),
            origin: Origin::OptInAnswer(answer),
        };
        match provider.lift_block(&msisdn, deadline).await {
            Ok(lift) => {
                let provider_response = match &lift {
                    Lift::Lifted(confirmation) => serde_json::to_string(confirmation).ok(),
                    _ => None,
                };
                let answer = OptInAnswer {
                    provider_response,
                    ..answer
                };
                let event = event(EventKind::Resubscribe, "optin", answer);
                Ok(Done::OptInConfirmed(self.store.record(&event).await?))
            }
            Err(VonageError::Rejected { status, detail }) => {
                let answer = OptInAnswer {
                    provider_refusal: Some(format!("HTTP {status}: {detail}")),
                    ..answer
                };
                self.store
                    .record(&event(EventKind::OptInRefused, "optin-refused", answer))
                    .await?;
                Ok(Done::OptInRefused)
            }
            Err(other) => Err(RetryReason::ProviderUnavailable(other.to_string())),
        }
    }
}

/// Each program's texts ([`program_texts`]).
pub fn texts_from_settings(
    settings: &Settings,
    programs: &Programs,
) -> Result<HashMap<ProgramId, ProgramTexts>, ConfigError> {
    programs
        .all()
        .iter()
        .map(|p| Ok((p.id.clone(), program_texts(settings, programs, p)?)))
        .collect()
}

/// A program's texts: its own fields of `PROGRAMS` over the deployment's settings
/// (`PROGRAM_NAME`, `HELP_CONTACT`, `MESSAGE_FREQUENCY`, `*_REPLY_TEXT`), every one checked now.
pub fn program_texts(
    settings: &Settings,
    programs: &Programs,
    program: &Program,
) -> Result<ProgramTexts, ConfigError> {
    let opt_in_word = settings
        .get("OPT_IN_WORDS")
        .unwrap_or(DEFAULT_OPT_IN_WORDS)
        .split(',')
        .map(str::trim)
        .find(|w| !w.is_empty())
        .map(str::to_uppercase);
    // Without PROGRAMS, the one program's texts are the settings' alone, as before.
    let invalid = |e: ReplyTextError| match programs.declared() {
        false => ConfigError::Invalid {
            name: e.setting,
            reason: e.reason,
        },
        true => ConfigError::Invalid {
            name: "PROGRAMS",
            reason: format!("program {}: {}: {}", program.id, e.setting, e.reason),
        },
    };
    let parts = TextParts {
        name: program.name.clone(),
        help_contact: program
            .help_contact
            .as_deref()
            .or(settings.get("HELP_CONTACT"))
            .unwrap_or("")
            .to_owned(),
        frequency: program
            .frequency
            .as_deref()
            .or(settings.get("MESSAGE_FREQUENCY"))
            .unwrap_or("Msg frequency varies")
            .to_owned(),
        opt_in_word,
    };
    let own = ReplyTexts::new(
        &parts,
        program
            .stop_reply
            .as_deref()
            .or(settings.get("STOP_REPLY_TEXT")),
        program
            .help_reply
            .as_deref()
            .or(settings.get("HELP_REPLY_TEXT")),
        program
            .opt_in_reply
            .as_deref()
            .or(settings.get("OPT_IN_REPLY_TEXT")),
    )
    .map_err(invalid)?;
    let own = match program.join_keyword {
        Some(_) => own
            .with_join_texts(
                &parts,
                program.confirm_prompt.as_deref(),
                program.join_reply.as_deref(),
            )
            .map_err(invalid)?,
        None => own,
    };
    // Without programs every opt-out ends the one program: its own text says it all, and no
    // wider text is built (nor checked: a long PROGRAM_NAME must not stop a start it never did).
    if !programs.declared() {
        return Ok(ProgramTexts {
            stop_every: own.stop.clone(),
            stop_revoke_all: own.stop.clone(),
            own,
            translated: Default::default(),
        });
    }
    // What revoke-all ends when this program is texted: it, and every program needing consent.
    let others: Vec<&Program> = programs
        .all()
        .iter()
        .filter(|p| p.consent_required && p.id != program.id)
        .collect();
    let mut ends: Vec<&str> = vec![program.name.as_str()];
    ends.extend(others.iter().map(|p| p.name.as_str()));
    let offers: Vec<KeepOffer<'_>> = others
        .iter()
        .filter_map(|p| {
            p.keep_keyword.as_deref().map(|keyword| KeepOffer {
                keyword,
                name: &p.name,
            })
        })
        .collect();
    let mut texts = ProgramTexts::new(&parts, own, &ends, &offers).map_err(invalid)?;
    for (language, translated) in &program.translations {
        for (kind, text) in [
            (ReplyKind::StopConfirmation, &translated.stop_reply),
            (ReplyKind::Help, &translated.help_reply),
            (ReplyKind::OptInConfirmation, &translated.opt_in_reply),
        ] {
            if let Some(text) = text {
                texts = texts
                    .with_translation(&program.name, *language, kind, text)
                    .map_err(invalid)?;
            }
        }
    }
    Ok(texts)
}

/// A stream record, read: a new history entry (the only records that may owe a reply or an
/// opt-in), anything else, or one that does not read.
pub enum Record {
    Entry(Msisdn, Box<HistoryEntry>),
    Nothing,
    Malformed,
}

impl Record {
    fn read(record: &serde_json::Value) -> Record {
        let Ok(record) = serde_json::from_value::<StreamRecord>(record.clone()) else {
            tracing::error!("a stream record without the fields of a DynamoDB stream record");
            return Record::Malformed;
        };
        // History entries are only ever inserted; replies, states and the rest are not ours.
        if record.event_name != "INSERT" {
            return Record::Nothing;
        }
        match record
            .dynamodb
            .new_image
            .and_then(schema::history_from_image)
        {
            None => Record::Nothing,
            Some(Ok((msisdn, entry))) => Record::Entry(msisdn, Box::new(entry)),
            Some(Err(error)) => {
                tracing::error!(
                    error,
                    "a history entry in the stream that does not have our shape"
                );
                Record::Malformed
            }
        }
    }
}

/// The batch's records grouped by number (a record that is no history entry alone), each group
/// in batch order, the groups in the order of their first record.
fn by_number(records: &[(Option<String>, Record)]) -> Vec<Vec<(usize, &Record)>> {
    let mut groups: Vec<Vec<(usize, &Record)>> = Vec::new();
    let mut by_msisdn: HashMap<&str, usize> = HashMap::new();
    for (i, (_, record)) in records.iter().enumerate() {
        let Record::Entry(msisdn, _) = record else {
            groups.push(vec![(i, record)]);
            continue;
        };
        match by_msisdn.get(msisdn.as_str()) {
            Some(&group) => groups[group].push((i, record)),
            None => {
                by_msisdn.insert(msisdn.as_str(), groups.len());
                groups.push(vec![(i, record)]);
            }
        }
    }
    groups
}

/// Our reference on the send (echoed in the delivery receipt): at most 40 characters, stable
/// per inbound event.
fn client_ref(event_id: &str) -> String {
    let digest = Sha256::digest(event_id.as_bytes());
    format!("optout-{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_refs_fit_vonage_and_are_stable() {
        let a = client_ref("sms:0A0000000123456789");
        assert_eq!(a.len(), 39);
        assert_eq!(a, client_ref("sms:0A0000000123456789"));
        assert_ne!(a, client_ref("sms:0A0000000123456780"));
    }

    #[test]
    fn settings_choose_replies_and_check_texts_at_start() {
        let texts = |pairs: &[(&str, &str)]| {
            let settings = Settings::from_pairs(pairs.iter().copied());
            let programs = Programs::from_settings(&settings).map_err(|e| e.to_string())?;
            texts_from_settings(&settings, &programs)
                .map_err(|e| e.to_string())
                .map(|mut texts| texts.remove(&programs.default_program().id))
        };
        let ok = texts(&[
            ("PROGRAM_NAME", "Acme"),
            ("HELP_CONTACT", "+1 800 555 0199"),
        ]);
        assert!(
            ok.as_ref().is_ok_and(|t| t
                .as_ref()
                .is_some_and(|t| t.own.help.contains("Msg frequency varies"))),
            "{ok:?}"
        );
        assert_eq!(
            texts(&[("PROGRAM_NAME", "Acme")]),
            Err("HELP_CONTACT is invalid: is required when replies are on".into())
        );
        let long = "Acme ".repeat(40);
        assert!(texts(&[
            ("PROGRAM_NAME", "Acme"),
            ("HELP_CONTACT", "x@y.example"),
            ("STOP_REPLY_TEXT", &long)
        ])
        .is_err_and(|e| e.starts_with("STOP_REPLY_TEXT is invalid: is 199 GSM-7 characters")));
        // A long name with its own short texts starts as before programs: no wider text is built.
        let name =
            "Acme Program With A Rather Long Name For Its Alerts About Orders And Home Deliveries Co";
        let custom = texts(&[
            ("PROGRAM_NAME", name),
            ("HELP_CONTACT", "x@y.example"),
            ("STOP_REPLY_TEXT", &format!("{name}: no more messages.")),
            (
                "HELP_REPLY_TEXT",
                &format!(
                    "{name}: x@y.example, Msg frequency varies, Msg&data rates may apply, STOP"
                ),
            ),
            (
                "OPT_IN_REPLY_TEXT",
                &format!("{name}: Msg frequency varies, Msg&data rates may apply, HELP, STOP"),
            ),
        ]);
        assert!(custom.is_ok(), "{custom:?}");
    }

    #[test]
    fn each_program_has_its_texts_and_a_bad_one_names_the_program() {
        let texts = |programs: &str| {
            let settings = Settings::from_pairs([
                ("PROGRAMS", programs),
                ("HELP_CONTACT", "help@acme.example"),
            ]);
            let programs = Programs::from_settings(&settings).map_err(|e| e.to_string())?;
            texts_from_settings(&settings, &programs).map_err(|e| e.to_string())
        };
        let ok = texts(
            r#"[{"id": "alerts", "name": "Acme Alerts", "keep_keyword": "ALERTS"},
                {"id": "deals", "name": "Acme Deals", "stop_reply": "Acme Deals: no more messages."}]"#,
        )
        .unwrap_or_default();
        let deals = ok.get(&ProgramId::parse("deals").unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            deals.map(|t| t.text(ReplyKind::StopConfirmation, Ended::ThisProgram)),
            Some("Acme Deals: no more messages.")
        );
        assert_eq!(
            deals.map(|t| t.text(ReplyKind::StopConfirmation, Ended::RevokeAll)),
            Some("Acme Deals: You are unsubscribed from Acme Deals and Acme Alerts and will get no more messages from them. Reply ALERTS to keep Acme Alerts.")
        );
        assert_eq!(
            texts(r#"[{"id": "deals", "name": "Acme Deals", "stop_reply": "Goodbye."}]"#).err(),
            Some("PROGRAMS is invalid: program deals: STOP_REPLY_TEXT: must contain the program name (PROGRAM_NAME)".into())
        );
        // Names too long to list in one segment: the confirmation says what kind ended instead.
        let many = (0..6)
            .map(|i| format!(r#"{{"id": "p{i}", "name": "Acme Program Number {i}"}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let many = texts(&format!("[{many}]")).unwrap_or_default();
        let first = many.get(&ProgramId::parse("p0").unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            first.map(|t| t.text(ReplyKind::StopConfirmation, Ended::RevokeAll)),
            Some("Acme Program Number 0: You are unsubscribed from all our programs that need your consent.")
        );
    }
}
