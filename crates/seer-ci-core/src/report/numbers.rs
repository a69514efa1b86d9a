//! Numbers as the report and the command line show them.

/// A share as a percentage with one decimal (`0.125` → `12.5%`).
pub fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}
