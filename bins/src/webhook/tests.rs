//! The webhook against a local HTTP server on 127.0.0.1:0.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use zisk_core::{JobKind, Phase};

use super::*;

/// A local HTTP server on 127.0.0.1:0 that records every POST to `/hook` and answers
/// with the scripted statuses in order, then 200.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<VecDeque<StatusCode>>>,
}

impl Receiver {
    async fn start(script: &[StatusCode]) -> (Self, WebhookUrl) {
        let receiver = Receiver::default();
        receiver.script.lock().unwrap().extend(script);
        let router = Router::new()
            .route("/hook", post(record))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = WebhookUrl::parse(&format!("http://{address}/hook")).unwrap();
        (receiver, url)
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn record(State(receiver): State<Receiver>, body: axum::body::Bytes) -> StatusCode {
    receiver
        .bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).expect("the body is JSON"));
    receiver
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(StatusCode::OK)
}

fn quick_limits() -> WebhookLimits {
    WebhookLimits {
        queue_capacity: 8,
        attempts: 3,
        request_timeout: Duration::from_secs(5),
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
    }
}

fn completed_execute_job() -> JobOutcome {
    JobOutcome {
        job_id: "job-7".to_owned(),
        kind: JobKind::Execute,
        program_id: "prog-1".to_owned(),
        end: JobEnd::Completed {
            cycles: 12_345,
            segment_count: 2,
            proof_bytes: None,
        },
        submitted_at_ms: 1_000,
        started_at_ms: Some(1_010),
        finished_at_ms: 1_250,
        phase_durations_ms: vec![(Phase::Execute, 240)],
    }
}

/// Polls `check` until it holds, for at most 10 s.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn only_plain_http_urls_with_a_host_are_accepted() {
    assert!(WebhookUrl::parse("http://127.0.0.1:8080/zisk").is_ok());
    assert!(WebhookUrl::parse("http://relay.local/").is_ok());
    let https = WebhookUrl::parse("https://hooks.example.com/x").unwrap_err();
    assert!(https.contains("https is not supported"), "{https}");
    let ftp = WebhookUrl::parse("ftp://example.com/x").unwrap_err();
    assert!(ftp.contains("\"ftp\" is not supported"), "{ftp}");
    let relative = WebhookUrl::parse("/hook").unwrap_err();
    assert!(relative.contains("not an absolute URL"), "{relative}");
    let garbage = WebhookUrl::parse("not a url").unwrap_err();
    assert!(garbage.contains("is not a URL"), "{garbage}");
    let credentials = WebhookUrl::parse("http://user:secret@example.com/").unwrap_err();
    assert!(credentials.contains("credentials"), "{credentials}");
}

#[test]
fn a_failed_job_summary_carries_its_error_and_no_result() {
    let mut outcome = completed_execute_job();
    outcome.kind = JobKind::Prove;
    outcome.started_at_ms = None;
    outcome.phase_durations_ms.clear();
    outcome.end = JobEnd::Failed {
        code: "timeout".to_owned(),
        message: "no capacity became free within the queue timeout".to_owned(),
    };
    let body = summary_json(&outcome);
    assert_eq!(body["outcome"], "failed");
    assert_eq!(body["kind"], "prove");
    assert_eq!(body["started_at_ms"], Value::Null);
    assert_eq!(body["durations"]["queued_ms"], 250);
    assert_eq!(body["durations"]["total_ms"], 250);
    assert_eq!(body["error"]["code"], "timeout");
    assert!(body.get("cycles").is_none(), "{body}");
    outcome.end = JobEnd::Cancelled {
        reason: String::new(),
    };
    let body = summary_json(&outcome);
    assert_eq!(body["outcome"], "cancelled");
    assert_eq!(body["error"]["code"], "cancelled");
    assert_eq!(body["error"]["message"], "cancelled");
}

