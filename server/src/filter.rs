//! Payload filters (SPEC.md, "Payload filters"): a webhook's `filter`,
//! compiled once from its JSON and matched against each event as the webhook
//! would receive it before `data_location` (`events::payload`). An event it
//! does not match makes no delivery.
//!
//! Decided beyond SPEC.md: numbers are equal by value (`1` is `1.0`), in
//! literals, arrays and objects alike; a path segment that is a whole number
//! indexes an array (`data.items.0.sku`); a path whose value is `null` exists;
//! `$contains` finds a substring only in a string and an element only in an
//! array, and matches nothing else; `$gt` and its kin compare two numbers or
//! two strings (by character) and match nothing else; a filter nests at most
//! `MAX_DEPTH` deep.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

/// How deep `$or`, `$and` and `$not` nest at most.
pub const MAX_DEPTH: usize = 16;

/// What a filter reads: an event's top-level fields by name (`type`,
/// `timestamp`, `data`, `changed_fields`, `previous`).
pub trait Fields {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl Fields for Value {
    fn field(&self, name: &str) -> Option<&Value> {
        self.as_object()?.get(name)
    }
}

/// A compiled filter: every clause must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Vec<Clause>);

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    /// The value at a dotted path passes every test.
    Path(Vec<String>, Vec<Test>),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Eq(Value),
    Ne(Value),
    Compare(Ordering, bool, Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    Contains(Value),
}

/// Why a filter is refused: where in it (`data.priority.$gt`, `$or[1]`) and
/// what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub at: String,
    pub problem: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "at {}: {}", self.at, self.problem)
        }
    }
}

fn invalid(at: &str, problem: impl Into<String>) -> Invalid {
    Invalid {
        at: at.to_string(),
        problem: problem.into(),
    }
}

/// `at` and one more step, for errors.
fn joined(at: &str, step: &str) -> String {
    match (at.is_empty(), step.starts_with('[')) {
        (true, _) | (false, true) => format!("{at}{step}"),
        (false, false) => format!("{at}.{step}"),
    }
}

impl Filter {
    /// Compiles a filter, or says where it is wrong.
    pub fn compile(value: &Value) -> Result<Self, Invalid> {
        compile(value, "", 0)
    }

    /// Whether `event` (as `events::payload` makes it) passes.
    pub fn matches(&self, event: &dyn Fields) -> bool {
        self.0.iter().all(|clause| clause.holds(event))
    }
}

fn compile(value: &Value, at: &str, depth: usize) -> Result<Filter, Invalid> {
    if depth > MAX_DEPTH {
        return Err(invalid(at, format!("nests deeper than {MAX_DEPTH}")));
    }
    let Value::Object(object) = value else {
        return Err(invalid(at, "must be an object"));
    };
    let mut clauses = Vec::with_capacity(object.len());
    for (key, value) in object {
        let here = joined(at, key);
        let clause = match key.as_str() {
            "$or" => Clause::Or(compile_list(value, &here, depth)?),
            "$and" => Clause::And(compile_list(value, &here, depth)?),
            "$not" => Clause::Not(Box::new(compile(value, &here, depth + 1)?)),
            operator if operator.starts_with('$') => {
                return Err(invalid(
                    &here,
                    "is not $or, $and or $not (operators go under a path)",
                ));
            }
            path => Clause::Path(compile_path(path, &here)?, compile_tests(value, &here)?),
        };
        clauses.push(clause);
    }
    Ok(Filter(clauses))
}

fn compile_list(value: &Value, at: &str, depth: usize) -> Result<Vec<Filter>, Invalid> {
    match value {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(n, item)| compile(item, &format!("{at}[{n}]"), depth + 1))
            .collect(),
        _ => Err(invalid(at, "must be a list of one or more filters")),
    }
}

