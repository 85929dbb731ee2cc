//! What the handlers check beyond the types, said in the document's own
//! terms, so that a client (or a fuzzer) can tell a valid request from the
//! schema alone: lengths, patterns, which fields `POST` needs, where `null`
//! is refused. The wire types give the shapes; this adds the rules that
//! their handlers apply on top. Each pattern is tested below against the
//! handler's own check: what the document allows, the API accepts. Where
//! the API counts bytes, the document keeps to ASCII (or a quarter of the
//! bytes in characters), a little stricter than the API, never looser.

use serde_json::{Value, json};

use crate::events::OPERATOR_MODULE;
use crate::http::rules::{BLANK, COMBINING, HIDDEN, MAX_MARKS};

/// A module or an action of an event type (`is_name_part`).
const PART: &str = "[a-z0-9_-]{1,64}";
/// A character that is not a control character (`char::is_control`).
const PRINTABLE: &str = r"[^\x00-\x1f\x7f-\x9f]";
/// An `http(s)` address of a named host (`parse_url`): ASCII labels with
/// single hyphens inside (`xn--` would be read as punycode), the last
/// starting with a letter (a numeric one would be read as an IPv4 address),
/// a port, then any visible ASCII; 2,047 characters at most, as hookhub
/// adds the `/` of an address without a path.
const URL: &str = r"[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(:[1-9][0-9]{0,3})?([/?#][!-~]*)?";
/// `root/result` (`data_location_problem`).
const DATA_LOCATION: &str = "[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,7}";
/// An HTTP header name (a token) and value (visible ASCII and spaces).
const HEADER_NAME: &str = r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}";
const HEADER_VALUE: &str = "[ -~]{0,4096}";
/// A Basic username: no `:`, no control character (`basic_username_problem`).
const BASIC_USERNAME: &str = r"[^:\x00-\x1f\x7f-\x9f]{1,200}";
/// A trigger's parameter: a name of 1 to 100 bytes, a value up to 1,000.
const PARAM_NAME: &str = "[ -~]{1,100}";
const PARAM_VALUE: &str = "[ -~]{0,1000}";
/// `GET /api/deliveries/stats?window=`: 1m to 90d.
const WINDOW: &str = "([1-9][0-9]{0,2}[mh]|([1-9]|[1-8][0-9]|90)d)";

/// A class of characters: `[...]`, or `[^...]` when `not`, of the ranges
/// written as `\uXXXX` escapes, which ECMA-262, Python and Rust regexes read alike.
fn class(not: bool, ranges: &[&[(char, char)]]) -> String {
    let escape = |c: char| format!("\\u{:04x}", c as u32);
    let inside: String = ranges
        .iter()
        .flat_map(|ranges| ranges.iter())
        .map(|(low, high)| match low == high {
            true => escape(*low),
            false => format!("{}-{}", escape(*low), escape(*high)),
        })
        .collect();
    format!("[{}{inside}]", if not { "^" } else { "" })
}

/// Names of webhooks and triggers (`name_problem`): characters neither
/// control nor hidden, at least one of them visible, each carrying at most
/// `MAX_MARKS` combining marks.
fn name() -> String {
    const CONTROL: [(char, char); 2] = [('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')];
    let marks = format!("{}{{0,{MAX_MARKS}}}", class(false, &[&COMBINING]));
    let base = class(true, &[&CONTROL, &HIDDEN, &COMBINING]);
    let visible = class(true, &[&CONTROL, &HIDDEN, &COMBINING, &BLANK]);
    let any = format!("(?:{base}{marks})*");
    format!("{marks}{any}{visible}{marks}{any}")
}

/// Anchored, as JSON Schema patterns match anywhere otherwise.
fn whole(pattern: &str) -> String {
    format!("^{pattern}$")
}

fn event_pattern() -> String {
    whole(&format!(r"(\*|{PART}\.(\*|{PART}))"))
}

/// Adds the rules to the document as `documented` made it from the types.
pub fn refine(document: &mut Value) {
    webhooks(document);
    triggers(document);
    other_bodies(document);
    queries(document);
}

