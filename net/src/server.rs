//! Serving the two gRPC services with the cluster's explicit limits, and dialling them.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
#[cfg(not(madsim))]
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::server::Router;
use tonic::transport::{Channel, Endpoint, Server};
use zisk_proto::client::v1::client_api_server::ClientApiServer;
use zisk_proto::worker::v1::worker_plane_server::WorkerPlaneServer;

use crate::coordinator::{ClientService, WorkerPlaneService};
use crate::limits::ServerLimits;

fn server_builder(limits: &ServerLimits) -> Server {
    Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .concurrency_limit_per_connection(limits.concurrency_limit_per_connection)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .tcp_keepalive(Some(limits.tcp_keepalive))
        .tcp_nodelay(true)
}

/// Serves the client API on `listener` until `shutdown` resolves.
///
/// # Errors
/// A transport error of the server.
pub async fn serve_client_api(
    listener: TcpListener,
    service: ClientService,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = ClientApiServer::new(service)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    serve_on(
        server_builder(limits).add_service(service),
        listener,
        shutdown,
    )
    .await
}

/// Serves the worker plane on `listener` until `shutdown` resolves.
///
/// # Errors
/// A transport error of the server.
pub async fn serve_worker_plane(
    listener: TcpListener,
    service: WorkerPlaneService,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = WorkerPlaneServer::new(service)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    serve_on(
        server_builder(limits).add_service(service),
        listener,
        shutdown,
    )
    .await
}

/// Runs `router` on `listener` until `shutdown` resolves.
#[cfg(not(madsim))]
async fn serve_on(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}

/// Runs `router` on `listener`'s address until `shutdown` resolves. madsim-tonic serves on an
/// address, not on a listener: the simulated listener is released and the server binds it.
#[cfg(madsim)]
async fn serve_on(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    #[allow(clippy::expect_used)]
    let address = listener
        .local_addr()
        .expect("a simulated listener always knows its address");
    drop(listener);
    router.serve_with_shutdown(address, shutdown).await
}

/// A dialling error, naming the address.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach {url}: {source}")]
pub struct DialError {
    /// The address dialled.
    pub url: String,
    /// Why it failed.
    #[source]
    pub source: tonic::transport::Error,
}

/// Opens a channel to `url` (`http://host:port`) with the cluster's keepalive settings.
///
/// # Errors
/// A malformed URL or a connection failure.
pub async fn dial(url: &str, limits: &ServerLimits) -> Result<Channel, DialError> {
    let error = |source| DialError {
        url: url.to_owned(),
        source,
    };
    Endpoint::from_shared(url.to_owned())
        .map_err(error)?
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(limits.tcp_keepalive))
        .http2_keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout)
        .keep_alive_while_idle(true)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(error)
}
