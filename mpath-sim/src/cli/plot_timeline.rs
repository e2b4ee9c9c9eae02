//! `run --svg`: a run over virtual time, from the report's timeline. Top:
//! each path's throughput per slice (IOPS, or MiB/s for I/O of 64 KiB and
//! more, the unit storage engineers quote for large I/O). Bottom: the
//! mean and the longest latency of the I/O completed in each slice, on a
//! log scale (a failover's seconds and a healthy path's microseconds on
//! one axis). Every fault is a vertical line with its name.
//!
//! Floating point is fine here: this is drawing, not the core.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::engine::{Report, Scenario};
use crate::scenario_file::describe_fault;

use super::CliError;

/// The picture's size in pixels.
const SIZE: (u32, u32) = (1100, 760);
/// I/O this large or larger is plotted in MiB/s.
const BANDWIDTH_FROM: u64 = 64 * 1024;
const MIB: f64 = 1024.0 * 1024.0;

pub(crate) fn drawing_error<E: std::fmt::Display>(e: E) -> CliError {
    CliError::internal(format!("drawing the SVG: {e}"))
}

/// Each fault as a labelled vertical line from `bottom` to `top` on a
/// panel whose x axis is virtual time in ms, then the panel's legend.
fn faults_and_legend<'a, DB, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    marks: &[(f64, String)],
    bottom: f64,
    top: f64,
) -> Result<(), CliError>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    let style = RED.mix(0.7).stroke_width(1);
    let font = ("sans-serif", 12)
        .into_font()
        .transform(FontTransform::Rotate90)
        .color(&RED);
    for (t, label) in marks {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(*t, bottom), (*t, top)],
            style,
        )))
        .map_err(drawing_error)?;
        c.draw_series(std::iter::once(
            EmptyElement::at((*t, top)) + Text::new(label.clone(), (15, 4), font.clone()),
        ))
        .map_err(drawing_error)?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(drawing_error)
}

/// Faults as (time in ms, label), faults at one moment joined.
fn fault_marks(s: &Scenario) -> Vec<(f64, String)> {
    let mut marks: Vec<(f64, String)> = Vec::new();
    for &(at, f) in &s.faults {
        let t = at.as_nanos() as f64 / 1e6;
        match marks.last_mut() {
            Some((last, label)) if (*last - t).abs() < 1e-9 => {
                label.push_str("; ");
                label.push_str(&describe_fault(f));
            }
            _ => marks.push((t, describe_fault(f))),
        }
    }
    marks
}

/// Contiguous runs of `Some` points, so a line is not drawn across
/// slices in which nothing completed.
fn runs(points: &[Option<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for p in points {
        match p {
            Some(xy) => cur.push(*xy),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The run's timeline as an SVG document.
pub fn timeline_svg(s: &Scenario, r: &Report) -> Result<String, CliError> {
    let tl = &r.timeline;
    let slice_s = tl.slice.as_nanos() as f64 / 1e9;
    let slice_ms = slice_s * 1e3;
    let io_bytes = u64::from(s.block_size) * u64::from(s.workload.blocks);
    let bandwidth = io_bytes >= BANDWIDTH_FROM;
    let unit = if bandwidth { "MiB/s" } else { "IOPS" };
    let at = |k: usize| (k as f64 + 0.5) * slice_ms;
    let marks = fault_marks(s);
    let end_ms = (tl.samples.len() as f64 * slice_ms)
        .max(s.duration.as_nanos() as f64 / 1e6)
        .max(marks.last().map_or(0.0, |m| m.0 + slice_ms))
        .max(1e-3);

    let paths = s.paths.len();
    let per_path: Vec<Vec<(f64, f64)>> = (0..paths)
        .map(|p| {
            tl.samples
                .iter()
                .enumerate()
                .map(|(k, x)| {
                    let v = if bandwidth {
                        x.bytes.get(p).copied().unwrap_or(0) as f64 / MIB
                    } else {
                        x.ios.get(p).copied().unwrap_or(0) as f64
                    };
                    (at(k), if slice_s > 0.0 { v / slice_s } else { 0.0 })
                })
                .collect()
        })
        .collect();
    let top = per_path
        .iter()
        .flatten()
        .map(|p| p.1)
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let mean: Vec<Option<(f64, f64)>> = tl
        .samples
        .iter()
        .enumerate()
        .map(|(k, x)| {
            (x.completed > 0).then(|| {
                (
                    at(k),
                    (x.latency_sum_us as f64 / x.completed as f64).max(1.0),
                )
            })
        })
        .collect();
    let max: Vec<Option<(f64, f64)>> = tl
        .samples
        .iter()
        .enumerate()
        .map(|(k, x)| (x.completed > 0).then(|| (at(k), (x.latency_max_us as f64).max(1.0))))
        .collect();
    let lat_top = max.iter().flatten().map(|p| p.1).fold(10.0_f64, f64::max) * 2.0;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        let title = format!(
            "{}: policy {}, seed {}, {} paths, {} outstanding",
            s.name,
            s.policy.name(),
            r.seed,
            paths,
            s.workload.queue_depth
        );
        let root = root
            .titled(&title, ("sans-serif", 20))
            .map_err(drawing_error)?;
        let (upper, lower) = root.split_vertically(SIZE.1 / 2 - 20);

        let mut c = ChartBuilder::on(&upper)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .caption(format!("throughput per path ({unit})"), ("sans-serif", 16))
            .build_cartesian_2d(0.0..end_ms, 0.0..top)
            .map_err(drawing_error)?;
        c.configure_mesh()
            .x_desc("virtual time (ms)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(unit)
            .draw()
            .map_err(drawing_error)?;
        for (p, pts) in per_path.into_iter().enumerate() {
            let color = Palette99::pick(p).to_rgba();
            c.draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(drawing_error)?
                .label(format!("path {p}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        faults_and_legend(&mut c, &marks, 0.0, top)?;

        let mut c = ChartBuilder::on(&lower)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .caption(
                "latency of the I/O completed per slice (µs, log)",
                ("sans-serif", 16),
            )
            .build_cartesian_2d(0.0..end_ms, (1.0..lat_top).log_scale())
            .map_err(drawing_error)?;
        c.configure_mesh()
            .x_desc("virtual time (ms)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("µs")
            .draw()
            .map_err(drawing_error)?;
        for (name, pts, color) in [("mean", &mean, BLUE), ("max", &max, MAGENTA)] {
            let mut first = true;
            for run in runs(pts) {
                let series = c
                    .draw_series(LineSeries::new(run, color.stroke_width(2)))
                    .map_err(drawing_error)?;
                if first {
                    series
                        .label(name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                    first = false;
                }
            }
        }
        faults_and_legend(&mut c, &marks, 1.0, lat_top)?;
        root.present().map_err(drawing_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_split_a_line() {
        let pts = [
            Some((0.0, 1.0)),
            None,
            None,
            Some((3.0, 2.0)),
            Some((4.0, 2.0)),
        ];
        assert_eq!(
            runs(&pts),
            vec![vec![(0.0, 1.0)], vec![(3.0, 2.0), (4.0, 2.0)]]
        );
        assert!(runs(&[None]).is_empty());
    }

    #[test]
    fn faults_at_one_moment_share_a_mark() {
        let m = fault_marks(&crate::builtin::all_paths_down());
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1, "link-down path 0; link-down path 1");
    }
}
