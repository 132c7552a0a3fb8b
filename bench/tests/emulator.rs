//! The Runtime API emulator drives a real lambda_http bootstrap (the baseline binary): init is
//! timed, invocations are answered in order, errors and memory are reported.

use bytes::Bytes;
use optout_bench::emulator::{memory_kib, Emulator};
use optout_bench::events;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_bootstrap_runs_under_the_emulator() {
    let bootstrap = Path::new(env!("CARGO_BIN_EXE_baseline"));
    let log = std::env::temp_dir().join(format!("emulator-test-{}.log", std::process::id()));
    let mut emulator = Emulator::start().await.expect("emulator");
    emulator.spawn(bootstrap, &Vec::new(), &log).expect("spawn");
    let init = emulator
        .wait_init(Duration::from_secs(20))
        .await
        .expect("the bootstrap polls for an event");
    assert!(init > Duration::ZERO && init < Duration::from_secs(20));

    for i in 0..5 {
        let event = events::signed_inbound_sms("14155550100", &format!("T{i}"), "hello");
        let completion = emulator
            .invoke(Bytes::from(event), Duration::from_secs(10))
            .await
            .expect("an answer");
        assert!(completion.ok, "{:?}", completion.body);
        assert_eq!(events::status_of(&completion.body), Some(200));
        assert!(String::from_utf8_lossy(&completion.body).contains("hello"));
        assert!(completion.latency < Duration::from_secs(10));
    }
    // An event that is not an API Gateway request: lambda_http reports an error, and the
    // emulator records it as one.
    let completion = emulator
        .invoke(Bytes::from_static(b"[1, 2, 3]"), Duration::from_secs(10))
        .await
        .expect("an answer");
    assert!(!completion.ok, "{:?}", completion.body);

    let (peak, rss) = memory_kib(emulator.pid().expect("running")).expect("/proc status");
    assert!(peak >= rss && rss > 0, "VmHWM {peak} KiB, VmRSS {rss} KiB");
    emulator.stop().await;
    let _ = std::fs::remove_file(log);
}
