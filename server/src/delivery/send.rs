//! One pooled HTTP client for every delivery, and one attempt with it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{AttemptRequest, AttemptResponse};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::request::Outbound;
use super::ssrf::{PrivateTarget, filter_public, private_literal};

/// The error class of an attempt that got no answer in time.
pub const TIMEOUT: &str = "timeout";
/// The longest wait for a connection: a receiver that does not even accept
/// it is known to be away well before the answer's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Response bodies are kept up to this size; the rest is not read.
pub const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// Whether targets on loopback and private ranges may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateTargets {
    Refuse,
    Allow,
}

/// A name that did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {name} failed: {source}")]
struct DnsFailure {
    name: String,
    source: std::io::Error,
}

/// Resolves names and, unless private targets are allowed, keeps only public
/// addresses: the check happens on the address actually connected to.
struct GuardedResolver {
    private: PrivateTargets,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let private = self.private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let looked_up = tokio::net::lookup_host((host.as_str(), 0)).await;
            let resolved = match looked_up {
                Ok(resolved) => resolved,
                Err(source) => {
                    return Err(DnsFailure {
                        name: host.clone(),
                        source,
                    }
                    .into());
                }
            };
            let addresses: Vec<SocketAddr> = match private {
                PrivateTargets::Allow => resolved.collect(),
                PrivateTargets::Refuse => filter_public(resolved)?,
            };
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

pub fn client(timeout: Duration, private: PrivateTargets) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        // A proxy would connect on our behalf and bypass the address check.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { private }))
        .build()
        .expect("the delivery HTTP client builds")
}

/// What one attempt came to.
pub struct Sent {
    pub duration: Duration,
    pub request: AttemptRequest,
    pub response: Option<AttemptResponse>,
    /// `None` on success (2xx).
    pub failure: Option<(&'static str, String)>,
    pub retry_after: Option<Duration>,
}

/// Sends `outbound` and reads at most 64 KiB of the answer. The request is
/// recorded without its body, which is the delivery's event and is rendered
/// again when shown (`AttemptRecord::render_body`): no copy of a large event
/// per attempt waits in the recorder.
pub async fn send(client: &reqwest::Client, private: PrivateTargets, outbound: &Outbound) -> Sent {
    let request = AttemptRequest {
        method: outbound.method.as_str().to_string(),
        url: outbound.url.clone(),
        headers: outbound.masked_headers(),
        body: String::new(),
    };
    let started = Instant::now();
    let result = exchange(client, private, outbound).await;
    let duration = started.elapsed();
    match result {
        Ok((response, retry_after)) => {
            let failure = (!(200..300).contains(&response.status_code)).then(|| {
                (
                    "http-status",
                    format!("the receiver answered {}", response.status_code),
                )
            });
            Sent {
                duration,
                request,
                response: Some(response),
                failure,
                retry_after,
            }
        }
        Err(failure) => Sent {
            duration,
            request,
            response: None,
            failure: Some(failure),
            retry_after: None,
        },
    }
}

async fn exchange(
    client: &reqwest::Client,
    private: PrivateTargets,
    outbound: &Outbound,
) -> Result<(AttemptResponse, Option<Duration>), (&'static str, String)> {
    let url =
        reqwest::Url::parse(&outbound.url).map_err(|e| ("connect", format!("invalid URL: {e}")))?;
    // Names go through the guarded resolver; literal addresses never do.
    if private == PrivateTargets::Refuse
        && let Some(refused) = private_literal(&url)
    {
        return Err(("refused-private-target", refused.to_string()));
    }
    let method =
        reqwest::Method::from_bytes(outbound.method.as_str().as_bytes()).expect("a valid method");
    let mut builder = client.request(method, url).body(outbound.body.clone());
    for (name, value) in &outbound.headers {
        builder = builder.header(name, value);
    }
    let mut response = builder.send().await.map_err(classify)?;
    let status_code = response.status().as_u16();
    let headers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(super::schedule::parse_retry_after);
    let mut body = Vec::new();
    let mut body_truncated = false;
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        let room = RESPONSE_BODY_LIMIT - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            body_truncated = true;
            // Dropping the response closes the connection instead of reading on.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok((
        AttemptResponse {
            status_code,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            body_truncated,
        },
        retry_after,
    ))
}

