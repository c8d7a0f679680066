//! The agent's Prometheus metrics (text exposition format via `prometheus-client`).
//! Labels name templates, routes and outcomes; never a value.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TemplateLabels {
    pub template: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TemplateOutcomeLabels {
    pub template: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub status: String,
}

/// Every metric the agent exports.
pub struct Metrics {
    registry: Registry,
    /// Logins and renewals by outcome (`login_ok`, `login_error`, `renew_ok`, `renew_error`).
    pub auth: Family<OutcomeLabels, Counter>,
    /// Unix time (seconds) at which the current access token expires; 0 = never.
    pub token_expiry: Gauge<f64, AtomicU64>,
    /// Renders by template and outcome (`written`, `unchanged`, `error`).
    pub renders: Family<TemplateOutcomeLabels, Counter>,
    /// Unix time (seconds) of each template's last successful render.
    pub last_render_success: Family<TemplateLabels, Gauge<f64, AtomicU64>>,
    /// Reload command runs by template and outcome (`ok`, `failed`, `timeout`).
    pub commands: Family<TemplateOutcomeLabels, Counter>,
    pub leases_active: Gauge,
    pub leases_created: Counter,
    pub leases_renewed: Counter,
    pub leases_replaced: Counter,
    /// API requests by route pattern and status (`0` = no answer).
    pub api_requests: Family<RouteLabels, Counter>,
    /// Retried API requests by route pattern and the status that caused the retry.
    pub api_retries: Family<RouteLabels, Counter>,
    /// Restarts of the `exec` child the agent caused, by reason (`secret-changed`,
    /// `config-reloaded`).
    pub child_restarts: Family<ReasonLabels, Counter>,
    /// 1 while the `exec` child runs, else 0.
    pub child_up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kms_agent");
        let m = Self {
            auth: Family::default(),
            token_expiry: Gauge::default(),
            renders: Family::default(),
            last_render_success: Family::default(),
            commands: Family::default(),
            leases_active: Gauge::default(),
            leases_created: Counter::default(),
            leases_renewed: Counter::default(),
            leases_replaced: Counter::default(),
            api_requests: Family::default(),
            api_retries: Family::default(),
            child_restarts: Family::default(),
            child_up: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "auth",
            "Logins and token renewals by outcome",
            m.auth.clone(),
        );
        registry.register(
            "token_expiry_seconds",
            "Unix time at which the access token expires (0 = never)",
            m.token_expiry.clone(),
        );
        registry.register("renders", "Template renders by outcome", m.renders.clone());
        registry.register(
            "last_render_success_seconds",
            "Unix time of the last successful render of each template",
            m.last_render_success.clone(),
        );
        registry.register(
            "commands",
            "Reload command runs by outcome",
            m.commands.clone(),
        );
        registry.register(
            "leases_active",
            "Dynamic-secret leases currently held",
            m.leases_active.clone(),
        );
        registry.register(
            "leases_created",
            "Dynamic-secret leases created",
            m.leases_created.clone(),
        );
        registry.register(
            "leases_renewed",
            "Dynamic-secret lease renewals",
            m.leases_renewed.clone(),
        );
        registry.register(
            "leases_replaced",
            "Dynamic-secret leases replaced at their max TTL",
            m.leases_replaced.clone(),
        );
        registry.register(
            "api_requests",
            "KMS API requests by route and status",
            m.api_requests.clone(),
        );
        registry.register(
            "api_retries",
            "KMS API requests retried, by route and status",
            m.api_retries.clone(),
        );
        registry.register(
            "child_restarts",
            "Restarts of the exec child the agent caused, by reason",
            m.child_restarts.clone(),
        );
        registry.register(
            "child_up",
            "1 while the exec child runs",
            m.child_up.clone(),
        );
        Self { registry, ..m }
    }

    pub fn child_restarted(&self, reason: &str) {
        self.child_restarts
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn auth_event(&self, outcome: &str) {
        self.auth
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// One template's render series, resolved once so that a renderer records each round without
    /// building label strings or looking the series up again. The `error` series exists (at 0)
    /// from the start.
    pub fn template_renders(&self, template: &str) -> TemplateRenderMetrics {
        let outcome = |outcome: &str| {
            self.renders
                .get_or_create(&TemplateOutcomeLabels {
                    template: template.into(),
                    outcome: outcome.into(),
                })
                .clone()
        };
        TemplateRenderMetrics {
            written: outcome("written"),
            unchanged: outcome("unchanged"),
            error: outcome("error"),
            last_success: self
                .last_render_success
                .get_or_create(&TemplateLabels {
                    template: template.into(),
                })
                .clone(),
        }
    }

    pub fn command_event(&self, template: &str, outcome: &str) {
        self.commands
            .get_or_create(&TemplateOutcomeLabels {
                template: template.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn api_request(&self, route: &str, status: u16) {
        self.api_requests
            .get_or_create(&RouteLabels {
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
    }

    pub fn api_retry(&self, route: &str, status: u16) {
        self.api_retries
            .get_or_create(&RouteLabels {
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
    }
}

impl crate::client::observer::RequestObserver for Metrics {
    fn request(&self, route: &str, status: u16) {
        self.api_request(route, status);
    }

    fn retry(&self, route: &str, status: u16) {
        self.api_retry(route, status);
    }
}

/// See [`Metrics::template_renders`].
#[derive(Clone)]
pub struct TemplateRenderMetrics {
    written: Counter,
    unchanged: Counter,
    error: Counter,
    last_success: Gauge<f64, AtomicU64>,
}

impl TemplateRenderMetrics {
    /// The file was written with new content.
    pub fn written(&self) {
        self.written.inc();
        self.last_success.set(unix_now());
    }

    /// The render succeeded and the file already held its bytes.
    pub fn unchanged(&self) {
        self.unchanged.inc();
        self.last_success.set(unix_now());
    }

    /// The render or the write failed.
    pub fn error(&self) {
        self.error.inc();
    }
}

/// Seconds since the Unix epoch, as a float.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_in_the_text_format() {
        let m = Metrics::new();
        m.auth_event("login_ok");
        let t0 = m.template_renders("t0");
        t0.written();
        t0.error();
        m.command_event("t0", "timeout");
        m.api_request("GET /api/v3/secrets/raw", 200);
        m.leases_active.set(2);
        let text = m.encode();
        assert!(
            text.contains("kms_agent_auth_total{outcome=\"login_ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("kms_agent_renders_total{template=\"t0\",outcome=\"error\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("kms_agent_commands_total{template=\"t0\",outcome=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "kms_agent_api_requests_total{route=\"GET /api/v3/secrets/raw\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("kms_agent_leases_active 2"), "{text}");
        assert!(
            text.contains("kms_agent_last_render_success_seconds{template=\"t0\"}"),
            "{text}"
        );
    }
}