fn webhooks(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    let webhook = &mut schemas["WebhookIn"]["properties"];
    merge(&mut webhook["name"], json!({"pattern": whole(&name())}));
    merge(
        &mut webhook["url"],
        json!({"pattern": whole(URL), "maxLength": 2047, "format": "uri"}),
    );
    merge(
        &mut webhook["events"],
        json!({"maxItems": 256, "items": {"type": "string", "pattern": event_pattern()}}),
    );
    merge(
        &mut webhook["data_location"],
        json!({"pattern": format!("^$|{}", whole(DATA_LOCATION))}),
    );
    let header_value = json!({"type": ["string", "null"], "pattern": whole(HEADER_VALUE)});
    merge(&mut webhook["headers"], map(50, HEADER_NAME, header_value));
    // `null` is refused for every field but the data location (none).
    for field in ["name", "url", "events", "active", "method", "headers"] {
        not_null(&mut webhook[field]);
    }
    webhook["auth"] = reference("WebhookAuthIn");
    let credential = json!({"type": "string", "minLength": 1, "maxLength": 1024, "pattern": whole(&format!("{PRINTABLE}*"))});
    schemas["WebhookAuthIn"] = auth(credential.clone(), Some(credential.clone()), Given::MayKeep);
    schemas["WebhookAuthCreate"] = auth(credential.clone(), Some(credential), Given::Always);

    // `POST` needs a name and a URL, and every header's value.
    let mut create = schemas["WebhookIn"].clone();
    create["description"] = json!("A new webhook: `name` and `url` are required.");
    create["required"] = json!(["name", "url"]);
    create["properties"]["auth"] = reference("WebhookAuthCreate");
    not_null(&mut create["properties"]["headers"]["additionalProperties"]);
    schemas["WebhookCreate"] = create.clone();
    schemas["PreviewIn"]["properties"]["webhook"] = reference("WebhookCreate");
    set_body(document, "/api/webhooks", "post", "WebhookCreate");
}

fn triggers(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    let trigger = &mut schemas["TriggerIn"]["properties"];
    merge(&mut trigger["name"], json!({"pattern": whole(&name())}));
    merge(
        &mut trigger["event_type"],
        json!({"not": {"pattern": format!(r"^{OPERATOR_MODULE}\.")}}),
    );
    let param_value = json!({"type": "string", "pattern": whole(PARAM_VALUE)});
    merge(&mut trigger["params"], map(50, PARAM_NAME, param_value));
    for field in ["name", "method", "params", "event_type", "response"] {
        not_null(&mut trigger[field]);
    }
    trigger["auth"] = reference("TriggerAuthIn");
    let (min, max) = api::PASSWORD_CHARS;
    let password = json!({"type": "string", "minLength": min, "maxLength": max});
    schemas["TriggerAuthIn"] = auth(password.clone(), None, Given::MayKeep);
    schemas["TriggerAuthCreate"] = auth(password, None, Given::Always);

    let mut create = schemas["TriggerIn"].clone();
    create["description"] = json!("A new trigger: `name` is required.");
    create["required"] = json!(["name"]);
    create["properties"]["auth"] = reference("TriggerAuthCreate");
    schemas["TriggerCreate"] = create;
    set_body(document, "/api/triggers", "post", "TriggerCreate");
}

fn other_bodies(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    let (min, max) = api::PASSWORD_CHARS;
    for field in ["role", "active", "password"] {
        not_null(&mut schemas["UserPatch"]["properties"][field]);
    }
    merge(
        &mut schemas["UserPatch"]["properties"]["password"],
        json!({"minLength": min, "maxLength": max}),
    );
    merge(
        &mut schemas["EventIn"]["properties"]["idempotency_key"],
        json!({"pattern": whole(&format!("{PRINTABLE}*"))}),
    );
    merge(
        &mut schemas["EventIn"]["properties"]["type"],
        json!({"not": {"pattern": format!(r"^{OPERATOR_MODULE}\.")}}),
    );
    merge(
        &mut schemas["EventBatchIn"]["properties"]["events"],
        json!({"minItems": 1, "maxItems": crate::http::events::MAX_BATCH}),
    );
    merge(
        &mut schemas["RecoverIn"]["properties"]["until"],
        json!({"format": "date-time"}),
    );
}

