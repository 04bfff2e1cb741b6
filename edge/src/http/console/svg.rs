//! Charts drawn on the server as SVG: a page needs no script to show them and the binary carries
//! no chart library. Only numbers go into the markup (labels are escaped), so a chart cannot
//! carry a visitor's text into the page.

use std::fmt::Write;

/// Escapes text for an SVG `<title>`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Small bars, one per day, for a table row: the last two weeks at a glance.
pub fn sparkline(values: &[u32]) -> String {
    let width = 4 * values.len().max(1);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg class="spark" viewBox="0 0 {width} 16" width="{width}" height="16" role="img" aria-label="{}">"#,
        values
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (i, v) in values.iter().enumerate() {
        let h = if *v == 0 {
            1.0
        } else {
            (f64::from(*v) / max * 15.0).max(2.0)
        };
        let class = if *v == 0 { "zero" } else { "on" };
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{}" y="{:.1}" width="3" height="{h:.1}"/>"#,
            i * 4,
            16.0 - h
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Labelled bars: daily activity on a company page.
pub fn bars(points: &[(String, u32)]) -> String {
    let n = points.len().max(1);
    let bar = 18usize;
    let width = n * bar;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg class="bars" viewBox="0 0 {width} 80" preserveAspectRatio="xMinYMid meet" role="img">"#
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let h = (f64::from(*v) / max * 60.0).max(if *v == 0 { 0.0 } else { 2.0 });
        let x = i * bar;
        let _ = write!(
            svg,
            r#"<g><title>{} : {v}</title><rect x="{}" y="{:.1}" width="{}" height="{h:.1}"/>"#,
            escape(label),
            x + 2,
            64.0 - h,
            bar - 4
        );
        if n <= 16 || i % (n / 8).max(1) == 0 {
            let _ = write!(
                svg,
                r#"<text x="{}" y="76" font-size="7" text-anchor="middle">{}</text>"#,
                x + bar / 2,
                escape(label)
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// A conversion rate with its 95 % interval, on a 0 to `scale` axis: a marketer sees at once
/// whether a variant's interval clears the holdout's.
pub fn interval(rate: f64, low: f64, high: f64, scale: f64, holdout: Option<f64>) -> String {
    let scale = scale.max(1e-9);
    let x = |v: f64| (v / scale).clamp(0.0, 1.0) * 200.0;
    let mut svg = String::from(
        r#"<svg class="interval" viewBox="0 0 200 16" width="200" height="16" role="img">"#,
    );
    if let Some(h) = holdout {
        let _ = write!(
            svg,
            r#"<line class="holdout" x1="{0:.1}" x2="{0:.1}" y1="0" y2="16"/>"#,
            x(h)
        );
    }
    let _ = write!(
        svg,
        r#"<rect class="ci" x="{:.1}" y="5" width="{:.1}" height="6"/><circle cx="{:.1}" cy="8" r="3"/></svg>"#,
        x(low),
        (x(high) - x(low)).max(1.0),
        x(rate)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_charts_hold_only_numbers_besides() {
        let svg = bars(&[("<script>".into(), 3), ("b".into(), 0)]);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        let spark = sparkline(&[0, 2, 4]);
        assert_eq!(spark.matches("<rect").count(), 3);
        assert!(interval(0.1, 0.05, 0.2, 0.4, Some(0.08)).contains("holdout"));
    }
}