#[tokio::test]
async fn a_finished_job_is_posted_once_with_its_summary() {
    let (receiver, url) = Receiver::start(&[]).await;
    let mut webhook = Webhook::start(url, quick_limits());
    webhook.job_finished(completed_execute_job());
    eventually("the delivery", || webhook.stats().delivered == 1).await;
    assert!(webhook.flush(Duration::from_secs(10)).await);
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    assert_eq!(body["job_id"], "job-7");
    assert_eq!(body["kind"], "execute");
    assert_eq!(body["outcome"], "completed");
    assert_eq!(body["program_id"], "prog-1");
    assert_eq!(body["submitted_at_ms"], 1_000);
    assert_eq!(body["started_at_ms"], 1_010);
    assert_eq!(body["finished_at_ms"], 1_250);
    assert_eq!(body["durations"]["total_ms"], 250);
    assert_eq!(body["durations"]["queued_ms"], 10);
    assert_eq!(body["durations"]["phases_ms"]["execute"], 240);
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["cycles"], 12_345);
    assert_eq!(body["segment_count"], 2);
    assert_eq!(body["proof_bytes"], Value::Null);
    assert_eq!(
        webhook.stats(),
        WebhookStats {
            delivered: 1,
            ..WebhookStats::default()
        }
    );
}

#[tokio::test]
async fn a_server_failing_twice_gets_a_third_attempt_that_delivers() {
    let error = StatusCode::INTERNAL_SERVER_ERROR;
    let (receiver, url) = Receiver::start(&[error, error]).await;
    let webhook = Webhook::start(url, quick_limits());
    assert!(webhook.notify(summary_json(&completed_execute_job())));
    assert!(webhook.flush(Duration::from_secs(10)).await);
    assert_eq!(receiver.bodies().len(), 3);
    assert_eq!(webhook.stats().delivered, 1);
    assert_eq!(webhook.stats().given_up, 0);
}

#[tokio::test]
async fn a_server_that_keeps_failing_gets_exactly_the_bounded_attempts() {
    let busy = StatusCode::TOO_MANY_REQUESTS;
    let (receiver, url) = Receiver::start(&[busy; 10]).await;
    let webhook = Webhook::start(url, quick_limits());
    assert!(webhook.notify(summary_json(&completed_execute_job())));
    assert!(webhook.flush(Duration::from_secs(10)).await);
    assert_eq!(receiver.bodies().len(), 3);
    assert_eq!(webhook.stats().given_up, 1);
    assert_eq!(webhook.stats().delivered, 0);
}

#[tokio::test]
async fn a_client_error_is_given_up_without_a_retry() {
    let (receiver, url) = Receiver::start(&[StatusCode::BAD_REQUEST]).await;
    let webhook = Webhook::start(url, quick_limits());
    assert!(webhook.notify(summary_json(&completed_execute_job())));
    assert!(webhook.flush(Duration::from_secs(10)).await);
    assert_eq!(receiver.bodies().len(), 1);
    assert_eq!(webhook.stats().given_up, 1);
}

#[tokio::test]
async fn a_dead_webhook_never_blocks_and_drops_beyond_its_queue() {
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = WebhookUrl::parse(&format!("http://{address}/hook")).unwrap();
    let limits = WebhookLimits {
        queue_capacity: 4,
        ..quick_limits()
    };
    let webhook = Webhook::start(url, limits);
    let summary = summary_json(&completed_execute_job());
    let started = std::time::Instant::now();
    let queued = (0..100).filter(|_| webhook.notify(summary.clone())).count() as u64;
    // try_send only: a hundred notifications take microseconds, never a network round.
    assert!(started.elapsed() < Duration::from_secs(1));
    // The queue holds four; the task may have taken one off it already.
    assert!((4..=5).contains(&queued), "{queued} queued");
    assert_eq!(webhook.stats().dropped, 100 - queued);
    assert!(webhook.flush(Duration::from_secs(10)).await);
    let stats = webhook.stats();
    assert_eq!(stats.given_up, queued);
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.pending, 0);
}

#[tokio::test]
async fn webhook_counters_appear_in_the_metrics_registry() {
    let (_receiver, url) = Receiver::start(&[]).await;
    let webhook = Webhook::start(url, quick_limits());
    let registry = Registry::new();
    webhook.register(&registry).unwrap();
    assert!(webhook.notify(summary_json(&completed_execute_job())));
    assert!(webhook.flush(Duration::from_secs(10)).await);
    let families = registry.gather();
    let names: Vec<&str> = families.iter().map(|family| family.name()).collect();
    assert!(names.contains(&"zisk_webhook_summaries_total"), "{names:?}");
    assert!(names.contains(&"zisk_webhook_pending"), "{names:?}");
}
