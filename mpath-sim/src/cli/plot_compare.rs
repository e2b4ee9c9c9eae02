//! `compare --svg`: one bar per selector in three charts, one above the
//! other: throughput as % of the fabric's ideal (the line at 100 % is the
//! ideal), p99 latency, and I/O failed upward.
//!
//! Floating point is fine here: this is drawing, not the core.

use plotters::prelude::*;

use super::compare::Comparison;
use super::plot_timeline::drawing_error;
use super::CliError;

const SIZE: (u32, u32) = (1000, 900);

/// One chart: `values` per selector, labelled with `fmt`.
fn bars(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    names: &[String],
    values: &[f64],
    reference: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> Result<(), CliError> {
    let n = u32::try_from(names.len()).unwrap_or(u32::MAX);
    let top = values
        .iter()
        .copied()
        .chain(reference)
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.2;
    let mut c = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .caption(caption, ("sans-serif", 16))
        .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0.0..top)
        .map_err(drawing_error)?;
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(names.len().max(1))
        .x_label_formatter(&label)
        .y_label_formatter(&|v| {
            if top < 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        })
        .draw()
        .map_err(drawing_error)?;
    for (i, &v) in values.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let color = Palette99::pick(i as usize).to_rgba();
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), v),
            ],
            color.filled(),
        );
        bar.set_margin(0, 0, 14, 14);
        c.draw_series(std::iter::once(bar)).map_err(drawing_error)?;
        c.draw_series(std::iter::once(
            EmptyElement::at((SegmentValue::CenterOf(i), v))
                + Text::new(fmt(v), (-20, -16), ("sans-serif", 13).into_font()),
        ))
        .map_err(drawing_error)?;
    }
    if let Some(r) = reference {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(SegmentValue::Exact(0), r), (SegmentValue::Last, r)],
            BLACK.stroke_width(1),
        )))
        .map_err(drawing_error)?;
    }
    Ok(())
}

/// The comparison as an SVG document.
pub fn compare_svg(c: &Comparison) -> Result<String, CliError> {
    let names: Vec<String> = c.rows.iter().map(|r| r.policy.clone()).collect();
    let pct: Vec<f64> = c
        .rows
        .iter()
        .map(|r| r.percent_of_ideal.unwrap_or(0.0))
        .collect();
    let p99: Vec<f64> = c.rows.iter().map(|r| r.p99_us as f64).collect();
    let failed: Vec<f64> = c.rows.iter().map(|r| r.failed_upward as f64).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        let root = root
            .titled(
                &format!("{}: every selector, seed {}", c.scenario, c.seed),
                ("sans-serif", 20),
            )
            .map_err(drawing_error)?;
        let panels = root.split_evenly((3, 1));
        let ideal = c
            .ideal_iops
            .map_or_else(String::new, |i| format!(" (100 % = {i:.0} IOPS)"));
        bars(
            &panels[0],
            &format!("throughput, % of the fabric's ideal{ideal}"),
            &names,
            &pct,
            c.ideal_iops.map(|_| 100.0),
            &|v| format!("{v:.1} %"),
        )?;
        bars(&panels[1], "p99 latency (µs)", &names, &p99, None, &|v| {
            format!("{v:.0} µs")
        })?;
        bars(
            &panels[2],
            "I/O failed upward",
            &names,
            &failed,
            None,
            &|v| format!("{v:.0}"),
        )?;
        root.present().map_err(drawing_error)?;
    }
    Ok(svg)
}
