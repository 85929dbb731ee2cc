//! The transactional outbox, planned the same on every backend: each event
//! gets an id and one delivery per subscribed active webhook, all written in
//! the transaction that accepts the event, so that an acknowledged event is
//! never lost.

use super::{NewEvent, new_id};
use crate::events::subscribed;
use crate::model::{EventAccepted, QueuedDelivery};
use crate::time::now_ms;

/// An event written to the outbox and the deliveries it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub event_id: String,
    pub created_at: i64,
    pub deliveries: Vec<QueuedDelivery>,
    /// Beside each delivery: until when it is leased to this process's workers, if it is.
    pub leases: Vec<Option<i64>>,
    /// The event's data as stored, in bytes.
    pub bytes: usize,
}

impl Enqueued {
    pub fn accepted(&self) -> EventAccepted {
        EventAccepted {
            id: self.event_id.clone(),
            deliveries: self.deliveries.len(),
        }
    }
}

/// An event's row as written.
pub struct EventColumns<'a> {
    pub event_type: &'a str,
    pub data: String,
    pub changed_fields: Option<String>,
    pub previous: Option<String>,
}

/// One delivery row to write.
pub struct DeliveryColumns<'a> {
    pub id: &'a str,
    pub webhook_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub lease_until: Option<i64>,
}

/// Asked per delivery with its webhook and its event's size: until when the
/// delivery is leased to this process's workers, if it is.
pub type Lease<'a> = dyn FnMut(&str, usize) -> Option<i64> + Send + 'a;

/// What to write for `events`: their rows and, per event, its id and its
/// deliveries to the subscribed ones of `webhooks` (id, event patterns),
/// each leased as `lease` says.
pub fn plan<'a>(
    webhooks: &[(String, Vec<String>)],
    events: &[&'a NewEvent],
    lease: &mut Lease<'_>,
) -> anyhow::Result<(Vec<EventColumns<'a>>, Vec<Enqueued>)> {
    let now = now_ms();
    let mut rows = Vec::with_capacity(events.len());
    let mut enqueued = Vec::with_capacity(events.len());
    for event in events {
        let (changed_fields, previous) = match &event.change {
            Some((fields, previous)) => (
                Some(serde_json::to_string(fields)?),
                Some(serde_json::to_string(previous)?),
            ),
            None => (None, None),
        };
        let data = serde_json::to_string(&event.data)?;
        let bytes = data.len();
        let (deliveries, leases) = webhooks
            .iter()
            .filter(|(_, patterns)| subscribed(patterns, &event.event_type))
            .map(|(webhook_id, _)| {
                let delivery = QueuedDelivery {
                    id: new_id("dlv"),
                    webhook_id: webhook_id.clone(),
                };
                (delivery, lease(webhook_id, bytes))
            })
            .unzip();
        rows.push(EventColumns {
            event_type: &event.event_type,
            data,
            changed_fields,
            previous,
        });
        enqueued.push(Enqueued {
            event_id: new_id("evt"),
            created_at: now,
            deliveries,
            leases,
            bytes,
        });
    }
    Ok((rows, enqueued))
}

/// The delivery rows of planned events.
pub fn delivery_rows<'a>(
    rows: &[EventColumns<'a>],
    enqueued: &'a [Enqueued],
) -> Vec<DeliveryColumns<'a>> {
    rows.iter()
        .zip(enqueued)
        .flat_map(|(event, enqueued)| {
            enqueued
                .deliveries
                .iter()
                .zip(&enqueued.leases)
                .map(|(delivery, lease_until)| DeliveryColumns {
                    id: &delivery.id,
                    webhook_id: &delivery.webhook_id,
                    event_id: &enqueued.event_id,
                    event_type: event.event_type,
                    lease_until: *lease_until,
                })
        })
        .collect()
}
