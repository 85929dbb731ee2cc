use api::AttemptStats;
use leptos::prelude::*;

// Whole SVG units: the chart is drawn without floating point, whose
// formatting would add ~15 KB to the console.
const WIDTH: u64 = 720;
const HEIGHT: u64 = 120;
const GAP: u64 = 4;

/// Succeeded and failed attempts per time bucket, as stacked SVG bars.
#[component]
pub fn AttemptChart(stats: AttemptStats) -> impl IntoView {
    let count = stats.buckets.len().max(1) as u64;
    let highest = stats
        .buckets
        .iter()
        .map(|b| b.succeeded + b.failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (WIDTH / count).max(GAP + 1);
    // Rounded to the nearest unit.
    let height = |attempts: u64| (attempts * HEIGHT * 2 + highest) / (highest * 2);
    let bars = stats
        .buckets
        .iter()
        .enumerate()
        .map(|(n, bucket)| {
            let x = n as u64 * slot + GAP / 2;
            let ok = height(bucket.succeeded);
            let failed = height(bucket.failed).min(HEIGHT - ok);
            let title = format!(
                "{}: {} succeeded, {} failed",
                hour_minute(&bucket.start),
                bucket.succeeded,
                bucket.failed
            );
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="bar-ok" x=x y=HEIGHT - ok width=slot - GAP height=ok />
                    <rect class="bar-failed" x=x y=HEIGHT - ok - failed width=slot - GAP height=failed />
                </g>
            }
        })
        .collect_view();
    let total_ok: u64 = stats.buckets.iter().map(|b| b.succeeded).sum();
    let total_failed: u64 = stats.buckets.iter().map(|b| b.failed).sum();
    view! {
        <figure class="chart card">
            <figcaption>
                <span class="legend ok">{format!("{total_ok} succeeded")}</span>
                <span class="legend failed">{format!("{total_failed} failed")}</span>
                <span class="muted">"attempts, last 24 hours"</span>
            </figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 16) role="img" aria-label="Attempts over time">
                // Failures hatched, so that the chart reads without colour.
                <defs>
                    <pattern id="failed-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="6" height="6" fill="#c4320a" />
                        <line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2" />
                    </pattern>
                </defs>
                {bars}
                <line x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT class="axis" />
                <text x="0" y=HEIGHT + 13 class="tick">"24 h ago"</text>
                <text x=WIDTH y=HEIGHT + 13 class="tick" text-anchor="end">"now"</text>
            </svg>
        </figure>
    }
}

/// `2026-11-23T10:04:05Z` as `11:04` in Berlin: in the reader's zone.
fn hour_minute(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return rfc3339.to_string();
    }
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}
