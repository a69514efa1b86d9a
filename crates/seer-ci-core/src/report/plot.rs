//! The report's plots, as SVG text (plotters, with its built-in text layout: no fonts needed).

use plotters::prelude::*;

use crate::store::Day;

/// A chart plotters could not draw (the page shows a note in its place).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart")]
pub struct ChartError(#[source] DrawingAreaErrorKind<std::io::Error>);

impl From<DrawingAreaErrorKind<std::io::Error>> for ChartError {
    fn from(e: DrawingAreaErrorKind<std::io::Error>) -> ChartError {
        ChartError(e)
    }
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 240;
/// Colours that stay apart for readers with a colour-vision deficiency (Okabe–Ito).
const PALETTE: [RGBColor; 5] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];

fn day_label(start: i64) -> String {
    chrono::DateTime::from_timestamp(start, 0).map_or_else(String::new, |d| d.format("%m-%d").to_string())
}

/// CI runs per day, and the share of the tests the day's selections ran (a second series on its
/// own axis, drawn as points where there were selections).
pub fn daily_chart(days: &[Day]) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = days.len().max(1) as i32;
        let max_runs = days.iter().map(|d| d.runs).max().unwrap_or(0).max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .right_y_label_area_size(44)
            .caption("CI runs per day (bars) and share of tests run by the selections (dots)", ("sans-serif", 14))
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..max_runs * 1.1)?
            .set_secondary_coord(-0.5f64..(n as f64 - 0.5), 0f64..100f64);
        let labels: Vec<String> = days.iter().map(|d| day_label(d.start)).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len().min(14))
            .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .y_desc("runs")
            .draw()?;
        chart.configure_secondary_axes().y_desc("% of tests run").draw()?;
        chart.draw_series(days.iter().enumerate().map(|(i, d)| {
            let x = i as f64;
            Rectangle::new([(x - 0.35, 0.0), (x + 0.35, d.runs as f64)], PALETTE[0].mix(0.6).filled())
        }))?;
        chart.draw_series(days.iter().enumerate().filter(|(_, d)| d.failing_runs > 0).map(|(i, d)| {
            let x = i as f64;
            Rectangle::new([(x - 0.35, 0.0), (x + 0.35, d.failing_runs as f64)], PALETTE[3].filled())
        }))?;
        chart.draw_secondary_series(days.iter().enumerate().filter(|(_, d)| d.selected + d.skipped > 0).map(
            |(i, d)| {
                let share = 100.0 * d.selected as f64 / (d.selected + d.skipped) as f64;
                Circle::new((i as f64, share), 4, PALETTE[1].filled())
            },
        ))?;
        root.present()?;
    }
    Ok(svg)
}

/// Each function's share (%) per commit, self or (as its name says) inclusive, in history order. The legend is drawn under the
/// plot, never over its lines, and both axes are labelled inside the picture (not clipped).
pub fn trend_chart(commits: &[String], series: &[(String, Vec<f64>)]) -> Result<String, ChartError> {
    const LEGEND_ROW: u32 = 18;
    let mut svg = String::new();
    {
        let legend_height = 10 + LEGEND_ROW * series.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 60 + legend_height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_vertically(HEIGHT + 60);
        let n = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0).max(1);
        let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0f64, f64::max).max(1e-6) * 100.0;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .caption("share of the samples per commit (history order)", ("sans-serif", 14))
            .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..max * 1.15)?;
        let first = commits.len().saturating_sub(n);
        let labels: Vec<String> =
            commits[first..].iter().map(|c| crate::collect::git::short(c).chars().take(7).collect()).collect();
        chart
            .configure_mesh()
            .x_labels(labels.len().min(10))
            .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .y_label_formatter(&|y| format!("{y:.1}%"))
            .x_desc("commit")
            .y_desc("share of the samples")
            .axis_desc_style(("sans-serif", 13))
            .draw()?;
        for (k, (_, values)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            chart.draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i as f64, 100.0 * v)),
                colour.stroke_width(2),
            ))?;
        }
        for (k, (name, _)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let y = 6 + (LEGEND_ROW * k as u32) as i32 + LEGEND_ROW as i32 / 2;
            let short: String = name.chars().rev().take(90).collect::<String>().chars().rev().collect();
            legend.draw(&PathElement::new(vec![(76, y), (100, y)], colour.stroke_width(3)))?;
            legend.draw(&Text::new(short, (108, y - 7), ("sans-serif", 13).into_font()))?;
        }
        root.present()?;
    }
    Ok(svg)
}
