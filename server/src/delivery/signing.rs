//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The HMAC key inside a `whsec_` secret; `None` if it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix("whsec_")?).ok()
}

/// One `v1,` signature entry.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one entry per key, space-separated, so that
/// receivers holding either the current or the previous secret can verify.
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| sign(key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_keys() {
        let header = signature_header(&[vec![1], vec![2]], "id", 1, b"{}");
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.starts_with("v1,")));
        assert_ne!(entries[0], entries[1]);
    }

    #[test]
    fn only_whsec_secrets_have_keys() {
        assert!(secret_key("whsec_AAAA").is_some());
        assert!(secret_key("AAAA").is_none());
        assert!(secret_key("whsec_***").is_none());
    }

    mod properties {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        use proptest::prelude::*;

        use super::super::*;

        fn verifies(
            secret_bytes: &[u8],
            id: &str,
            timestamp: i64,
            body: &[u8],
            signature: &str,
        ) -> bool {
            let secret = format!("whsec_{}", STANDARD.encode(secret_bytes));
            let verifier = standardwebhooks::Webhook::new(&secret).expect("a whsec_ secret");
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("webhook-id", id.parse().unwrap());
            headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
            headers.insert("webhook-signature", signature.parse().unwrap());
            verifier.verify(body, &headers).is_ok()
        }

        fn now() -> i64 {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
        }

        proptest! {
            /// Checked by an independent implementation (the Standard Webhooks
            /// crate, which reads bodies as UTF-8: hookhub's are JSON).
            #[test]
            fn every_signature_verifies_and_no_other_body_does(
                key in proptest::collection::vec(any::<u8>(), 16..48),
                id in "[a-zA-Z0-9_]{1,40}",
                body in any::<String>(),
            ) {
                let timestamp = now();
                let signature = sign(&key, &id, timestamp, body.as_bytes());
                prop_assert!(verifies(&key, &id, timestamp, body.as_bytes(), &signature));
                let longer = format!("{body} ");
                prop_assert!(!verifies(&key, &id, timestamp, longer.as_bytes(), &signature));
                if let Some(last) = body.chars().last() {
                    let mut changed = body.clone();
                    changed.pop();
                    changed.push(if last == 'a' { 'b' } else { 'a' });
                    prop_assert!(!verifies(&key, &id, timestamp, changed.as_bytes(), &signature));
                }
            }

            #[test]
            fn during_a_rotation_either_secret_verifies(
                current in proptest::collection::vec(any::<u8>(), 24..40),
                previous in proptest::collection::vec(any::<u8>(), 24..40),
                body in any::<String>(),
            ) {
                let timestamp = now();
                let body = body.as_bytes();
                let keys = [current.clone(), previous.clone()];
                let header = signature_header(&keys, "msg_1", timestamp, body);
                prop_assert!(verifies(&current, "msg_1", timestamp, body, &header));
                prop_assert!(verifies(&previous, "msg_1", timestamp, body, &header));
            }
        }
    }
}
