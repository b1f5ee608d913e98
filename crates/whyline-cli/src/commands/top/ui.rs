//! Drawing the view: the header bars, the latest decisions, the open alerts, the status and
//! key lines, and an opened decision's page over them.
//!
//! Colour never carries meaning alone (colour-blind users, monochrome terminals): a bar over
//! budget says `OVER`, a low confidence `LOW`, an anomalous decision has a `!` and its
//! anomalies in words, alert levels have a shape and a word (`▲ WARN`, `◆ CRIT`, `■ STOP`).
//! The colours used are blue for "within budget" and yellow/magenta for "look here", a pair
//! the common forms of colour blindness tell apart, instead of green and red.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::app::App;
use super::event::{AlertLevel, DecisionEvent};
use super::state::{DecisionFilter, Figures};

const OK: Style = Style::new().fg(Color::Blue);
const LOOK: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
const STOP: Style = Style::new()
    .fg(Color::Magenta)
    .add_modifier(Modifier::BOLD.union(Modifier::REVERSED));
const DIM: Style = Style::new().add_modifier(Modifier::DIM);

/// Draws the whole view at `now_ns`.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &mut App, now_ns: u64) {
    let [header, decisions, alerts, footer] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(5),
        Constraint::Length(8),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    let figures = app.state.figures(now_ns);
    draw_header(frame, app, &figures, header);
    draw_decisions(frame, app, decisions);
    draw_alerts(frame, app, alerts);
    draw_footer(frame, app, footer);
    if let Some(page) = &app.page {
        let area = frame.area();
        let page_area = Rect {
            x: area.x + 2,
            y: area.y + 1,
            width: area.width.saturating_sub(4),
            height: area.height.saturating_sub(2),
        };
        frame.render_widget(Clear, page_area);
        let lines: Vec<Line<'_>> = page.lines.iter().map(|l| Line::raw(l.as_str())).collect();
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((page.scroll, 0))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(format!(" decision {} ", page.index))
                        .title_bottom(" Esc/Enter close · ↑↓ j/k PgUp/PgDn scroll · q quit "),
                ),
            page_area,
        );
    }
}

/// A bar of `width` cells filled to `ratio` (clamped to 0..=1).
fn bar(ratio: f64, width: usize) -> String {
    let filled = if ratio.is_finite() {
        ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width)
    } else {
        0
    };
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn micros(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 10_000.0 => format!("{:.1} ms", v / 1_000.0),
        Some(v) => format!("{v:.1} µs"),
        None => "–".to_owned(),
    }
}

fn draw_header(frame: &mut Frame<'_>, app: &App, figures: &Figures, area: Rect) {
    let budget = app.state.budget();
    let width = usize::from(area.width.saturating_sub(60)).clamp(10, 50);
    let (decisions, alerts_seen) = app.state.totals();
    let [warn, crit, stop] = app.state.alert_counts();
    let mut first = vec![
        Span::styled(
            format!("decisions/s {:>10.1}", figures.decisions_per_s),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("   received {decisions}")),
    ];
    if let Some(entries) = app.state.server_entries() {
        first.push(Span::raw(format!("   ledger {entries} entries")));
    }
    if let Some((sampled, seen)) = figures.sampling {
        first.push(Span::raw(format!("   sampled {sampled} of {seen}/s")));
    }
    first.push(Span::raw(format!("   alerts {alerts_seen}: ")));
    first.push(Span::styled(
        format!("▲{warn} "),
        if warn > 0 { LOOK } else { DIM },
    ));
    first.push(Span::styled(
        format!("◆{crit} "),
        if crit > 0 { LOOK } else { DIM },
    ));
    first.push(Span::styled(
        format!("■{stop}"),
        if stop > 0 { STOP } else { DIM },
    ));
    if app.state.is_paused() {
        first.push(Span::styled(
            format!("   ‖ PAUSED ({} held)", app.state.held_back()),
            LOOK,
        ));
    } else {
        first.push(Span::styled("   ▶ LIVE", OK));
    }

    let p99_over = figures
        .latency_p99_us
        .is_some_and(|p99| p99 > budget.latency_p99_us);
    let latency_ratio = figures.latency_p99_us.unwrap_or(0.0) / budget.latency_p99_us.max(1e-9);
    let latency = Line::from(vec![
        Span::raw(format!(
            "latency p50 {:>10}  p99 {:>10} ",
            micros(figures.latency_p50_us),
            micros(figures.latency_p99_us)
        )),
        Span::styled(bar(latency_ratio, width), if p99_over { LOOK } else { OK }),
        Span::raw(format!(
            " budget p99 {} ",
            micros(Some(budget.latency_p99_us))
        )),
        if figures.latency_p99_us.is_none() {
            Span::styled("", DIM)
        } else if p99_over {
            Span::styled("OVER", LOOK)
        } else {
            Span::styled("ok", OK)
        },
    ]);
    let low = figures
        .mean_confidence
        .is_some_and(|c| c < budget.min_confidence);
    let confidence = Line::from(vec![
        Span::raw(format!(
            "mean confidence {:>5}               ",
            figures
                .mean_confidence
                .map_or("–".to_owned(), |c| format!("{c:.2}"))
        )),
        Span::styled(
            bar(figures.mean_confidence.unwrap_or(0.0), width),
            if low { LOOK } else { OK },
        ),
        Span::raw(format!(" minimum {:.2}     ", budget.min_confidence)),
        if figures.mean_confidence.is_none() {
            Span::styled("", DIM)
        } else if low {
            Span::styled("LOW", LOOK)
        } else {
            Span::styled("ok", OK)
        },
    ]);
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), latency, confidence]).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" whyline top · {} ", app.source)),
        ),
        area,
    );
}

