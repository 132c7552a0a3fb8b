//! The local DynamoDB-compatible server for tests: a fresh table per test (made from
//! `template.yaml`), helpers to look at what was written, and a switch that makes storage fail
//! at an exact moment.
//!
//! Which server: `AWS_ENDPOINT_URL_DYNAMODB` when set (`scripts/test` starts one and sets it).
//! Otherwise the first test that needs one starts `scripts/dynamodb_local.py` itself, on a free
//! port, once per test process (it exits with the process). If that cannot work (no Python or no
//! moto), the process stops at once with one line saying what to run, instead of every test
//! panicking on its own.

use crate::table::TableSpec;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use shared::adapters::store::schema::ItemFamily;
use shared::adapters::store::Store;
use shared::domain::msisdn::Msisdn;
use std::time::Duration;

/// The local server: `AWS_ENDPOINT_URL_DYNAMODB`, or one this process started.
pub fn endpoint() -> String {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT
        .get_or_init(|| match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => match start_local_server() {
                Ok(url) => url,
                Err(reason) => {
                    // Straight to stderr: the test harness captures `eprintln!`, and would lose it
                    // when the process exits.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "error: no local DynamoDB server ({reason}); run `scripts/test`, or start \
                         one with `python3 scripts/dynamodb_local.py --port 8000` and set \
                         AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000"
                    );
                    std::process::exit(1)
                }
            },
        })
        .clone()
}

/// `scripts/dynamodb_local.py` on a free port, alive as long as this process: it exits when its
/// standard input closes, which happens when we exit, however we exit.
fn start_local_server() -> Result<String, String> {
    let script = crate::repo_path("scripts/dynamodb_local.py");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let log = std::env::temp_dir().join(format!("dynamodb-local-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let child = std::process::Command::new("python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--exit-with-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    // Keep the pipe open for the life of the process; the server's stdin closes when we exit.
    static SERVER: std::sync::OnceLock<std::sync::Mutex<std::process::Child>> =
        std::sync::OnceLock::new();
    let _ = SERVER.set(std::sync::Mutex::new(child));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = SERVER
            .get()
            .and_then(|c| c.lock().ok().and_then(|mut c| c.try_wait().ok().flatten()));
        if exited.is_some() || std::time::Instant::now() > deadline {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let last = tail.lines().last().unwrap_or("no output").to_string();
            return Err(format!(
                "{} did not start: {last} (is moto installed? pip install -r scripts/requirements.txt)",
                script.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(format!("http://127.0.0.1:{port}"))
}

pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(shared::adapters::sdk_http::sdk_http_client())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A new, empty table made from template.yaml's definition, with a unique name.
pub async fn fresh_store() -> Store {
    let client = client_for(&endpoint());
    let name = format!("test-{:016x}", fastrand::u64(..));
    let spec = TableSpec::from_template_file(&crate::repo_path("template.yaml"))
        .expect("template.yaml has the table");
    spec.create(&client, &name).await.unwrap_or_else(|e| {
        panic!(
            "cannot create a table on the local DynamoDB server at {} ({e}); start it with scripts/test or scripts/dynamodb_local.py",
            endpoint()
        )
    });
    Store::new(client, name)
}

/// A store whose server is down (nothing listens on that port).
pub fn unreachable_store(table: &str) -> Store {
    Store::new(client_for("http://127.0.0.1:9"), table)
}

pub fn msisdn(digits: &str) -> Msisdn {
    Msisdn::from_provider(digits).unwrap()
}

/// Every item under a number, straight from the table.
pub async fn items_for(
    store: &Store,
    digits: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let partition = shared::adapters::store::schema::partition_is(&msisdn(digits));
    let out = store
        .client()
        .query()
        .table_name(store.table_name())
        .key_condition_expression(partition.text)
        .set_expression_attribute_values(Some(partition.values))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items().to_vec()
}

pub async fn history_count(store: &Store, digits: &str) -> usize {
    items_for(store, digits)
        .await
        .iter()
        .filter(|i| ItemFamily::of(i) == ItemFamily::History)
        .count()
}

/// Number of items in the whole table.
/// A fresh table holding exactly what the previous version wrote
/// (`testdata/previous-version/`), and those items.
pub async fn previous_version_table() -> (Store, Vec<serde_dynamo::Item>) {
    let store = fresh_store().await;
    let path = crate::repo_path("testdata/previous-version/items-5b2fccc.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let items: Vec<serde_dynamo::Item> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for item in &items {
        store
            .client()
            .put_item()
            .table_name(store.table_name())
            .set_item(Some(item.clone().into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    (store, items)
}

pub async fn item_count(store: &Store) -> usize {
    let out = store
        .client()
        .scan()
        .table_name(store.table_name())
        .send()
        .await
        .unwrap();
    out.items().len()
}

/// A TCP forwarder in front of the local DynamoDB server that a test can switch off, to make
/// storage fail at an exact moment (e.g. right after Vonage confirmed).
pub struct StorageSwitch {
    pub endpoint: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    kill: tokio::sync::broadcast::Sender<()>,
}

impl StorageSwitch {
    pub async fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let upstream = endpoint().trim_start_matches("http://").to_string();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (kill, _) = tokio::sync::broadcast::channel::<()>(4);
        let (down2, kill2) = (down.clone(), kill.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut killed = kill2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = killed.recv() => {}
                    }
                });
            }
        });
        Self {
            endpoint: format!("http://{local}"),
            down,
            kill,
        }
    }

    pub fn store(&self, table: &str) -> Store {
        Store::new(client_for(&self.endpoint), table)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            let _ = self.kill.send(());
        }
    }

    pub fn handle(&self) -> StorageSwitchHandle {
        StorageSwitchHandle {
            down: self.down.clone(),
            kill: self.kill.clone(),
        }
    }
}

/// A cloneable way to pull the plug from inside another task (e.g. a wiremock responder).
#[derive(Clone)]
pub struct StorageSwitchHandle {
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    kill: tokio::sync::broadcast::Sender<()>,
}

impl StorageSwitchHandle {
    pub fn set_down(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.kill.send(());
    }
}
