//! The weekly report: what seer's selections saved and missed, the tests that failed, flaked or
//! slowed, the live model and its drift, and what got slower in the profiles, as one HTML page,
//! a Markdown summary and JSON, all from the same numbers.

mod data;
mod html;
mod json;
mod markdown;
mod numbers;
mod plot;

pub use data::{BenchSection, ModelSection, ReportData, ReportOptions, SelectionSection};
pub use html::{flamegraph_files, render_html, render_html_linked};
pub use markdown::render_markdown;
pub use numbers::pct;

/// What the profile tables' "q" column means, in one line under them.
const Q_MEANS: &str = "q: the expected share of false alarms among changes at least this significant \
    (Benjamini–Hochberg over every cost tested, self and inclusive); lower is surer.";
