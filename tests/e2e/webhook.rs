//! The coordinator posts a job summary to `webhook_url` when a job ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use crate::harness::*;

type Received = Arc<Mutex<Vec<serde_json::Value>>>;

async fn record(State(received): State<Received>, body: axum::body::Bytes) -> StatusCode {
    let summary = serde_json::from_slice(&body).expect("the webhook body is JSON");
    received.lock().unwrap().push(summary);
    StatusCode::NO_CONTENT
}

#[test]
fn the_coordinator_posts_a_completed_execute_job_to_its_webhook() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let received = Received::default();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let hook = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/jobs", post(record))
        .with_state(received.clone());
    runtime.spawn(async move { axum::serve(listener, router).await });

    let scratch = scratch();
    let ports = Ports::free();
    let _coordinator = start_coordinator_tuned(
        ports,
        scratch.path(),
        &format!("webhook_url = \"http://{hook}/jobs\"\n"),
        &[],
    );
    let _worker = start_worker("worker-a", ports, scratch.path());
    wait_for_workers(&runtime, ports, 1);
    let input = scratch.path().join("fib.in");
    std::fs::write(&input, 10u32.to_le_bytes()).unwrap();
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "--coordinator",
            &ports.api_url(),
            "execute",
            elf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));

    let summary = wait_for("the webhook's POST", Duration::from_secs(20), || {
        received.lock().unwrap().first().cloned()
    });
    assert_eq!(summary["kind"], "execute", "{summary}");
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["error"], serde_json::Value::Null, "{summary}");
    assert!(
        summary["job_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{summary}"
    );
    assert!(summary["cycles"].as_u64().unwrap_or(0) > 0, "{summary}");
    assert!(
        summary["segment_count"].as_u64().unwrap_or(0) >= 1,
        "{summary}"
    );
    assert!(
        summary["durations"]["phases_ms"]["execute"].is_u64(),
        "{summary}"
    );
    let (submitted, finished) = (
        summary["submitted_at_ms"].as_u64().unwrap(),
        summary["finished_at_ms"].as_u64().unwrap(),
    );
    assert!(submitted > 0 && finished >= submitted, "{summary}");
    // The counter moves once the answer is read, just after the body arrived.
    wait_for("the delivered counter", Duration::from_secs(10), || {
        let (_, metrics) = http_get(ports.metrics, "/metrics").ok()?;
        metrics
            .contains("zisk_webhook_summaries_total{result=\"delivered\"} 1")
            .then_some(())
    });
    assert_eq!(received.lock().unwrap().len(), 1);
}