fn compile_path(path: &str, at: &str) -> Result<Vec<String>, Invalid> {
    let steps: Vec<String> = path.split('.').map(String::from).collect();
    if steps.iter().any(String::is_empty) {
        return Err(invalid(at, "is not a dotted path like data.priority"));
    }
    Ok(steps)
}

/// A literal is a test of equality; an object whose keys all start with `$`
/// is a set of operators.
fn compile_tests(value: &Value, at: &str) -> Result<Vec<Test>, Invalid> {
    let operators = match value {
        Value::Object(object)
            if !object.is_empty() && object.keys().any(|k| k.starts_with('$')) =>
        {
            object
        }
        literal => return Ok(vec![Test::Eq(literal.clone())]),
    };
    if operators.keys().any(|key| !key.starts_with('$')) {
        return Err(invalid(at, "mixes operators and fields"));
    }
    operators
        .iter()
        .map(|(operator, operand)| compile_test(operator, operand, &joined(at, operator)))
        .collect()
}

fn compile_test(operator: &str, operand: &Value, at: &str) -> Result<Test, Invalid> {
    let comparable = || match operand {
        Value::Number(_) | Value::String(_) => Ok(operand.clone()),
        _ => Err(invalid(at, "takes a number or a string")),
    };
    let list = || match operand {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(invalid(at, "takes a list")),
    };
    Ok(match operator {
        "$eq" => Test::Eq(operand.clone()),
        "$ne" => Test::Ne(operand.clone()),
        "$gt" => Test::Compare(Ordering::Greater, false, comparable()?),
        "$gte" => Test::Compare(Ordering::Greater, true, comparable()?),
        "$lt" => Test::Compare(Ordering::Less, false, comparable()?),
        "$lte" => Test::Compare(Ordering::Less, true, comparable()?),
        "$in" => Test::In(list()?),
        "$nin" => Test::Nin(list()?),
        "$exists" => match operand {
            Value::Bool(present) => Test::Exists(*present),
            _ => return Err(invalid(at, "takes true or false")),
        },
        "$contains" => Test::Contains(operand.clone()),
        _ => {
            return Err(invalid(
                at,
                "is not an operator ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $contains)",
            ));
        }
    })
}

impl Clause {
    fn holds(&self, event: &dyn Fields) -> bool {
        match self {
            Clause::Or(filters) => filters.iter().any(|filter| filter.matches(event)),
            Clause::And(filters) => filters.iter().all(|filter| filter.matches(event)),
            Clause::Not(filter) => !filter.matches(event),
            Clause::Path(path, tests) => {
                let found = lookup(event, path);
                tests.iter().all(|test| test.passes(found))
            }
        }
    }
}

/// The value at `path`, if there is one.
fn lookup<'v>(event: &'v dyn Fields, path: &[String]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(event.field(first)?, |value, step| match value {
            Value::Object(object) => object.get(step),
            Value::Array(items) => items.get(step.parse::<usize>().ok()?),
            _ => None,
        })
}

impl Test {
    /// Whether the value found (`None`: the path is missing) passes.
    fn passes(&self, found: Option<&Value>) -> bool {
        let Some(found) = found else {
            return matches!(self, Test::Exists(false) | Test::Ne(_) | Test::Nin(_));
        };
        match self {
            Test::Eq(expected) => equal(found, expected),
            Test::Ne(expected) => !equal(found, expected),
            Test::Compare(wanted, or_equal, operand) => match compare(found, operand) {
                Some(Ordering::Equal) => *or_equal,
                Some(order) => order == *wanted,
                None => false,
            },
            Test::In(values) => values.iter().any(|value| equal(found, value)),
            Test::Nin(values) => !values.iter().any(|value| equal(found, value)),
            Test::Exists(present) => *present,
            Test::Contains(part) => match (found, part) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), part) => items.iter().any(|item| equal(item, part)),
                _ => false,
            },
        }
    }
}

/// JSON equality, numbers by value.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => same_fields(a, b),
        _ => a == b,
    }
}

fn same_fields(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(key, value)| b.get(key).is_some_and(|other| equal(value, other)))
}

