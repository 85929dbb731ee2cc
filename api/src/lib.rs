//! hookhub's wire types: what the REST API reads and writes, shared by the
//! server and the console. Serde only, so that it builds for wasm32 too; the
//! server turns on `openapi` for their schemas in `/api/openapi.json`.

mod delivery;
mod envelope;
mod fields;
mod session;
mod trigger;
mod user;
mod webhook;

pub use delivery::{
    AttemptOut, AttemptRequest, AttemptResponse, AttemptStats, Attention, DeliveryDetail,
    DeliveryOut, DeliveryStatus, EventAccepted, EventBatchIn, EventIn, RecoverIn, RecoverOut,
    StatsBucket,
};
pub use envelope::{Data, ErrorBody, ErrorDetail, List};
pub use session::{Health, LoginIn, Me, Role, TokenOut};
pub use trigger::{
    HmacAlgorithm, HmacEncoding, QueuedDelivery, SignatureScheme, TriggerAuthIn, TriggerAuthOut,
    TriggerCallOut, TriggerIn, TriggerMethod, TriggerOut, TriggerOutputs, TriggerResponse,
    TriggeredEvent,
};
pub use user::{UserIn, UserOut, UserPatch};
pub use webhook::{
    Auth, AuthIn, AuthType, Author, DeliveryMethod, HeaderOut, HealthState, Permissions, PreviewIn,
    PreviewOut, SecretOut, WebhookHealth, WebhookIn, WebhookOut, WebhookSummary,
};

/// The longest name of a webhook or trigger, in characters: the server
/// refuses more, the console counts towards it.
pub const MAX_NAME_CHARS: usize = 200;

/// A password's length in characters, users' and basic triggers' alike:
/// the server refuses others, the console states it before the first try.
pub const PASSWORD_CHARS: (usize, usize) = (10, 1024);

/// The actions the built-in object store emits, in the order the console shows them.
pub const OBJECT_ACTIONS: [&str; 3] = ["create", "update", "delete"];