/// The error class and message of a failed exchange.
fn classify(error: reqwest::Error) -> (&'static str, String) {
    // The URL may carry a token in its query: the attempt shows it masked elsewhere.
    let error = error.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut chain = Vec::new();
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<PrivateTarget>() {
            return ("refused-private-target", refused.to_string());
        }
        if let Some(dns) = current.downcast_ref::<DnsFailure>() {
            return ("dns", dns.to_string());
        }
        if let Some(http) = current.downcast_ref::<hyper::Error>()
            && (http.is_parse() || http.is_parse_status())
        {
            return (
                "invalid-response",
                format!("the answer is not HTTP: {http}"),
            );
        }
        chain.push(current.to_string());
        source = current.source();
    }
    let message = chain.join(": ");
    let class = if error.is_timeout() {
        TIMEOUT
    } else if message.contains("certificate") || message.to_ascii_lowercase().contains("tls") {
        "tls"
    } else {
        "connect"
    };
    (class, message)
}

/// A failure as lists show it, in a few words: "HTTP 500", "connection
/// refused", "timed out after 15 s". The attempt keeps the whole message.
pub fn in_words(class: &str, message: &str, status: Option<u16>, timeout: Duration) -> String {
    explain(class, message, status, timeout).words
}

/// A failure said for people: a few words (what lists show, and the API's
/// `last_error`) and a hint of what to do about it. The one table from
/// error kind to sentence: the API and the console say the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub words: String,
    pub hint: &'static str,
}

pub fn explain(class: &str, message: &str, status: Option<u16>, timeout: Duration) -> Explained {
    let failure = Failure::of(class, message, status);
    Explained {
        words: failure.words(timeout),
        hint: failure.hint(),
    }
}

/// What went wrong, as people are told it: read once from the error class
/// and message, then said in words and given a hint.
enum Failure {
    Status(Option<u16>),
    NoConnection,
    TimedOut,
    HostNotFound,
    Tls,
    PrivateAddress,
    NotHttp,
    Refused,
    Reset,
    Closed,
    BadUrl,
    Other,
}

impl Failure {
    fn of(class: &str, message: &str, status: Option<u16>) -> Self {
        let lower = message.to_ascii_lowercase();
        match class {
            "http-status" => Self::Status(status),
            // reqwest says "(Connect)" when the connection itself timed out.
            TIMEOUT if message.contains("(Connect)") => Self::NoConnection,
            TIMEOUT => Self::TimedOut,
            "dns" => Self::HostNotFound,
            "tls" => Self::Tls,
            "refused-private-target" => Self::PrivateAddress,
            "invalid-response" => Self::NotHttp,
            _ if lower.contains("connection refused") => Self::Refused,
            _ if lower.contains("connection reset") => Self::Reset,
            _ if lower.contains("connection closed before message completed") => Self::Closed,
            _ if lower.starts_with("invalid url") => Self::BadUrl,
            _ => Self::Other,
        }
    }

