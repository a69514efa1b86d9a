//! Flame graphs (inferno): one of a set of runs merged, and differential ones of two sets.

use inferno::flamegraph;

/// How to draw.
#[derive(Debug, Clone, Default)]
pub struct FlamegraphOptions {
    pub title: String,
    pub subtitle: Option<String>,
    /// Leave out inferno's interactive script (for SVGs inlined in a page with others).
    pub static_svg: bool,
}

fn options(o: &FlamegraphOptions) -> flamegraph::Options<'static> {
    let mut opt = flamegraph::Options::default();
    opt.title = o.title.clone();
    opt.subtitle = o.subtitle.clone();
    // Colours from frame names, so that the same function has the same colour in every graph.
    opt.hash = true;
    opt.deterministic = true;
    opt.no_javascript = o.static_svg;
    opt.count_name = "samples".into();
    opt
}

fn line(stack: &[String]) -> String {
    stack.join(";")
}

/// A flame graph of `stacks` (root first, with counts) as SVG.
pub fn flamegraph_svg(stacks: &[(Vec<String>, u64)], o: &FlamegraphOptions) -> Result<Vec<u8>, std::io::Error> {
    let lines: Vec<String> = stacks.iter().map(|(s, n)| format!("{} {n}", line(s))).collect();
    let mut out = Vec::new();
    flamegraph::from_lines(&mut options(o), lines.iter().map(String::as_str), &mut out)?;
    Ok(out)
}

/// A differential flame graph: the shape of `after`, each frame coloured by how its share
/// changed from `before` (red: grew, blue: shrank). `before` is scaled to `after`'s total, so
/// that sets of different lengths compare by share.
pub fn differential_svg(
    before: &[(Vec<String>, u64)],
    after: &[(Vec<String>, u64)],
    o: &FlamegraphOptions,
) -> Result<Vec<u8>, std::io::Error> {
    let total = |s: &[(Vec<String>, u64)]| s.iter().map(|(_, n)| *n).sum::<u64>().max(1) as f64;
    let scale = total(after) / total(before);
    let mut merged: hashbrown::HashMap<String, (u64, u64)> = hashbrown::HashMap::new();
    for (s, n) in before {
        merged.entry(line(s)).or_default().0 += (*n as f64 * scale).round() as u64;
    }
    for (s, n) in after {
        merged.entry(line(s)).or_default().1 += n;
    }
    let lines: Vec<String> = merged.iter().map(|(s, (b, a))| format!("{s} {b} {a}")).collect();
    let mut out = Vec::new();
    flamegraph::from_lines(&mut options(o), lines.iter().map(String::as_str), &mut out)?;
    Ok(out)
}
