//! `whyline top DIR|URL`: the live view in a terminal (docs/top.md).
//!
//! A source thread follows a ledger directory another process is writing ([`dir`]) or a
//! server's event stream ([`url`]) and sends events; the main thread feeds them to the view's
//! state ([`state::TopState`]), reads keys ([`app::App`]) and redraws ([`ui`]) ten times a
//! second and on every key or resize. The terminal is put back as it was on `q`, Esc,
//! Ctrl-C, SIGTERM, SIGHUP (the SSH connection gone) and on a panic (ratatui's hook).

mod app;
mod dir;
mod event;
mod source;
mod state;
mod ui;
mod url;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use clap::Args;
use ratatui::crossterm::event as terminal_event;

use crate::Outcome;
use app::{App, KeyOutcome, Page};
use event::Budget;
use source::SourceMessage;
use state::TopState;

/// Arguments of `whyline top`.
#[derive(Debug, Args)]
pub(crate) struct TopArgs {
    /// A ledger directory (followed as another process appends to it), or a server's URL
    /// (`http://host:port`, `https://...`: its `GET /v1/stream`).
    target: String,
    /// The bearer token for a server (the `read` scope).
    #[arg(long, env = "WHYLINE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Read a directory's whole log at start (default: its last 1,024 to 2,047 entries).
    #[arg(long)]
    from_start: bool,
    /// The p99 latency budget the latency bar is drawn against, microseconds (a server's
    /// stats bring its profile's).
    #[arg(long, default_value_t = 1_000.0)]
    latency_budget_us: f64,
    /// The lowest acceptable confidence (decisions below it are marked `low_confidence`).
    #[arg(long, default_value_t = 0.6)]
    min_confidence: f64,
}

/// Where the events come from.
enum Target {
    Dir(dir::DirOptions),
    Url(url::UrlOptions),
}

impl TopArgs {
    fn target(&self) -> anyhow::Result<Target> {
        if !(self.latency_budget_us > 0.0 && self.latency_budget_us.is_finite()) {
            anyhow::bail!("--latency-budget-us must be a positive number of microseconds");
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            anyhow::bail!("--min-confidence must be within 0..=1");
        }
        let budget = Budget {
            latency_p99_us: self.latency_budget_us,
            min_confidence: self.min_confidence,
        };
        let lower = self.target.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if self.from_start {
                anyhow::bail!("--from-start reads a directory; a server replays its own window");
            }
            return Ok(Target::Url(url::UrlOptions {
                base: self.target.clone(),
                token: self.token.clone(),
            }));
        }
        let dir = PathBuf::from(&self.target);
        if !whyline_ledger::is_ledger_dir(&dir) {
            anyhow::bail!(
                "{} is not a ledger directory (no {}) nor an http(s):// URL",
                dir.display(),
                whyline_ledger::ENTRIES_FILE
            );
        }
        Ok(Target::Dir(dir::DirOptions {
            dir,
            from_start: self.from_start,
            budget,
        }))
    }
}

pub(crate) fn run(args: &TopArgs) -> anyhow::Result<Outcome> {
    let target = args.target()?;
    let budget = Budget {
        latency_p99_us: args.latency_budget_us,
        min_confidence: args.min_confidence,
    };
    let stop = Arc::new(AtomicBool::new(false));
    // SIGTERM, SIGHUP and SIGINT (raw mode reads Ctrl-C as a key; `kill -INT` still comes
    // as a signal) end the loop, which restores the terminal.
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let (sender, receiver) = mpsc::sync_channel(QUEUED_BATCHES);
    let source_stop = Arc::clone(&stop);
    let url_options = match &target {
        Target::Url(options) => Some(options.clone()),
        Target::Dir(_) => None,
    };
    // The source thread is not joined: a blocking read of a quiet stream would hold the
    // exit up. It ends with the process.
    std::thread::Builder::new()
        .name("whyline-top-source".into())
        .spawn(move || {
            let result = match &target {
                Target::Dir(options) => dir::follow(options, &sender, &source_stop),
                Target::Url(options) => url::follow(options, &sender, &source_stop),
            };
            if let Err(error) = result {
                let _ = sender.send(SourceMessage::Status(format!("stopped: {error:#}")));
            }
        })?;
    let mut app = App::new(TopState::new(budget), args.target.clone());
    let mut terminal = ratatui::try_init()?;
    let result = run_loop(
        &mut terminal,
        &mut app,
        &receiver,
        &stop,
        url_options.as_ref(),
    );
    stop.store(true, Ordering::Relaxed);
    ratatui::try_restore()?;
    result?;
    Ok(Outcome::Clean)
}

/// Redraws this often (and at once after a key).
const FRAME: Duration = Duration::from_millis(100);
/// The longest a wait for a key lasts while no event is pending.
const KEY_WAIT: Duration = Duration::from_millis(20);
/// Batches of events the source may be ahead of the view: past it the source waits (its
/// memory stays bounded; it falls behind the writer instead).
pub(crate) const QUEUED_BATCHES: usize = 16;

fn run_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    receiver: &Receiver<SourceMessage>,
    stop: &AtomicBool,
    url_options: Option<&url::UrlOptions>,
) -> anyhow::Result<()> {
    let clock = Instant::now();
    let now_ns = || u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut source_gone = false;
    let mut next_draw = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // Events until the queue is empty or a frame is due.
        let mut pending = false;
        while !source_gone {
            match receiver.try_recv() {
                Ok(message) => app.receive(message, now_ns()),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => source_gone = true,
            }
            if Instant::now() >= next_draw {
                pending = true;
                break;
            }
        }
        if Instant::now() >= next_draw {
            terminal.draw(|frame| ui::draw(frame, app, now_ns()))?;
            next_draw = Instant::now() + FRAME;
        }
        // Keys and resizes (the next frame follows the new size).
        let wait = if pending {
            Duration::ZERO
        } else {
            next_draw
                .saturating_duration_since(Instant::now())
                .min(KEY_WAIT)
        };
        if !terminal_event::poll(wait)? {
            continue;
        }
        match terminal_event::read()? {
            terminal_event::Event::Key(key) => match app.key(key) {
                KeyOutcome::Handled => {}
                KeyOutcome::Quit => return Ok(()),
                KeyOutcome::Open(index) => {
                    let lines = match (app.kept_page(index), url_options) {
                        (Some(lines), _) => lines,
                        (None, Some(options)) => url::fetch_path(options, index)
                            .unwrap_or_else(|error| vec![format!("{error:#}")]),
                        (None, None) => vec![format!("decision {index}: its path was not kept")],
                    };
                    app.page = Some(Page {
                        index,
                        lines,
                        scroll: 0,
                    });
                }
            },
            terminal_event::Event::Resize(_, _) => {}
            terminal_event::Event::FocusGained
            | terminal_event::Event::FocusLost
            | terminal_event::Event::Mouse(_)
            | terminal_event::Event::Paste(_) => continue,
        }
        next_draw = Instant::now();
    }
    Ok(())
}