fn queries(document: &mut Value) {
    let statuses = json!(["pending", "retrying", "succeeded", "failed", "paused"]);
    let paths = &mut document["paths"];
    let list = &mut paths["/api/deliveries"]["get"];
    merge(parameter(list, "status"), json!({"enum": statuses}));
    merge(
        parameter(list, "event_type"),
        json!({"pattern": event_pattern()}),
    );
    for time in ["since", "until"] {
        merge(parameter(list, time), json!({"format": "date-time"}));
    }
    let stats = &mut paths["/api/deliveries/stats"]["get"];
    merge(
        parameter(stats, "window"),
        json!({"pattern": whole(WINDOW)}),
    );
    let module = json!({"pattern": whole(PART), "not": {"enum": [OPERATOR_MODULE]}});
    for (path, item) in paths.as_object_mut().into_iter().flatten() {
        if !path.starts_with("/api/objects/") {
            continue;
        }
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut())
        {
            merge(parameter(operation, "module"), module.clone());
        }
    }
    let calls = &mut paths["/api/triggers/{id}/calls"]["get"];
    merge(
        parameter(calls, "outcome"),
        json!({"enum": crate::http::triggers::OUTCOMES}),
    );
    // Every list pages alike.
    for (path, item) in paths.as_object_mut().into_iter().flatten() {
        let Some(list) = item.get_mut("get") else {
            continue;
        };
        let answer = &list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        if !answer.as_str().is_some_and(|name| name.contains("/List")) {
            continue;
        }
        let pages = list["parameters"]
            .as_array()
            .is_some_and(|all| all.iter().any(|p| p["name"] == "cursor"));
        assert!(pages, "{path} lists without paging");
        let most = crate::http::paging::MAX_LIMIT;
        merge(
            parameter(list, "limit"),
            json!({"minimum": 1, "maximum": most}),
        );
    }
}

/// Whether a credential must be given, or may be left out to keep the stored one.
#[derive(Clone, Copy, PartialEq)]
enum Given {
    Always,
    MayKeep,
}

/// `AuthIn` for one kind of resource: a Basic password, and a bearer token
/// when it is written (a trigger's is generated instead).
fn auth(password: Value, token: Option<Value>, given: Given) -> Value {
    let credential = |schema: Value| match given {
        Given::Always => schema,
        Given::MayKeep => {
            let mut schema = schema;
            schema["type"] = json!(["string", "null"]);
            schema
        }
    };
    let kind = |name: &str| json!({"type": "string", "enum": [name]});
    let mut basic_required = vec!["type", "username"];
    let mut bearer_required = vec!["type"];
    if given == Given::Always {
        basic_required.push("password");
        if token.is_some() {
            bearer_required.push("token");
        }
    }
    let mut bearer = json!({"type": kind("bearer")});
    if let Some(token) = token {
        bearer["token"] = credential(token);
    }
    json!({
        "description": "Authentication as written by a client.",
        "oneOf": [
            {"type": "object", "required": ["type"], "properties": {"type": kind("none")},
             "additionalProperties": false},
            {"type": "object", "required": basic_required, "additionalProperties": false,
             "properties": {
                 "type": kind("basic"),
                 "username": {"type": "string", "pattern": whole(BASIC_USERNAME)},
                 "password": credential(password),
             }},
            {"type": "object", "required": bearer_required, "properties": bearer,
             "additionalProperties": false},
        ]
    })
}

