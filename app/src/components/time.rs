//! Times as the reader lives them: in the browser's time zone, the clock
//! time always in sight ("14:03:05 · 2 min ago"; "2 Dec, 14:03:05" beyond a
//! day), the date and zone in the title. One way everywhere.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// The browser's time zone, e.g. `Europe/Berlin`.
pub fn time_zone() -> String {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|zone| zone.as_string())
        .unwrap_or_else(|| "local time".into())
}

/// `datetime-local` text (the browser's zone) as the RFC 3339 UTC time the
/// API takes; empty stays empty.
pub fn to_utc(local: &str) -> String {
    if local.is_empty() {
        return String::new();
    }
    let date = js_sys::Date::new(&JsValue::from_str(local));
    if date.get_time().is_nan() {
        return String::new();
    }
    String::from(date.to_iso_string())
}

/// An RFC 3339 time as `datetime-local` text in the browser's zone.
pub fn to_local(utc: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(utc));
    if utc.is_empty() || date.get_time().is_nan() {
        return String::new();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// The RFC 3339 time `hours` ago.
pub fn hours_ago(hours: f64) -> String {
    let date = js_sys::Date::new_0();
    date.set_time(date.get_time() - hours * 3_600_000.0);
    String::from(date.to_iso_string())
}

/// The absolute time with its zone, in the reader's zone:
/// "2 Dec 2026, 14:03:05 CET".
fn absolute(date: &js_sys::Date) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "long")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    String::from(date.to_locale_string("en-GB", &options))
}

/// "just now", "3 min ago", "5 h ago" within a day, and "in a moment",
/// "in 3 min", "in 5 h" ahead; otherwise the date and time without seconds
/// ("2 Dec, 14:03"). Pure, for tests.
pub fn relative(seconds_ago: f64, date_and_time: &str) -> String {
    match seconds_ago {
        s if s < -86_400.0 => date_and_time.to_string(),
        s if s < -3_600.0 => format!("in {} h", (-s / 3_600.0).floor() as i64),
        s if s < -45.0 => format!("in {} min", ((-s / 60.0).round() as i64).max(1)),
        s if s < -5.0 => "in a moment".into(),
        s if s < 45.0 => "just now".into(),
        s if s < 3_600.0 => format!("{} min ago", ((s / 60.0).round() as i64).max(1)),
        s if s < 86_400.0 => format!("{} h ago", (s / 3_600.0).floor() as i64),
        _ => date_and_time.to_string(),
    }
}

/// "14:03:05", in the reader's zone, on a 24-hour clock.
fn clock(date: &js_sys::Date) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("second", "2-digit"),
        ("hourCycle", "h23"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    String::from(date.to_locale_time_string_with_options("en-GB", &options))
}

/// What a time shows: its clock time and how long ago within a day, the
/// date and clock time beyond. Pure, for tests.
pub fn shown(seconds_ago: f64, clock: &str, date_and_time: &str) -> String {
    match relative(seconds_ago, date_and_time) {
        words if words == date_and_time => format!(
            "{date_and_time}:{}",
            &clock[clock.len().saturating_sub(2)..]
        ),
        words => format!("{clock} · {words}"),
    }
}

fn short(date: &js_sys::Date) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [
        ("day", "numeric"),
        ("month", "short"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("hourCycle", "h23"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    if date.get_full_year() != js_sys::Date::new_0().get_full_year() {
        let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
    }
    String::from(date.to_locale_string("en-GB", &options))
}

/// An RFC 3339 time from the API, shown in the reader's zone.
#[component]
pub fn Time(#[prop(into)] at: String) -> impl IntoView {
    let date = js_sys::Date::new(&JsValue::from_str(&at));
    if date.get_time().is_nan() {
        return view! { <span>{at}</span> }.into_any();
    }
    let seconds_ago = (js_sys::Date::now() - date.get_time()) / 1000.0;
    let text = shown(seconds_ago, &clock(&date), &short(&date));
    view! { <time datetime=at title=absolute(&date)>{text}</time> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_times_are_relative_and_older_ones_absolute() {
        assert_eq!(relative(10.0, "2 Dec, 14:03"), "just now");
        assert_eq!(relative(50.0, "2 Dec, 14:03"), "1 min ago");
        assert_eq!(relative(180.0, "2 Dec, 14:03"), "3 min ago");
        assert_eq!(relative(5.5 * 3_600.0, "2 Dec, 14:03"), "5 h ago");
        assert_eq!(relative(2.0 * 86_400.0, "2 Dec, 14:03"), "2 Dec, 14:03");
    }

    #[test]
    fn the_clock_time_is_always_in_sight() {
        assert_eq!(
            shown(180.0, "14:03:05", "2 Dec, 14:03"),
            "14:03:05 · 3 min ago"
        );
        assert_eq!(
            shown(-60.0, "14:03:05", "2 Dec, 14:03"),
            "14:03:05 · in 1 min"
        );
        assert_eq!(
            shown(2.0 * 86_400.0, "14:03:05", "2 Dec, 14:03"),
            "2 Dec, 14:03:05"
        );
    }

    #[test]
    fn times_ahead_say_how_soon() {
        assert_eq!(
            relative(-2.0, "2 Dec, 14:03"),
            "just now",
            "a clock a little ahead"
        );
        assert_eq!(relative(-20.0, "2 Dec, 14:03"), "in a moment");
        assert_eq!(relative(-60.0, "2 Dec, 14:03"), "in 1 min");
        assert_eq!(relative(-2.0 * 3_600.0, "2 Dec, 14:03"), "in 2 h");
        assert_eq!(relative(-3.0 * 86_400.0, "2 Dec, 14:03"), "2 Dec, 14:03");
    }
}
