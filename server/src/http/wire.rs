//! Between the domain's value types (`crate::model`) and the API's wire
//! types (`api`): the one place that knows both.

use crate::model;

impl From<model::Role> for api::Role {
    fn from(role: model::Role) -> Self {
        match role {
            model::Role::Admin => Self::Admin,
            model::Role::Viewer => Self::Viewer,
        }
    }
}

impl From<api::Role> for model::Role {
    fn from(role: api::Role) -> Self {
        match role {
            api::Role::Admin => Self::Admin,
            api::Role::Viewer => Self::Viewer,
        }
    }
}

impl From<model::DeliveryMethod> for api::DeliveryMethod {
    fn from(method: model::DeliveryMethod) -> Self {
        match method {
            model::DeliveryMethod::Post => Self::Post,
            model::DeliveryMethod::Put => Self::Put,
            model::DeliveryMethod::Patch => Self::Patch,
        }
    }
}

impl From<api::DeliveryMethod> for model::DeliveryMethod {
    fn from(method: api::DeliveryMethod) -> Self {
        match method {
            api::DeliveryMethod::Post => Self::Post,
            api::DeliveryMethod::Put => Self::Put,
            api::DeliveryMethod::Patch => Self::Patch,
        }
    }
}

impl From<model::AttemptRequest> for api::AttemptRequest {
    fn from(request: model::AttemptRequest) -> Self {
        Self {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        }
    }
}

impl From<model::AttemptResponse> for api::AttemptResponse {
    fn from(response: model::AttemptResponse) -> Self {
        Self {
            status_code: response.status_code,
            headers: response.headers,
            body: response.body,
            body_truncated: response.body_truncated,
        }
    }
}

impl From<model::EventAccepted> for api::EventAccepted {
    fn from(accepted: model::EventAccepted) -> Self {
        Self {
            id: accepted.id,
            deliveries: accepted.deliveries,
            duplicate: accepted.duplicate,
        }
    }
}

impl From<model::QueuedDelivery> for api::QueuedDelivery {
    fn from(queued: model::QueuedDelivery) -> Self {
        Self {
            id: queued.id,
            webhook_id: queued.webhook_id,
        }
    }
}

impl From<model::TriggerMethod> for api::TriggerMethod {
    fn from(method: model::TriggerMethod) -> Self {
        match method {
            model::TriggerMethod::Get => Self::Get,
            model::TriggerMethod::Post => Self::Post,
        }
    }
}

impl From<api::TriggerMethod> for model::TriggerMethod {
    fn from(method: api::TriggerMethod) -> Self {
        match method {
            api::TriggerMethod::Get => Self::Get,
            api::TriggerMethod::Post => Self::Post,
        }
    }
}

impl From<model::TriggerResponse> for api::TriggerResponse {
    fn from(response: model::TriggerResponse) -> Self {
        match response {
            model::TriggerResponse::Outputs => Self::Outputs,
            model::TriggerResponse::Status => Self::Status,
        }
    }
}

impl From<api::TriggerResponse> for model::TriggerResponse {
    fn from(response: api::TriggerResponse) -> Self {
        match response {
            api::TriggerResponse::Outputs => Self::Outputs,
            api::TriggerResponse::Status => Self::Status,
        }
    }
}

impl From<model::DeliveryStatus> for api::DeliveryStatus {
    fn from(status: model::DeliveryStatus) -> Self {
        match status {
            model::DeliveryStatus::Pending => Self::Pending,
            model::DeliveryStatus::Retrying => Self::Retrying,
            model::DeliveryStatus::Succeeded => Self::Succeeded,
            model::DeliveryStatus::Failed => Self::Failed,
            model::DeliveryStatus::Paused => Self::Paused,
        }
    }
}