    fn words(&self, timeout: Duration) -> String {
        match self {
            Self::Status(Some(code)) => format!("HTTP {code}"),
            Self::Status(None) => "unexpected answer".into(),
            Self::NoConnection => format!(
                "no connection within {}",
                in_units(timeout.min(CONNECT_TIMEOUT))
            ),
            Self::TimedOut => format!("timed out after {}", in_units(timeout)),
            Self::HostNotFound => "host not found".into(),
            Self::Tls => "TLS handshake failed".into(),
            Self::PrivateAddress => "private address refused".into(),
            Self::NotHttp => "invalid HTTP answer".into(),
            Self::Refused => "connection refused".into(),
            Self::Reset => "connection reset".into(),
            Self::Closed => "closed without an answer".into(),
            Self::BadUrl => "invalid URL".into(),
            Self::Other => "connection failed".into(),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            Self::Status(Some(401 | 403)) => {
                "The receiver refused the request's credentials: check the webhook's authentication."
            }
            Self::Status(Some(404)) => {
                "The receiver has nothing at this path: check the webhook's URL."
            }
            Self::Status(Some(405)) => {
                "The receiver does not take this method at this path: check the webhook's method and URL."
            }
            Self::Status(Some(410)) => {
                "The receiver says this webhook is gone for good: hookhub switched it off. Change the URL, or delete the webhook."
            }
            Self::Status(Some(413)) => {
                "The receiver found the request too large: narrow the data with a data location, or raise its limit."
            }
            Self::Status(Some(429)) => {
                "The receiver asks to slow down: hookhub waits at least as long as its Retry-After says."
            }
            Self::Status(Some(code)) if *code >= 500 => {
                "The receiver failed on its side; its answer may say why. hookhub tries again on the retry schedule."
            }
            Self::Status(_) => {
                "The receiver refused the request; its answer may say why. Answers in 2xx count as delivered."
            }
            Self::NoConnection => {
                "The host did not answer at all: it may be down, or a firewall drops the packets."
            }
            Self::TimedOut => {
                "The receiver took the request but did not answer in time: answer first and work after, or raise --delivery-timeout."
            }
            Self::HostNotFound => "The host name does not resolve: check the webhook's URL.",
            Self::Tls => {
                "The receiver's certificate is not trusted, has expired, or names another host."
            }
            Self::PrivateAddress => {
                "hookhub delivers to public addresses only, unless it was started with --allow-private-targets."
            }
            Self::NotHttp => {
                "Something answered, but not in HTTP: check the URL's scheme and port."
            }
            Self::Refused => {
                "Nothing listens at that host and port: is the receiver running, and is the port right?"
            }
            Self::Reset | Self::Closed => {
                "The receiver dropped the connection before answering: it may have crashed on the request."
            }
            Self::BadUrl => "The webhook's URL cannot be called: edit it.",
            Self::Other => {
                "hookhub could not reach the receiver; the details below say how it failed."
            }
        }
    }
}

/// "15 s", or "1500 ms" when not whole seconds.
fn in_units(duration: Duration) -> String {
    if duration.as_millis().is_multiple_of(1000) {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_said_in_a_few_words() {
        let timeout = Duration::from_secs(15);
        let words = |class, message, status| in_words(class, message, status, timeout);
        assert_eq!(
            words("http-status", "the receiver answered 500", Some(500)),
            "HTTP 500"
        );
        assert_eq!(
            words("timeout", "operation timed out", None),
            "timed out after 15 s"
        );
        assert_eq!(
            in_words("timeout", "", None, Duration::from_millis(1500)),
            "timed out after 1500 ms"
        );
        let unconnected = "error sending request: client error (Connect): operation timed out";
        assert_eq!(
            words("timeout", unconnected, None),
            "no connection within 5 s"
        );
        let refused = "error sending request: client error (Connect): tcp connect error: \
                       Connection refused (os error 111)";
        assert_eq!(words("connect", refused, None), "connection refused");
        assert_eq!(
            words("dns", "DNS lookup of x.test failed", None),
            "host not found"
        );
        assert_eq!(
            words("connect", "something else", None),
            "connection failed"
        );
        assert_eq!(
            words("invalid-response", "invalid HTTP version parsed", None),
            "invalid HTTP answer"
        );
        let closed = "error sending request: client error (SendRequest): connection closed before message completed";
        assert_eq!(words("connect", closed, None), "closed without an answer");
    }

    #[test]
    fn every_failure_comes_with_a_hint_of_its_own() {
        let timeout = Duration::from_secs(15);
        let refused = "tcp connect error: Connection refused (os error 111)";
        let failures = [
            ("http-status", "", Some(401)),
            ("http-status", "", Some(404)),
            ("http-status", "", Some(410)),
            ("http-status", "", Some(429)),
            ("http-status", "", Some(500)),
            ("http-status", "", Some(422)),
            ("timeout", "operation timed out", None),
            ("timeout", "(Connect): operation timed out", None),
            ("dns", "", None),
            ("tls", "", None),
            ("refused-private-target", "", None),
            ("invalid-response", "", None),
            ("connect", refused, None),
            ("connect", "connection reset by peer", None),
        ];
        let hints: Vec<&str> = failures
            .iter()
            .map(|(class, message, status)| explain(class, message, *status, timeout).hint)
            .collect();
        let mut distinct = hints.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), hints.len(), "{hints:#?}");
        let said = explain("connect", refused, None, timeout);
        assert_eq!(said.words, "connection refused");
        assert!(said.hint.contains("Nothing listens"));
    }
}
