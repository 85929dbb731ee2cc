//! Signatures that senders put on what they send us (SPEC.md, the trigger
//! `signature` auth): GitHub, Stripe, Shopify, Standard Webhooks and a
//! generic HMAC, each checked over the raw body before anything parses it,
//! in constant time (`Mac::verify_slice`), Stripe's and Standard Webhooks'
//! timestamps within `TOLERANCE` of now.
//!
//! Decided beyond the senders' documents: the generic `hmac` scheme takes the
//! signature with or without an `sha256=` (or `sha1=`) prefix, as GitHub-like
//! senders send it; a header that carries several signatures (Stripe's `v1`
//! entries, Standard Webhooks' space-separated list, during a secret
//! rotation) passes when any of them matches.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// How far a signed timestamp may be from now, either way, in seconds.
pub const TOLERANCE: i64 = 5 * 60;

/// Which sender's way of signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    Github,
    /// `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
    Stripe,
    /// `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`.
    Shopify,
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64
    /// HMAC-SHA256 of "id.timestamp.body">`, keyed by the base64 part of a
    /// `whsec_` secret.
    Standard,
    /// Any other sender: the header that carries the signature of the body,
    /// its hash and how it is written.
    Hmac {
        header: String,
        algorithm: Algorithm,
        encoding: Encoding,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

impl Scheme {
    /// The header a caller must send, as a hint says it.
    pub fn header(&self) -> &str {
        match self {
            Self::Github => "X-Hub-Signature-256",
            Self::Stripe => "Stripe-Signature",
            Self::Shopify => "X-Shopify-Hmac-Sha256",
            Self::Standard => "webhook-signature",
            Self::Hmac { header, .. } => header,
        }
    }
}

impl Scheme {
    /// As stored: `github`, `stripe`, `shopify`, `standard`, or `hmac` with
    /// its algorithm, encoding and header (`hmac sha256 hex X-Signature`).
    pub fn to_column(&self) -> String {
        match self {
            Self::Github => "github".into(),
            Self::Stripe => "stripe".into(),
            Self::Shopify => "shopify".into(),
            Self::Standard => "standard".into(),
            Self::Hmac {
                header,
                algorithm,
                encoding,
            } => {
                let algorithm = match algorithm {
                    Algorithm::Sha256 => "sha256",
                    Algorithm::Sha1 => "sha1",
                };
                let encoding = match encoding {
                    Encoding::Hex => "hex",
                    Encoding::Base64 => "base64",
                };
                format!("hmac {algorithm} {encoding} {header}")
            }
        }
    }

    /// The other way round.
    pub fn from_column(column: &str) -> Option<Self> {
        Some(match column.split(' ').collect::<Vec<_>>().as_slice() {
            ["github"] => Self::Github,
            ["stripe"] => Self::Stripe,
            ["shopify"] => Self::Shopify,
            ["standard"] => Self::Standard,
            ["hmac", algorithm, encoding, header] => Self::Hmac {
                header: header.to_string(),
                algorithm: match *algorithm {
                    "sha256" => Algorithm::Sha256,
                    "sha1" => Algorithm::Sha1,
                    _ => return None,
                },
                encoding: match *encoding {
                    "hex" => Encoding::Hex,
                    "base64" => Encoding::Base64,
                    _ => return None,
                },
            },
            _ => return None,
        })
    }
}

/// Why a call's signature is refused, as the call log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A header the scheme needs is not there.
    Missing(String),
    /// A header is there but not in the scheme's form.
    Malformed(String),
    /// The timestamp is more than `TOLERANCE` away from now.
    Stale,
    /// Well formed, but no signature matches the body with this secret.
    Mismatch,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(header) => write!(f, "no {header} header"),
            Self::Malformed(header) => write!(f, "the {header} header is not in the expected form"),
            Self::Stale => write!(f, "the signed timestamp is more than 5 minutes from now"),
            Self::Mismatch => write!(f, "the signature does not match the body"),
        }
    }
}

/// What is wrong with `secret` for `scheme`, if anything: a Standard
/// Webhooks secret is `whsec_` and base64; any other is 1 to 1,024 bytes.
pub fn secret_problem(scheme: &Scheme, secret: &str) -> Option<String> {
    if secret.is_empty() || secret.len() > 1024 {
        return Some("must be 1 to 1,024 characters".into());
    }
    if *scheme == Scheme::Standard && standard_key(secret).is_none() {
        return Some(
            "must be whsec_ followed by base64, as Standard Webhooks senders give it".into(),
        );
    }
    None
}

/// The key of a Standard Webhooks secret: the base64 after `whsec_`.
fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_")?;
    BASE64.decode(encoded).ok().filter(|key| !key.is_empty())
}

