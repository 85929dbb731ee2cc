//! Rows as the SQL backends read and write them. The tables have the same
//! columns on SQLite and PostgreSQL (tests/api/postgres.rs keeps them
//! alike), so one conversion to and from the domain types serves both.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{AttemptRecord, BodySource, Job};
use crate::events::Event;

/// An attempt's columns as written: JSON encoded, the body left out when it
/// is rendered from the event.
pub struct AttemptColumns<'a> {
    pub attempt: &'a AttemptRecord,
    pub request_headers: String,
    pub request_body: &'a str,
    pub body_from_event: bool,
    pub body_location: Option<&'a str>,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<&'a str>,
    pub response_truncated: bool,
}

impl<'a> AttemptColumns<'a> {
    pub fn of(attempt: &'a AttemptRecord) -> anyhow::Result<Self> {
        let response = attempt.response.as_ref();
        let (request_body, body_from_event, body_location) = match &attempt.body_source {
            BodySource::Event { data_location } => ("", true, data_location.as_deref()),
            BodySource::Stored => (attempt.request.body.as_str(), false, None),
        };
        Ok(Self {
            attempt,
            request_headers: serde_json::to_string(&attempt.request.headers)?,
            request_body,
            body_from_event,
            body_location,
            response_status: response.map(|r| i64::from(r.status_code)),
            response_headers: response
                .map(|r| serde_json::to_string(&r.headers))
                .transpose()?,
            response_body: response.map(|r| r.body.as_str()),
            response_truncated: response.is_some_and(|r| r.body_truncated),
        })
    }
}

/// The columns every event query selects, events as `e`.
pub const EVENT_COLUMNS: &str = "e.id, e.type, e.data, e.changed_fields, e.previous, e.created_at";

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    data: String,
    changed_fields: Option<String>,
    previous: Option<String>,
    created_at: i64,
}

impl TryFrom<EventRow> for Event {
    type Error = anyhow::Error;

    fn try_from(row: EventRow) -> anyhow::Result<Self> {
        let change = match (row.changed_fields, row.previous) {
            (Some(fields), Some(previous)) => Some((
                serde_json::from_str::<Vec<String>>(&fields)?,
                serde_json::from_str::<Map<String, Value>>(&previous)?,
            )),
            _ => None,
        };
        Ok(Event {
            id: row.id,
            event_type: row.event_type,
            data: serde_json::from_str(&row.data)?,
            change,
            created_at: row.created_at,
        })
    }
}

/// The columns of a claimed delivery (`d`) and its event (`e`).
pub const JOB_COLUMNS: &str =
    "d.id AS delivery_id, d.webhook_id, d.attempt_count, d.single_attempt, d.ordering_key, e.id,
     e.type, e.data, e.changed_fields, e.previous, e.created_at";

#[derive(sqlx::FromRow)]
pub struct JobRow {
    delivery_id: String,
    webhook_id: String,
    attempt_count: i64,
    single_attempt: bool,
    ordering_key: Option<String>,
    #[sqlx(flatten)]
    event: EventRow,
}

/// Claimed deliveries as jobs; the deliveries of one event to several
/// webhooks share one copy of it.
pub fn jobs_from(rows: Vec<JobRow>, lease_until: i64) -> anyhow::Result<Vec<Job>> {
    let mut events: HashMap<String, Arc<Event>> = HashMap::new();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes = row.event.data.len();
        let event = match events.get(&row.event.id) {
            Some(event) => event.clone(),
            None => {
                let event = Arc::new(Event::try_from(row.event)?);
                events.insert(event.id.clone(), event.clone());
                event
            }
        };
        jobs.push(Job {
            delivery_id: row.delivery_id,
            webhook_id: row.webhook_id,
            attempt_count: row.attempt_count as u32,
            single_attempt: row.single_attempt,
            ordering_key: row.ordering_key,
            lease_until,
            event,
            bytes,
        });
    }
    Ok(jobs)
}
