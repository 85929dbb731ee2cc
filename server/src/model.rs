//! The domain's small value types, which every layer may use: who a user is,
//! how a webhook is called, what an attempt sent and got back, what
//! publishing an event queued. The wire types of the `api` crate mirror them;
//! only `http` converts between the two (`http::wire`), so that the store and
//! the workers do not depend on the API's shapes.

use std::collections::BTreeMap;

/// What stands for a credential or an extra header's value wherever one is shown.
pub const MASKED: &str = "***";

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// The HTTP method a webhook is delivered with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeliveryMethod {
    #[default]
    Post,
    Put,
    Patch,
}

impl DeliveryMethod {
    pub const ALL: [DeliveryMethod; 3] = [Self::Post, Self::Put, Self::Patch];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == text)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Succeeded,
    Failed,
    /// Waiting, never attempted, while hookhub has its webhook switched off.
    Paused,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] = [
        Self::Pending,
        Self::Retrying,
        Self::Succeeded,
        Self::Failed,
        Self::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// The HTTP method a trigger URL answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerMethod {
    Get,
    Post,
}

impl TriggerMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            _ => None,
        }
    }
}

/// What a trigger call answers: the event and its deliveries, or only a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerResponse {
    Outputs,
    Status,
}

impl TriggerResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outputs => "outputs",
            Self::Status => "status",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "outputs" => Some(Self::Outputs),
            "status" => Some(Self::Status),
            _ => None,
        }
    }
}

/// One HTTP request hookhub sent, credentials masked.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// What the receiver answered; the body is cut at 64 KiB.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub body_truncated: bool,
}

/// A published event: its id and how many deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct EventAccepted {
    pub id: String,
    pub deliveries: usize,
    /// Its idempotency key named an event accepted before, whose these are.
    pub duplicate: bool,
}

/// One delivery an event queued.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedDelivery {
    pub id: String,
    pub webhook_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_methods_read_back_what_they_write() {
        for role in [Role::Admin, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for method in DeliveryMethod::ALL {
            assert_eq!(DeliveryMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(DeliveryMethod::parse("GET"), None);
    }
}