/// Checks the signature a call carries over `body`; `header` reads one of the
/// call's headers by name (any case), `now` is Unix seconds.
pub fn verify<'h>(
    scheme: &Scheme,
    secret: &str,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refusal> {
    let needed = |name: &str| header(name).ok_or_else(|| Refusal::Missing(name.to_string()));
    match scheme {
        Scheme::Github => {
            let name = scheme.header();
            let signature = needed(name)?
                .strip_prefix("sha256=")
                .and_then(|hex| hex::decode(hex.trim()).ok())
                .ok_or_else(|| Refusal::Malformed(name.into()))?;
            check(Algorithm::Sha256, secret.as_bytes(), &[body], &signature)
        }
        Scheme::Shopify => {
            let name = scheme.header();
            let signature = BASE64
                .decode(needed(name)?.trim())
                .map_err(|_| Refusal::Malformed(name.into()))?;
            check(Algorithm::Sha256, secret.as_bytes(), &[body], &signature)
        }
        Scheme::Stripe => {
            let name = scheme.header();
            let value = needed(name)?;
            let mut timestamp = None;
            let mut signatures = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                    Some(("v1", hex)) => signatures.extend(hex::decode(hex).ok()),
                    _ => {}
                }
            }
            let timestamp = timestamp.ok_or_else(|| Refusal::Malformed(name.into()))?;
            if signatures.is_empty() {
                return Err(Refusal::Malformed(name.into()));
            }
            fresh(timestamp, now)?;
            let signed = [timestamp.to_string().as_bytes(), b".", body].concat();
            any_matches(Algorithm::Sha256, secret.as_bytes(), &signed, &signatures)
        }
        Scheme::Standard => {
            let id = needed("webhook-id")?;
            let timestamp = needed("webhook-timestamp")?
                .trim()
                .parse::<i64>()
                .map_err(|_| Refusal::Malformed("webhook-timestamp".into()))?;
            let signatures: Vec<Vec<u8>> = needed("webhook-signature")?
                .split_whitespace()
                .filter_map(|entry| entry.strip_prefix("v1,"))
                .filter_map(|encoded| BASE64.decode(encoded).ok())
                .collect();
            if signatures.is_empty() {
                return Err(Refusal::Malformed("webhook-signature".into()));
            }
            fresh(timestamp, now)?;
            let key = standard_key(secret).ok_or(Refusal::Mismatch)?;
            let signed = [
                id.as_bytes(),
                b".",
                timestamp.to_string().as_bytes(),
                b".",
                body,
            ]
            .concat();
            any_matches(Algorithm::Sha256, &key, &signed, &signatures)
        }
        Scheme::Hmac {
            header: name,
            algorithm,
            encoding,
        } => {
            let value = needed(name)?.trim();
            let value = value
                .strip_prefix("sha256=")
                .or_else(|| value.strip_prefix("sha1="))
                .unwrap_or(value);
            let signature = match encoding {
                Encoding::Hex => hex::decode(value).ok(),
                Encoding::Base64 => BASE64.decode(value).ok(),
            }
            .ok_or_else(|| Refusal::Malformed(name.clone()))?;
            check(*algorithm, secret.as_bytes(), &[body], &signature)
        }
    }
}

fn fresh(timestamp: i64, now: i64) -> Result<(), Refusal> {
    match timestamp.abs_diff(now) <= TOLERANCE as u64 {
        true => Ok(()),
        false => Err(Refusal::Stale),
    }
}

