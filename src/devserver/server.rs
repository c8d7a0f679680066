//! Starting and stopping the dev server: the axum router and an own accept loop (one hyper
//! connection task per client), so that a fault rule can drop a connection without answering.
//! With [`DevServerTls`] each connection is a TLS handshake first, then the same HTTP/1.1 service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{Request, Uri};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tower::Service;

use super::faults::{observe, unknown_route, ConnControl};
use super::routes_admin::{self, stats_json};
use super::seed::Seed;
use super::state::AppState;
use super::tls::DevServerTls;
use super::{routes_auth, routes_leases, routes_secrets, routes_writes};

#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    #[error("dev-server: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The dev server; see [`DevServer::start`].
pub struct DevServer;

/// A running dev server. Dropping the handle stops it too (without waiting).
pub struct DevServerHandle {
    addr: SocketAddr,
    https: bool,
    state: AppState,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/auth/universal-auth/login",
            post(routes_auth::universal_auth),
        )
        .route(
            "/api/v1/auth/kubernetes-auth/login",
            post(routes_auth::kubernetes),
        )
        .route("/api/v1/auth/azure-auth/login", post(routes_auth::azure))
        .route("/api/v1/auth/gcp-auth/login", post(routes_auth::gcp))
        .route("/api/v1/auth/aws-auth/login", post(routes_auth::aws))
        .route("/api/v1/auth/token/renew", post(routes_auth::renew))
        .route("/api/v1/auth/token/revoke", post(routes_auth::revoke))
        .route("/api/v3/secrets/raw", get(routes_secrets::list_v3))
        .route(
            "/api/v3/secrets/raw/{secretName}",
            get(routes_secrets::get_v3)
                .post(routes_writes::create)
                .patch(routes_writes::update)
                .delete(routes_writes::delete),
        )
        .route("/api/v4/secrets", get(routes_secrets::list_v4))
        .route("/api/v4/secrets/{secretName}", get(routes_secrets::get_v4))
        .route(
            "/api/v1/dynamic-secrets/leases",
            post(routes_leases::create),
        )
        .route(
            "/api/v1/dynamic-secrets/leases/{leaseId}",
            get(routes_leases::get).delete(routes_leases::revoke),
        )
        .route(
            "/api/v1/dynamic-secrets/leases/{leaseId}/renew",
            post(routes_leases::renew),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), observe));
    let admin = Router::new()
        .route("/dev/stats", get(routes_admin::stats))
        .route(
            "/dev/faults",
            get(routes_admin::list_faults)
                .post(routes_admin::add_faults)
                .delete(routes_admin::clear_faults),
        )
        .route("/dev/tokens/expire", post(routes_admin::expire_tokens))
        .route("/dev/logins", get(routes_admin::logins))
        .route_layer(middleware::from_fn(routes_admin::loopback_only));
    api.merge(admin)
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(state)
}

/// Routing is trailing-slash-insensitive, as on the real server.
fn strip_trailing_slash(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let pq = match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

impl DevServer {
    /// Binds `listen` (port 0 picks a free port), loads the seed and starts serving on the
    /// current tokio runtime. Returns once the socket is listening.
    pub async fn start(seed: Seed, listen: SocketAddr) -> Result<DevServerHandle, DevServerError> {
        Self::start_with(seed, listen, None).await
    }

    /// Like [`DevServer::start`], serving HTTPS with `tls`.
    pub async fn start_tls(
        seed: Seed,
        listen: SocketAddr,
        tls: DevServerTls,
    ) -> Result<DevServerHandle, DevServerError> {
        Self::start_with(seed, listen, Some(tls)).await
    }

    /// [`DevServer::start`] (`tls` None) or [`DevServer::start_tls`].
    pub async fn start_with(
        seed: Seed,
        listen: SocketAddr,
        tls: Option<DevServerTls>,
    ) -> Result<DevServerHandle, DevServerError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| DevServerError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DevServerError::Bind {
                addr: listen,
                source,
            })?;
        let state = AppState::new(&seed);
        let app = router(state.clone());
        let (stop, stopped) = watch::channel(false);
        let https = tls.is_some();
        let task = tokio::spawn(accept_loop(listener, app, tls, stopped));
        tracing::info!(%addr, https, "dev-server listening");
        Ok(DevServerHandle {
            addr,
            https,
            state,
            stop,
            task: Some(task),
        })
    }
}

/// How long a client may take to finish the TLS handshake before its connection is dropped.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    tls: Option<DevServerTls>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "dev-server: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let ctrl = ConnControl {
            close: Arc::new(Notify::new()),
            peer,
        };
        let app = app.clone();
        let tls = tls.clone();
        let mut conn_stopped = stopped.clone();
        connections.spawn(async move {
            let close = ctrl.close.clone();
            // Dropping the connection future closes the socket without an answer (or, over
            // TLS, without a close_notify): the fault rules' "drop the connection".
            tokio::select! {
                _ = serve_connection(stream, tls, ctrl, app) => {}
                _ = close.notified() => {}
                _ = conn_stopped.changed() => {}
            }
        });
    }
    connections.shutdown().await;
}

/// Serves one client: the TLS handshake first when `tls` is set, then HTTP/1.1 until it ends.
async fn serve_connection(
    stream: TcpStream,
    tls: Option<DevServerTls>,
    ctrl: ConnControl,
    app: Router,
) {
    let peer = ctrl.peer;
    let Some(tls) = tls else {
        return serve_http(stream, ctrl, app).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => serve_http(stream, ctrl, app).await,
        // An agent without the CA ends here: its alert ("UnknownCA") says why.
        Ok(Err(e)) => tracing::info!(%peer, error = %e, "dev-server: TLS handshake failed"),
        Err(_) => tracing::info!(%peer, "dev-server: TLS handshake timed out"),
    }
}

async fn serve_http<S>(stream: S, ctrl: ConnControl, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ctrl.clone());
        if let Some(uri) = strip_trailing_slash(req.uri()) {
            *req.uri_mut() = uri;
        }
        let mut app = app.clone();
        async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

impl DevServerHandle {
    /// The address the server listens on (with the real port when started with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://ADDR` when serving TLS), the base URL for clients (the API
    /// lives under `/api`).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Whether the server speaks TLS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The same document as `GET /dev/stats`.
    pub fn stats(&self) -> Value {
        stats_json(&self.state)
    }

    /// Stops accepting, closes open connections and waits until the server task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DevServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slash_is_stripped_with_query_kept() {
        let u: Uri = "/api/v3/secrets/raw/?a=1".parse().unwrap();
        assert_eq!(
            strip_trailing_slash(&u).unwrap().to_string(),
            "/api/v3/secrets/raw?a=1"
        );
        assert!(strip_trailing_slash(&"/".parse().unwrap()).is_none());
        assert!(strip_trailing_slash(&"/x".parse().unwrap()).is_none());
    }
}
