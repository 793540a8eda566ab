//! The coordinator's job webhook (`webhook_url` in the core tuning file): when a job ends,
//! a JSON summary of it is POSTed to an `http://` URL.
//!
//! The core task hands each summary to [`Webhook::notify`], which never blocks: summaries go
//! into a bounded queue ([`WebhookLimits::queue_capacity`]) and, when it is full, the newest
//! is dropped with a warning and counted. One background task posts them in order, each with
//! a per-request timeout and a bounded number of attempts with exponential backoff; it retries
//! connection errors, timeouts, 5xx and 429, and gives up at once on any other status. A dead
//! webhook therefore costs the job table nothing: it loses summaries, never time.
//!
//! Metrics: `zisk_webhook_summaries_total{result="delivered"|"given_up"|"dropped"}` and
//! `zisk_webhook_pending` on `/metrics`. The body is documented in docs/configuration.md.
//!
//! ```
//! use zisk_bins::webhook::WebhookUrl;
//!
//! assert!(WebhookUrl::parse("http://127.0.0.1:8080/zisk").is_ok());
//! assert!(WebhookUrl::parse("https://hooks.example.com/zisk").unwrap_err().contains("https"));
//! ```

use std::fmt;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use zisk_net::coordinator::{JobEnd, JobOutcome, JobOutcomeListener};

/// Summaries waiting to be posted; beyond this the newest is dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// POSTs per summary, the first included.
pub const ATTEMPTS: u32 = 5;
/// One POST's limit: connecting, sending and reading the response status.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The wait after the first failed attempt; it doubles after each failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// How long a stopping coordinator waits for the queue to empty.
pub const FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// A validated webhook URL: `http://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(Uri);

impl WebhookUrl {
    /// Parses and checks a URL.
    ///
    /// # Errors
    /// What is wrong with it, for a configuration error (https, another scheme, no host,
    /// credentials in the URL, or not a URL at all).
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: Uri = text
            .parse()
            .map_err(|error| format!("{text:?} is not a URL: {error}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{text:?}: https is not supported; point it at an http relay on the same host"
                ));
            }
            Some(other) => {
                return Err(format!(
                    "{text:?}: scheme {other:?} is not supported; expected http://host[:port]/path"
                ));
            }
            None => {
                return Err(format!(
                    "{text:?} is not an absolute URL; expected http://host[:port]/path"
                ));
            }
        }
        let Some(authority) = uri.authority() else {
            return Err(format!(
                "{text:?} has no host; expected http://host[:port]/path"
            ));
        };
        if authority.host().is_empty() {
            return Err(format!(
                "{text:?} has no host; expected http://host[:port]/path"
            ));
        }
        if authority.as_str().contains('@') {
            return Err(format!(
                "{text:?}: credentials in the URL are not supported"
            ));
        }
        Ok(WebhookUrl(uri))
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The webhook's bounds; [`Default`] gives the documented constants (tests shrink them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookLimits {
    /// Summaries waiting to be posted.
    pub queue_capacity: usize,
    /// POSTs per summary, the first included (at least one).
    pub attempts: u32,
    /// One POST's limit.
    pub request_timeout: Duration,
    /// The wait after the first failed attempt.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            queue_capacity: QUEUE_CAPACITY,
            attempts: ATTEMPTS,
            request_timeout: REQUEST_TIMEOUT,
            first_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
        }
    }
}

#[derive(Clone)]
struct Counters {
    all: IntCounterVec,
    delivered: IntCounter,
    given_up: IntCounter,
    dropped: IntCounter,
    /// Accepted and not yet delivered or given up.
    pending: IntGauge,
}

impl Counters {
    fn new() -> Self {
        let all = IntCounterVec::new(
            Opts::new(
                "zisk_webhook_summaries_total",
                "Job summaries for the webhook by result (delivered, given_up, dropped)",
            ),
            &["result"],
        )
        .expect("valid metric");
        Counters {
            delivered: all.with_label_values(&["delivered"]),
            given_up: all.with_label_values(&["given_up"]),
            dropped: all.with_label_values(&["dropped"]),
            pending: IntGauge::new(
                "zisk_webhook_pending",
                "Job summaries queued for the webhook or being posted",
            )
            .expect("valid metric"),
            all,
        }
    }
}

/// What became of the summaries so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Posted and answered with 2xx.
    pub delivered: u64,
    /// Every attempt failed, or the answer was a status that is not retried.
    pub given_up: u64,
    /// Refused because the queue was full.
    pub dropped: u64,
    /// Queued or being posted.
    pub pending: u64,
}

/// The notifier: a handle on the queue of the posting task. Clones share the queue; the task
/// ends when every clone is dropped and the queue is empty.
#[derive(Clone)]
pub struct Webhook {
    url: WebhookUrl,
    sender: mpsc::Sender<Value>,
    counters: Counters,
}

impl Webhook {
    /// Starts the posting task (needs a Tokio runtime).
    ///
    /// # Panics
    /// `limits.attempts` or `limits.queue_capacity` is zero (a programmer error).
    pub fn start(url: WebhookUrl, limits: WebhookLimits) -> Self {
        assert!(limits.attempts >= 1, "a webhook needs at least one attempt");
        assert!(limits.queue_capacity >= 1, "a webhook needs a queue");
        let (sender, receiver) = mpsc::channel(limits.queue_capacity);
        let counters = Counters::new();
        tokio::spawn(post_all(url.clone(), limits, receiver, counters.clone()));
        Webhook {
            url,
            sender,
            counters,
        }
    }

