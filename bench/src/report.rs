//! The table the bench prints: each figure, its baseline from the same run,
//! their ratio, the target and whether it holds.

use std::time::Duration;

pub struct Row {
    name: String,
    hookhub: String,
    baseline: String,
    ratio: Option<f64>,
    target: String,
    holds: Option<bool>,
}

impl Row {
    pub fn new(
        name: &str,
        hookhub: String,
        baseline: String,
        ratio: f64,
        target: &str,
        holds: bool,
    ) -> Self {
        Self {
            name: name.to_string(),
            hookhub,
            baseline,
            ratio: Some(ratio),
            target: target.to_string(),
            holds: Some(holds),
        }
    }

    /// A figure shown for context, with no baseline or target of its own.
    pub fn info(name: &str, hookhub: String) -> Self {
        Self {
            name: name.to_string(),
            hookhub,
            baseline: String::new(),
            ratio: None,
            target: String::new(),
            holds: None,
        }
    }
}

pub fn ms(time: Duration) -> String {
    format!("{:.2} ms", time.as_secs_f64() * 1000.0)
}

/// The rows as a Markdown table, ready for BENCHMARKS.md.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| measurement | hookhub | baseline (same run) | ratio | target | holds |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let ratio = row.ratio.map_or(String::new(), |r| format!("{r:.3}"));
        let holds = match row.holds {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.name, row.hookhub, row.baseline, ratio, row.target, holds
        ));
    }
    out
}