/// `HH:MM:SS.mmm` of a time in nanoseconds (UTC).
fn time_of_day(time_ns: u64) -> String {
    if time_ns == 0 {
        return "–".to_owned();
    }
    let text = whyline_forensics::format_time_ns(time_ns);
    match text.split_once('T') {
        Some((_, time)) => time.chars().take(12).collect(),
        None => text,
    }
}

fn top_text(row: &DecisionEvent) -> String {
    row.top
        .iter()
        .take(3)
        .map(|c| match c.contribution {
            Some(value) => format!("{} {value:+.2}", c.feature),
            None => c.feature.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn draw_decisions(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let selected = app.state.selected();
    let shown = usize::from(area.height.saturating_sub(3));
    let rows_all: Vec<&DecisionEvent> = app.state.visible().collect();
    // Keep the selected row on screen.
    let start = selected
        .and_then(|index| rows_all.iter().position(|r| r.index == index))
        .map_or(0, |at| at.saturating_sub(shown.saturating_sub(1)));
    let rows = rows_all.iter().skip(start).take(shown).map(|row| {
        let anomalous = !row.anomalies.is_empty();
        let marker = match (Some(row.index) == selected, anomalous) {
            (true, _) => "►",
            (false, true) => "!",
            (false, false) => " ",
        };
        let style = if Some(row.index) == selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else if anomalous {
            LOOK
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(marker),
            Cell::from(row.index.to_string()),
            Cell::from(time_of_day(row.time_ns)),
            Cell::from(row.decision.clone()),
            Cell::from(format!("{:.2}", row.confidence)),
            Cell::from(micros(Some(row.latency_us))),
            Cell::from(top_text(row)),
            Cell::from(if anomalous {
                format!("⚠ {}", row.anomalies.join(", "))
            } else {
                String::new()
            }),
        ])
        .style(style)
    });
    let filter = match app.state.decision_filter() {
        DecisionFilter::All => "all decisions".to_owned(),
        DecisionFilter::Only(name) => format!("only {name}"),
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(9),
            Constraint::Length(12),
            Constraint::Length(16),
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Fill(3),
            Constraint::Fill(2),
        ],
    )
    .header(
        Row::new(vec![
            "",
            "index",
            "time (UTC)",
            "decision",
            "conf",
            "latency",
            "top contributions",
            "anomalies",
        ])
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)),
    )
    .block(Block::default().borders(Borders::ALL).title(format!(
        " latest decisions ({filter}, {} shown) ",
        rows_all.len()
    )));
    frame.render_widget(table, area);
}

fn level_style(level: AlertLevel) -> Style {
    match level {
        AlertLevel::Warning | AlertLevel::Critical => LOOK,
        AlertLevel::Stop => STOP,
    }
}

fn draw_alerts(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let shown = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line<'_>> = app
        .state
        .open_alerts()
        .take(shown)
        .map(|alert| {
            Line::from(vec![
                Span::styled(alert.level.label(), level_style(alert.level)),
                Span::raw(format!(
                    "  {:>9}  {}  {:<22} {}",
                    alert
                        .index
                        .map_or("–".to_owned(), |index| format!("#{index}")),
                    time_of_day(alert.time_ns),
                    alert.rule,
                    alert.message
                )),
            ])
        })
        .collect();
    let level = match app.state.level_filter() {
        None => "every level".to_owned(),
        Some(level) => format!("{} and above", level.label()),
    };
    let lines = if lines.is_empty() {
        vec![Line::styled("no open alerts", DIM)]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" open alerts ({level}) ")),
        ),
        area,
    );
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let keys = "q quit · p/space pause · f filter decision · l filter alert level · ↑↓/j/k select · g newest · Enter/o open path";
    frame.render_widget(
        Paragraph::new(vec![Line::styled(app.status.clone(), DIM), Line::raw(keys)]),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::top::event::{Budget, Contribution, Event};
    use crate::commands::top::state::TopState;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(app: &mut App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        terminal.draw(|frame| draw(frame, app, 0)).expect("draw");
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_screen_shows_decisions_anomalies_in_words_and_the_budget_verdicts() {
        let mut app = App::new(TopState::new(Budget::default()), "ledger/".into());
        app.apply(
            Event::Decision(DecisionEvent {
                index: 41,
                decision: "SLOW_DOWN".into(),
                confidence: 0.42,
                latency_us: 2_000.0,
                top: vec![Contribution {
                    feature: "distance_m".into(),
                    contribution: Some(-0.41),
                }],
                anomalies: vec!["low_confidence".into()],
                ..DecisionEvent::default()
            }),
            0,
        );
        let text = screen(&mut app, 140, 30);
        assert!(text.contains("SLOW_DOWN"), "{text}");
        assert!(text.contains("distance_m -0.41"), "{text}");
        assert!(text.contains("⚠ low_confidence"), "{text}");
        assert!(text.contains("OVER"), "{text}");
        assert!(text.contains("LOW"), "{text}");
        assert!(text.contains("▶ LIVE"), "{text}");
        // A small terminal still draws (resize).
        let small = screen(&mut app, 40, 12);
        assert!(small.contains("whyline top"), "{small}");
    }

    #[test]
    fn bars_fill_to_their_ratio() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(3.0, 2), "██");
        assert_eq!(bar(f64::NAN, 2), "░░");
    }
}
