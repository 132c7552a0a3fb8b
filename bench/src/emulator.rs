//! A small local Lambda Runtime API: the endpoints a custom runtime (`bootstrap`) talks to.
//!
//! - `GET  /2018-06-01/runtime/invocation/next`: long-polls until the driver queues an event,
//!   then hands it out with the `Lambda-Runtime-*` headers the runtime needs;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`: completes that
//!   invocation;
//! - `POST /2018-06-01/runtime/init/error`: records a failed init.
//!
//! What it measures: init (process start to the first `next` poll), per-invocation latency (the
//! moment the event is handed out to the moment its full response has arrived), and peak RSS
//! (`VmHWM` of `/proc/<pid>/status`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Notify};

const PREFIX: &str = "/2018-06-01/runtime";
/// The invocation deadline handed out: Lambda's longest timeout, so that no function cuts a run
/// short (the reconcile function stops 45 s before its deadline).
const DEADLINE_MS: u128 = 900_000;
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench";

/// How one invocation ended.
#[derive(Debug)]
pub struct Completion {
    /// `true` for `/response`, `false` for `/error`.
    pub ok: bool,
    pub body: Bytes,
    /// Event handed out -> response fully received.
    pub latency: Duration,
}

struct Job {
    id: String,
    event: Bytes,
    done: oneshot::Sender<Completion>,
}

#[derive(Default)]
struct Shared {
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    inflight: Mutex<HashMap<String, (Instant, oneshot::Sender<Completion>)>>,
    changed: Notify,
}

/// One emulated Lambda execution environment: a Runtime API endpoint and (once started) the
/// bootstrap process that polls it.
pub struct Emulator {
    addr: SocketAddr,
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
    next_id: u64,
    child: Option<Child>,
    started: Option<Instant>,
}

/// Environment for the bootstrap, besides what [`Emulator::spawn`] sets itself.
pub type Env = Vec<(String, String)>;

impl Emulator {
    /// Binds 127.0.0.1 on a free port and serves the Runtime API.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (jobs, receiver) = mpsc::unbounded_channel::<Job>();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let shared = Arc::new(Shared::default());
        let server_shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = server_shared.clone();
                let receiver = receiver.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        let receiver = receiver.clone();
                        async move { Ok::<_, hyper::Error>(route(req, &shared, &receiver).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            jobs,
            shared,
            next_id: 0,
            child: None,
            started: None,
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the bootstrap.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// Starts `bootstrap` as Lambda would: a clean environment with the variables Lambda sets,
    /// plus `env`. Its stdout and stderr (the function's logs) go to `log`.
    pub fn spawn(&mut self, bootstrap: &Path, env: &Env, log: &Path) -> std::io::Result<()> {
        let log_file = std::fs::File::create(log)?;
        let mut command = Command::new(bootstrap);
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", self.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]bench")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        self.started = Some(Instant::now());
        self.child = Some(command.spawn()?);
        Ok(())
    }

    /// Waits for the bootstrap's first `next` poll: the init time. Fails when the process
    /// reports an init error, exits, or takes longer than `limit`.
    pub async fn wait_init(&mut self, limit: Duration) -> Result<Duration, String> {
        let started = self.started.ok_or("no bootstrap was started")?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(at) = *lock(&self.shared.first_poll) {
                return Ok(at.saturating_duration_since(started));
            }
            if let Some(error) = lock(&self.shared.init_error).clone() {
                return Err(format!("the function reported an init error: {error}"));
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the bootstrap exited during init: {status}"));
                }
            }
            let poll = tokio::time::sleep(Duration::from_millis(20));
            tokio::select! {
                _ = notified => {}
                _ = poll => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(format!("no poll for an event within {limit:?}"));
                }
            }
        }
    }

    /// Sends one event through the function and waits for its answer.
    pub async fn invoke(&mut self, event: Bytes, limit: Duration) -> Result<Completion, String> {
        self.next_id += 1;
        let id = format!("bench-{:08}", self.next_id);
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job { id, event, done })
            .map_err(|_| "the emulator stopped".to_string())?;
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(completion)) => Ok(completion),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => {
                let exited = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                Err(format!(
                    "no response within {limit:?} (bootstrap exit status: {exited:?})"
                ))
            }
        }
    }

    /// The bootstrap's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Kills the bootstrap and waits for it.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn route(
    req: Request<Incoming>,
    shared: &Shared,
    jobs: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(StatusCode::NOT_FOUND, "not a runtime API path");
    };
    match (req.method(), rest) {
        (&Method::GET, "/invocation/next") => {
            lock(&shared.first_poll).get_or_insert_with(Instant::now);
            shared.changed.notify_waiters();
            let job = jobs.lock().await.recv().await;
            let Some(job) = job else {
                return reply(StatusCode::INTERNAL_SERVER_ERROR, "emulator shutting down");
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + DEADLINE_MS)
                .unwrap_or_default();
            let mut response = Response::new(Full::new(job.event));
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: String| {
                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            };
            set("lambda-runtime-aws-request-id", job.id.clone());
            set("lambda-runtime-deadline-ms", deadline.to_string());
            set("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into());
            set(
                "lambda-runtime-trace-id",
                format!("Root=1-00000000-{:024x};Sampled=0", deadline),
            );
            set("content-type", "application/json".into());
            lock(&shared.inflight).insert(job.id, (Instant::now(), job.done));
            response
        }
        (&Method::POST, "/init/error") => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes());
            let text = body
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            *lock(&shared.init_error) = Some(text);
            shared.changed.notify_waiters();
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        (&Method::POST, rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return reply(StatusCode::NOT_FOUND, "unknown runtime API path");
            };
            let (id, ok) = if let Some(id) = rest.strip_suffix("/response") {
                (id.to_string(), true)
            } else if let Some(id) = rest.strip_suffix("/error") {
                (id.to_string(), false)
            } else {
                return reply(StatusCode::NOT_FOUND, "unknown runtime API path");
            };
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let arrived = Instant::now();
            let Some((handed_out, done)) = lock(&shared.inflight).remove(&id) else {
                return reply(StatusCode::BAD_REQUEST, "unknown request id");
            };
            let _ = done.send(Completion {
                ok,
                body,
                latency: arrived.saturating_duration_since(handed_out),
            });
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => reply(StatusCode::NOT_FOUND, "unknown runtime API path"),
    }
}
