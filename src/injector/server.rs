//! The injector's HTTPS server: `POST /mutate`, `GET /healthz`, `GET /metrics` (docs/injector.md).
//! The certificate is read again when its files change. Every request is bounded: its body in size
//! and, like the TLS handshake, in time, and the number of connections at once, so that no client
//! can hold the webhook past the API server's timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use super::review::{answer, Outcome};
use crate::tls_pem::{ServedCert, TlsSetupError};

/// The largest review body read (the API server's objects are at most 1.5 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;
/// Time a client has for the TLS handshake, and for sending one request's body.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// How often the certificate files are checked for a rotation.
pub const CERT_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// What `kms injector` serves.
#[derive(Debug, Clone)]
pub struct InjectorOptions {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// The agent image injected when a pod does not name one.
    pub agent_image: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InjectorError {
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

struct Shared {
    agent_image: String,
    reviews: Family<OutcomeLabels, Counter>,
    registry: Registry,
}

/// A running injector; dropping it stops it.
pub struct InjectorHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl InjectorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the server's tasks.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for InjectorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Loads the certificate, binds and starts serving.
pub async fn start(options: InjectorOptions) -> Result<InjectorHandle, InjectorError> {
    let cert = Arc::new(ServedCert::load(&options.tls_cert, &options.tls_key)?);
    let acceptor = TlsAcceptor::from(Arc::new(cert.server_config()?));
    let listener =
        TcpListener::bind(options.listen)
            .await
            .map_err(|source| InjectorError::Bind {
                addr: options.listen,
                source,
            })?;
    let addr = listener
        .local_addr()
        .map_err(|source| InjectorError::Bind {
            addr: options.listen,
            source,
        })?;
    let reviews = Family::<OutcomeLabels, Counter>::default();
    let mut registry = Registry::with_prefix("kms_injector");
    registry.register("reviews", "Admission reviews by outcome", reviews.clone());
    let shared = Arc::new(Shared {
        agent_image: options.agent_image,
        reviews,
        registry,
    });
    let app = Router::new()
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(shared);
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(accept_loop(listener, acceptor, app, stopped.clone())),
        tokio::spawn(watch_certificate(cert, stopped)),
    ];
    tracing::info!(%addr, "injector listening");
    Ok(InjectorHandle { addr, stop, tasks })
}

/// Reads the certificate again whenever its files change (cert-manager rotates them in place).
async fn watch_certificate(cert: Arc<ServedCert>, mut stopped: watch::Receiver<bool>) {
    let mut last_error = String::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(CERT_CHECK_INTERVAL) => {}
        }
        match cert.reload_if_changed() {
            Ok(true) => {
                last_error.clear();
                tracing::info!("TLS certificate reloaded");
            }
            Ok(false) => {}
            Err(e) => {
                let message = e.to_string();
                if message != last_error {
                    tracing::warn!(error = %message, "the changed TLS certificate cannot be used yet; the previous one keeps serving");
                    last_error = message;
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "injector: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut conn_stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let stream = match tokio::time::timeout(CLIENT_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return tracing::debug!(%peer, error = %e, "injector: TLS handshake failed")
                }
                Err(_) => return tracing::debug!(%peer, "injector: TLS handshake timed out"),
            };
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let mut app = app.clone();
                async move {
                    Ok::<_, Infallible>(
                        app.call(req.map(Body::new))
                            .await
                            .unwrap_or_else(|e| match e {}),
                    )
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(CLIENT_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = conn_stopped.changed() => {}
            }
        });
    }
}

async fn mutate(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let body = match tokio::time::timeout(
        CLIENT_TIMEOUT,
        axum::body::to_bytes(request.into_body(), MAX_BODY),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            count(&shared, Outcome::Invalid);
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the review is larger than {} MiB\n", MAX_BODY >> 20),
            )
                .into_response();
        }
        Err(_) => {
            count(&shared, Outcome::Invalid);
            return (
                StatusCode::REQUEST_TIMEOUT,
                "the review did not arrive in time\n",
            )
                .into_response();
        }
    };
    review_response(&shared, &body)
}

fn review_response(shared: &Shared, body: &Bytes) -> Response {
    match answer(body, &shared.agent_image) {
        Ok((review, outcome)) => {
            count(shared, outcome);
            if outcome == Outcome::Refused {
                let message = review["response"]["status"]["message"]
                    .as_str()
                    .unwrap_or_default();
                tracing::warn!(reason = %message, "pod refused");
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_vec(&review).unwrap_or_default(),
            )
                .into_response()
        }
        Err(e) => {
            count(shared, Outcome::Invalid);
            (StatusCode::BAD_REQUEST, format!("{}\n", e.0)).into_response()
        }
    }
}

fn count(shared: &Shared, outcome: Outcome) {
    shared
        .reviews
        .get_or_create(&OutcomeLabels {
            outcome: outcome.label().into(),
        })
        .inc();
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &shared.registry);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