fn any_matches(
    algorithm: Algorithm,
    key: &[u8],
    signed: &[u8],
    signatures: &[Vec<u8>],
) -> Result<(), Refusal> {
    // Every one is checked, so that the time taken does not say which matched.
    let matched = signatures
        .iter()
        .map(|signature| check(algorithm, key, &[signed], signature).is_ok())
        .fold(false, |any, this| any | this);
    if matched {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}

/// HMAC of `parts` under `key`, compared with `signature` in constant time.
fn check(
    algorithm: Algorithm,
    key: &[u8],
    parts: &[&[u8]],
    signature: &[u8],
) -> Result<(), Refusal> {
    let verified = match algorithm {
        Algorithm::Sha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
            parts.iter().for_each(|part| mac.update(part));
            mac.verify_slice(signature)
        }
        Algorithm::Sha1 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
            parts.iter().for_each(|part| mac.update(part));
            mac.verify_slice(signature)
        }
    };
    verified.map_err(|_| Refusal::Mismatch)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A call's headers, read in any case.
    fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
            .collect()
    }

    fn verified(
        scheme: &Scheme,
        secret: &str,
        pairs: &[(&str, &str)],
        body: &[u8],
        now: i64,
    ) -> Result<(), Refusal> {
        let headers = headers(pairs);
        verify(
            scheme,
            secret,
            |name| headers.get(&name.to_ascii_lowercase()).map(String::as_str),
            body,
            now,
        )
    }

    #[test]
    fn github_with_the_example_of_its_documentation() {
        let secret = "It's a Secret to Everybody";
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let call = [("X-Hub-Signature-256", signature)];
        assert_eq!(
            verified(&Scheme::Github, secret, &call, b"Hello, World!", 0),
            Ok(())
        );
        assert_eq!(
            verified(&Scheme::Github, secret, &call, b"Hello, World?", 0),
            Err(Refusal::Mismatch),
            "a tampered body"
        );
        assert_eq!(
            verified(
                &Scheme::Github,
                "another secret",
                &call,
                b"Hello, World!",
                0
            ),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verified(&Scheme::Github, secret, &[], b"Hello, World!", 0),
            Err(Refusal::Missing("X-Hub-Signature-256".into()))
        );
        let unprefixed = [("x-hub-signature-256", &signature[7..])];
        assert!(matches!(
            verified(&Scheme::Github, secret, &unprefixed, b"Hello, World!", 0),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn standard_webhooks_with_the_example_of_its_specification() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let call = [
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ];
        let then = 1_614_265_330;
        assert_eq!(
            verified(&Scheme::Standard, secret, &call, body, then + 60),
            Ok(())
        );
        assert_eq!(
            verified(&Scheme::Standard, secret, &call, body, then + TOLERANCE + 1),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verified(
                &Scheme::Standard,
                secret,
                &call,
                br#"{"test": 2432232315}"#,
                then
            ),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn standard_webhooks_as_the_standardwebhooks_crate_signs() {
        let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let sender = standardwebhooks::Webhook::new(secret).unwrap();
        let now = 1_700_000_000;
        let body = br#"{"type": "invoice.paid"}"#;
        let signature = sender.sign("msg_1", now, body).unwrap();
        // Two signatures, as during a rotation: one of them is ours.
        let rotated = format!("v1,aW52YWxpZA== {signature}");
        let call = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1700000000"),
            ("webhook-signature", rotated.as_str()),
        ];
        assert_eq!(
            verified(&Scheme::Standard, secret, &call, body, now),
            Ok(())
        );
        let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(
            verified(&Scheme::Standard, other, &call, body, now),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn stripe_signs_the_timestamp_and_the_body_with_the_whole_secret() {
        let secret = "whsec_test_secret";
        let body = br#"{"id":"evt_1","object":"event"}"#;
        let header = "t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
        let call = [("Stripe-Signature", header)];
        assert_eq!(
            verified(&Scheme::Stripe, secret, &call, body, 1_700_000_100),
            Ok(())
        );
        assert_eq!(
            verified(
                &Scheme::Stripe,
                secret,
                &call,
                body,
                1_700_000_000 - TOLERANCE - 1
            ),
            Err(Refusal::Stale),
            "an old timestamp"
        );
        assert_eq!(
            verified(
                &Scheme::Stripe,
                secret,
                &call,
                br#"{"id":"evt_2","object":"event"}"#,
                1_700_000_000
            ),
            Err(Refusal::Mismatch)
        );
        let without_v1 = [("Stripe-Signature", "t=1700000000,v0=00")];
        assert!(matches!(
            verified(&Scheme::Stripe, secret, &without_v1, body, 1_700_000_000),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn shopify_and_a_generic_hmac() {
        let body = br#"{"id":820982911946154508}"#;
        let call = [(
            "X-Shopify-Hmac-Sha256",
            "jqbalbO3Z8mDmrF2/+wzM3KYvbgqzVBF969vgiIy80I=",
        )];
        assert_eq!(
            verified(&Scheme::Shopify, "shpss_secret", &call, body, 0),
            Ok(())
        );
        assert_eq!(
            verified(&Scheme::Shopify, "shpss_other", &call, body, 0),
            Err(Refusal::Mismatch)
        );

        let generic = Scheme::Hmac {
            header: "X-Signature".into(),
            algorithm: Algorithm::Sha1,
            encoding: Encoding::Base64,
        };
        let call = [("x-signature", "yls4Po2FSZ4dxEqI67zV1sKzI04=")];
        assert_eq!(
            verified(&generic, "generic", &call, br#"{"a":1}"#, 0),
            Ok(())
        );
        assert_eq!(
            verified(&generic, "generic", &call, br#"{"a":2}"#, 0),
            Err(Refusal::Mismatch)
        );
        let hex_sha256 = Scheme::Hmac {
            header: "X-Signature".into(),
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
        };
        let call = [(
            "X-Signature",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )];
        let secret = "It's a Secret to Everybody";
        assert_eq!(
            verified(&hex_sha256, secret, &call, b"Hello, World!", 0),
            Ok(()),
            "with the prefix"
        );
    }

    #[test]
    fn a_scheme_is_stored_as_it_reads() {
        let generic = Scheme::Hmac {
            header: "X-Signature".into(),
            algorithm: Algorithm::Sha1,
            encoding: Encoding::Base64,
        };
        for scheme in [
            Scheme::Github,
            Scheme::Stripe,
            Scheme::Shopify,
            Scheme::Standard,
            generic,
        ] {
            assert_eq!(Scheme::from_column(&scheme.to_column()), Some(scheme));
        }
        assert_eq!(Scheme::from_column("hmac md5 hex X"), None);
    }

    #[test]
    fn a_standard_secret_must_be_whsec_and_base64() {
        assert_eq!(
            secret_problem(&Scheme::Standard, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            None
        );
        assert!(secret_problem(&Scheme::Standard, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_some());
        assert!(secret_problem(&Scheme::Standard, "whsec_not base64!").is_some());
        assert_eq!(secret_problem(&Scheme::Stripe, "whsec_anything"), None);
        assert!(secret_problem(&Scheme::Github, "").is_some());
    }
}