/// An object of at most `most` entries, its keys matching `key`, its values `value`.
fn map(most: usize, key: &str, value: Value) -> Value {
    json!({
        "maxProperties": most,
        "propertyNames": {"type": "string", "pattern": whole(key)},
        "additionalProperties": value,
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Adds `rules` to `schema`, replacing what it says of the same keys.
fn merge(schema: &mut Value, rules: Value) {
    assert!(schema.is_object(), "refining a schema that is not there");
    if let (Some(schema), Value::Object(rules)) = (schema.as_object_mut(), rules) {
        schema.extend(rules);
    }
}

/// `schema` without its `null`: `["string", "null"]` becomes `"string"`,
/// `oneOf [X, null]` becomes X.
fn not_null(schema: &mut Value) {
    if let Some(types) = schema["type"].as_array() {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = match kept.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(kept),
        };
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        let kept: Vec<Value> = branches
            .iter()
            .filter(|branch| branch["type"] != "null")
            .cloned()
            .collect();
        *schema = match kept.as_slice() {
            [one] => one.clone(),
            _ => json!({"oneOf": kept}),
        };
    }
}

/// The schema of a query or path parameter of `operation`.
fn parameter<'a>(operation: &'a mut Value, name: &str) -> &'a mut Value {
    let parameters = operation["parameters"]
        .as_array_mut()
        .expect("an operation with parameters");
    let found = parameters
        .iter_mut()
        .find(|parameter| parameter["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    &mut found["schema"]
}

/// Points an operation's JSON body at schema `name`.
fn set_body(document: &mut Value, path: &str, method: &str, name: &str) {
    let body = &mut document["paths"][path][method]["requestBody"]["content"]["application/json"];
    assert!(body.is_object(), "{method} {path} takes no JSON body");
    body["schema"] = reference(name);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use proptest::string::string_regex;

    use super::*;
    use crate::events::{is_event_pattern, is_event_type, is_name_part};
    use crate::http::rules::{basic_username_problem, name_problem, printable_problem};
    use crate::http::webhooks::input::{data_location_problem, headers_problem, parse_url};

    fn matching(pattern: &str) -> impl Strategy<Value = String> + use<> {
        string_regex(pattern).expect("a pattern proptest can generate from")
    }

    /// `matching` with every `*` and `+` at most 8 times: short enough to
    /// be within the schema's `maxLength` always (a test that threw long
    /// ones away would give up now and then). Only for patterns with no `*`
    /// or `+` inside a class.
    fn short(pattern: &str) -> impl Strategy<Value = String> + use<> {
        matching(&pattern.replace('*', "{0,8}").replace('+', "{1,8}"))
    }

    #[test]
    fn the_name_pattern_refuses_what_hookhub_refuses() {
        let pattern = regex::Regex::new(&whole(&name())).unwrap();
        let stacked = format!("a{}", "\u{0301}".repeat(MAX_MARKS + 1));
        for refused in [
            "x\u{202e}y",
            "\u{200b}",
            " ",
            "\u{200d}",
            "\u{0301}",
            &stacked,
        ] {
            assert!(!pattern.is_match(refused), "{refused:?}");
            assert!(name_problem(refused).is_some(), "{refused:?}");
        }
        let accented = format!("e{}", "\u{0301}".repeat(MAX_MARKS));
        for taken in [
            "Ticket → CMDB",
            "Café",
            "\u{1f469}\u{200d}\u{1f4bb} dev",
            &accented,
        ] {
            assert!(pattern.is_match(taken), "{taken:?}");
        }
    }

    proptest! {
        #[test]
        fn an_address_the_document_allows_is_one_hookhub_takes(url in short(URL)) {
            prop_assert!(parse_url(&url).is_ok(), "{}: {:?}", url, parse_url(&url));
        }

        #[test]
        fn names_and_texts_the_document_allows_are_taken(
            name in short(&name()),
            printable in matching(&format!("{PRINTABLE}{{1,200}}")),
            username in matching(BASIC_USERNAME),
            location in matching(DATA_LOCATION),
        ) {
            prop_assert_eq!(name_problem(name.trim()), None);
            prop_assert_eq!(printable_problem(&printable, 200), None);
            prop_assert_eq!(basic_username_problem(&username), None);
            prop_assert_eq!(data_location_problem(&location), None);
        }

        #[test]
        fn event_types_and_modules_the_document_allows_are_taken(
            module in matching(PART),
            action in matching(PART),
        ) {
            prop_assert!(is_name_part(&module));
            let event_type = format!("{module}.{action}");
            prop_assert!(is_event_type(&event_type) && is_event_pattern(&event_type));
            let whole_module = format!("{module}.*");
            prop_assert!(is_event_pattern(&whole_module));
        }

        /// But for the few names hookhub sets itself, which the document
        /// leaves to the message of the 422.
        #[test]
        fn headers_the_document_allows_are_taken(
            name in matching(HEADER_NAME),
            value in matching(HEADER_VALUE),
        ) {
            let lower = name.to_ascii_lowercase();
            prop_assume!(!lower.starts_with("proxy-") && !lower.starts_with("webhook-"));
            prop_assume!(!["authorization", "connection", "content-length", "content-type",
                "host", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]
                .contains(&lower.as_str()));
            let headers = BTreeMap::from([(name, Some(value))]);
            prop_assert_eq!(headers_problem(&headers), None);
        }
    }

    #[test]
    fn every_refined_schema_is_in_the_document() {
        // `merge` and `parameter` panic on a schema or parameter that is not
        // there: a renamed field would otherwise lose its rules silently.
        let document: Value = serde_json::from_str(&crate::http::openapi_document()).unwrap();
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["WebhookCreate"]["required"], json!(["name", "url"]));
        for list in [
            "/api/webhooks",
            "/api/users",
            "/api/deliveries",
            "/api/triggers/{id}/calls",
        ] {
            let parameters = &document["paths"][list]["get"]["parameters"];
            let limit = parameters
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "limit")
                .unwrap();
            assert_eq!(limit["schema"]["maximum"], 1000, "{list}");
        }
        assert_eq!(
            schemas["WebhookCreate"]["properties"]["name"]["type"],
            "string"
        );
        let body = &document["paths"]["/api/webhooks"]["post"]["requestBody"];
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/WebhookCreate"
        );
    }
}