/// Two numbers, or two strings by character; nothing else compares.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.chars().cmp(b.chars())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn ticket(data: Value) -> Value {
        json!({"type": "ticket.update", "timestamp": "2026-12-06T07:00:00.000Z", "data": data})
    }

    fn passes(filter: Value, event: &Value) -> bool {
        Filter::compile(&filter).unwrap().matches(event)
    }

    #[test]
    fn the_example_of_the_spec_takes_open_p1_and_p2_tickets_only() {
        let filter = json!({"data.priority": {"$in": ["P1", "P2"]}, "data.status": "open"});
        assert!(passes(
            filter.clone(),
            &ticket(json!({"priority": "P1", "status": "open"}))
        ));
        assert!(!passes(
            filter.clone(),
            &ticket(json!({"priority": "P3", "status": "open"}))
        ));
        assert!(!passes(
            filter.clone(),
            &ticket(json!({"priority": "P2", "status": "closed"}))
        ));
        assert!(!passes(filter, &ticket(json!({"status": "open"}))));
    }

    #[test]
    fn operators_compare_numbers_and_strings_and_combine() {
        let event = ticket(
            json!({"amount": 250, "country": "FR", "tags": ["vip", "eu"], "customer": {"name": "Ada Lovelace"}}),
        );
        assert!(passes(
            json!({"data.amount": {"$gt": 100, "$lte": 250}}),
            &event
        ));
        assert!(!passes(json!({"data.amount": {"$lt": 250}}), &event));
        assert!(
            passes(json!({"data.amount": 250.0}), &event),
            "numbers equal by value"
        );
        assert!(passes(
            json!({"data.country": {"$gte": "EE", "$lt": "GB"}}),
            &event
        ));
        assert!(
            !passes(json!({"data.country": {"$gt": 1}}), &event),
            "a string is not above a number"
        );
        assert!(passes(json!({"data.tags": {"$contains": "vip"}}), &event));
        assert!(passes(
            json!({"data.customer.name": {"$contains": "Love"}}),
            &event
        ));
        assert!(
            passes(json!({"data.tags": ["vip", "eu"]}), &event),
            "arrays compare whole"
        );
        assert!(
            passes(json!({"data.tags.1": "eu"}), &event),
            "a number indexes an array"
        );
        assert!(passes(json!({"type": {"$ne": "ticket.create"}}), &event));
        assert!(passes(
            json!({"$or": [{"data.country": "DE"}, {"data.amount": {"$gte": 200}}]}),
            &event
        ));
        assert!(!passes(
            json!({"$and": [{"data.country": "FR"}, {"$not": {"data.tags": {"$contains": "eu"}}}]}),
            &event
        ));
    }

    #[test]
    fn a_missing_path_matches_only_exists_false_ne_and_nin() {
        let event = ticket(json!({"present": null}));
        for (test, expected) in [
            (json!({"$exists": false}), true),
            (json!({"$ne": "x"}), true),
            (json!({"$nin": ["x"]}), true),
            (json!({"$exists": true}), false),
            (json!({"$eq": null}), false),
            (json!(null), false),
            (json!({"$in": [null]}), false),
            (json!({"$contains": "x"}), false),
            (json!({"$lt": 1}), false),
        ] {
            let filter = json!({"data.absent": test.clone()});
            assert_eq!(passes(filter, &event), expected, "{test}");
        }
        assert!(
            passes(json!({"data.present": {"$exists": true}}), &event),
            "null is there"
        );
        assert!(passes(json!({"data.present": null}), &event));
    }

    #[test]
    fn an_invalid_filter_says_where() {
        for (filter, at) in [
            (json!([]), ""),
            (json!({"data.priority": {"$gt": [1]}}), "data.priority.$gt"),
            (json!({"data.priority": {"$in": "P1"}}), "data.priority.$in"),
            (
                json!({"data.priority": {"$like": "P%"}}),
                "data.priority.$like",
            ),
            (
                json!({"data.priority": {"$eq": 1, "x": 2}}),
                "data.priority",
            ),
            (json!({"data..priority": 1}), "data..priority"),
            (json!({"$or": []}), "$or"),
            (json!({"$or": [{"a": 1}, 2]}), "$or[1]"),
            (json!({"$where": "1"}), "$where"),
            (json!({"x": {"$exists": "yes"}}), "x.$exists"),
        ] {
            let error = Filter::compile(&filter).unwrap_err();
            assert_eq!(error.at, at, "{filter}: {error}");
        }
        let mut deep = json!({"a": 1});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"$not": deep});
        }
        assert!(Filter::compile(&deep).is_err());
    }

    /// Small JSON values, so that random filters and events meet often.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..4).prop_map(Value::from),
            prop_oneof![Just("a"), Just("b"), Just("ab"), Just("")].prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(prop_oneof![Just("a"), Just("b")], inner, 0..3)
                    .prop_map(|map| Value::Object(
                        map.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                    )),
            ]
        })
    }

    fn event() -> impl Strategy<Value = Value> {
        value().prop_map(ticket)
    }

    fn path() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("data"),
            Just("data.a"),
            Just("data.b"),
            Just("data.a.b"),
            Just("data.0"),
            Just("type")
        ]
    }

    fn test() -> impl Strategy<Value = Value> {
        prop_oneof![
            value(),
            value().prop_map(|v| json!({"$eq": v})),
            value().prop_map(|v| json!({"$ne": v})),
            (-3i64..4).prop_map(|n| json!({"$gt": n})),
            prop_oneof![Just("a"), Just("b")].prop_map(|s| json!({"$lte": s})),
            prop::collection::vec(value(), 0..3).prop_map(|v| json!({"$in": v})),
            prop::collection::vec(value(), 0..3).prop_map(|v| json!({"$nin": v})),
            any::<bool>().prop_map(|b| json!({"$exists": b})),
            value().prop_map(|v| json!({"$contains": v})),
        ]
    }

    fn filter() -> impl Strategy<Value = Value> {
        let clause = (path(), test()).prop_map(|(path, test)| json!({path: test}));
        clause.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..3).prop_map(|fs| json!({"$or": fs})),
                prop::collection::vec(inner.clone(), 1..3).prop_map(|fs| json!({"$and": fs})),
                inner.prop_map(|f| json!({"$not": f})),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_filter_and_its_not_never_both_match(filter in filter(), event in event()) {
            let negated = json!({"$not": filter.clone()});
            prop_assert_ne!(passes(filter, &event), passes(negated, &event));
        }

        #[test]
        fn in_with_one_value_is_eq(path in path(), value in value(), event in event()) {
            prop_assert_eq!(
                passes(json!({path: {"$in": [value.clone()]}}), &event),
                passes(json!({path: {"$eq": value}}), &event)
            );
        }

        #[test]
        fn nin_is_the_opposite_of_in_and_ne_of_eq(path in path(), values in prop::collection::vec(value(), 0..3), event in event()) {
            prop_assert_ne!(
                passes(json!({path: {"$in": values.clone()}}), &event),
                passes(json!({path: {"$nin": values.clone()}}), &event)
            );
            if let Some(value) = values.first() {
                prop_assert_ne!(
                    passes(json!({path: {"$eq": value}}), &event),
                    passes(json!({path: {"$ne": value}}), &event)
                );
            }
        }

        #[test]
        fn on_a_missing_path_only_exists_false_ne_and_nin_match(test in test(), event in event()) {
            let expected = match &test {
                Value::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    ops.iter().all(|(op, v)| matches!((op.as_str(), v), ("$exists", Value::Bool(false)) | ("$ne", _) | ("$nin", _)))
                }
                _ => false,
            };
            prop_assert_eq!(passes(json!({"data.missing.here": test}), &event), expected);
        }
    }
}