    /// Adds the webhook's counters to `registry` (for `/metrics`).
    ///
    /// # Errors
    /// They are registered there already.
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.counters.all.clone()))?;
        registry.register(Box::new(self.counters.pending.clone()))
    }

    /// Queues `summary` for posting without waiting; returns whether it was queued (when the
    /// queue is full it is dropped, logged and counted).
    pub fn notify(&self, summary: Value) -> bool {
        self.counters.pending.inc();
        match self.sender.try_send(summary) {
            Ok(()) => true,
            Err(error) => {
                self.counters.pending.dec();
                self.counters.dropped.inc();
                let job_id = match &error {
                    mpsc::error::TrySendError::Full(summary)
                    | mpsc::error::TrySendError::Closed(summary) => {
                        summary["job_id"].as_str().unwrap_or_default().to_owned()
                    }
                };
                tracing::warn!(
                    url = %self.url,
                    job_id,
                    dropped = self.counters.dropped.get(),
                    "webhook queue full; job summary dropped"
                );
                false
            }
        }
    }

    /// What became of the summaries so far.
    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            delivered: self.counters.delivered.get(),
            given_up: self.counters.given_up.get(),
            dropped: self.counters.dropped.get(),
            pending: self.counters.pending.get().max(0) as u64,
        }
    }

    /// Waits until every queued summary was delivered or given up, for at most `limit`;
    /// returns whether the queue emptied.
    pub async fn flush(&self, limit: Duration) -> bool {
        let start = tokio::time::Instant::now();
        while self.counters.pending.get() > 0 {
            if start.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

impl JobOutcomeListener for Webhook {
    fn job_finished(&mut self, outcome: JobOutcome) {
        self.notify(summary_json(&outcome));
    }
}

/// The JSON body posted for a job (docs/configuration.md shows an example).
pub fn summary_json(outcome: &JobOutcome) -> Value {
    let phases: serde_json::Map<String, Value> = outcome
        .phase_durations_ms
        .iter()
        .map(|(phase, ms)| (phase.name().to_owned(), json!(ms)))
        .collect();
    let mut body = json!({
        "job_id": outcome.job_id,
        "kind": outcome.kind.name(),
        "outcome": outcome.end.name(),
        "program_id": outcome.program_id,
        "submitted_at_ms": outcome.submitted_at_ms,
        "started_at_ms": outcome.started_at_ms,
        "finished_at_ms": outcome.finished_at_ms,
        "durations": {
            "total_ms": outcome.total_ms(),
            "queued_ms": outcome.queued_ms(),
            "phases_ms": phases,
        },
        "error": null,
    });
    match &outcome.end {
        JobEnd::Completed {
            cycles,
            segment_count,
            proof_bytes,
        } => {
            body["cycles"] = json!(cycles);
            body["segment_count"] = json!(segment_count);
            body["proof_bytes"] = json!(proof_bytes);
        }
        JobEnd::Failed { code, message } => {
            body["error"] = json!({ "code": code, "message": message });
        }
        JobEnd::Cancelled { reason } => {
            let message = if reason.is_empty() {
                "cancelled"
            } else {
                reason
            };
            body["error"] = json!({ "code": "cancelled", "message": message });
        }
    }
    body
}

/// How one POST went.
enum Attempt {
    Delivered,
    /// Worth another attempt.
    Retry(String),
    /// Another attempt cannot help.
    Refused(StatusCode),
}

async fn post_all(
    url: WebhookUrl,
    limits: WebhookLimits,
    mut receiver: mpsc::Receiver<Value>,
    counters: Counters,
) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    while let Some(summary) = receiver.recv().await {
        let body = Bytes::from(serde_json::to_vec(&summary).expect("a JSON value serialises"));
        let job_id = summary["job_id"].as_str().unwrap_or_default();
        let mut backoff = limits.first_backoff;
        let mut attempt = 1;
        loop {
            match post(&client, &url, body.clone(), limits.request_timeout).await {
                Attempt::Delivered => {
                    counters.delivered.inc();
                    tracing::debug!(%url, job_id, attempt, "job summary posted");
                    break;
                }
                Attempt::Refused(status) => {
                    counters.given_up.inc();
                    tracing::warn!(%url, job_id, %status, "webhook refused the job summary; not retried");
                    break;
                }
                Attempt::Retry(problem) if attempt >= limits.attempts => {
                    counters.given_up.inc();
                    tracing::warn!(%url, job_id, attempts = attempt, %problem, "webhook unreachable; job summary given up");
                    break;
                }
                Attempt::Retry(problem) => {
                    tracing::debug!(%url, job_id, attempt, %problem, "webhook attempt failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(limits.max_backoff);
                    attempt += 1;
                }
            }
        }
        counters.pending.dec();
    }
}

async fn post(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &WebhookUrl,
    body: Bytes,
    timeout: Duration,
) -> Attempt {
    let request = Request::post(url.0.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("zisk-coordinator/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(body))
        .expect("a validated URL makes a valid request");
    match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => Attempt::Retry(format!("no answer within {timeout:?}")),
        Ok(Err(error)) => Attempt::Retry(error.to_string()),
        Ok(Ok(response)) => {
            let status = response.status();
            if status.is_success() {
                Attempt::Delivered
            } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                Attempt::Retry(format!("status {status}"))
            } else {
                Attempt::Refused(status)
            }
        }
    }
}

#[cfg(test)]
mod tests;
