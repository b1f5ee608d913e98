//! The view's controller: the state, the decision page when one is open, the status line,
//! and what each key does. No terminal here, so keys are tested as plain values.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[cfg(test)]
use super::event::Event;
use super::source::SourceMessage;
use super::state::TopState;

/// An opened decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// The decision's index.
    pub(crate) index: u64,
    /// Its lines.
    pub(crate) lines: Vec<String>,
    /// The first line shown.
    pub(crate) scroll: u16,
}

/// What a key asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOutcome {
    /// Nothing more to do.
    Handled,
    /// Open the selected decision (the loop fetches its page).
    Open(u64),
    /// Quit.
    Quit,
}

/// The view's controller.
#[derive(Debug)]
pub(crate) struct App {
    /// The live state.
    pub(crate) state: TopState,
    /// The opened decision, if any.
    pub(crate) page: Option<Page>,
    /// The source's last status line.
    pub(crate) status: String,
    /// What the source is (`DIR` or `URL` as given).
    pub(crate) source: String,
}

impl App {
    /// A controller over `state` for `source`.
    pub(crate) fn new(state: TopState, source: String) -> Self {
        Self {
            state,
            page: None,
            status: String::new(),
            source,
        }
    }

    /// Applies a source's message, received at `now_ns`.
    pub(crate) fn receive(&mut self, message: SourceMessage, now_ns: u64) {
        match message {
            SourceMessage::Events(events) => {
                for event in events {
                    self.state.apply(event, now_ns);
                }
            }
            SourceMessage::BacklogDone => self.state.backlog_done(now_ns),
            SourceMessage::Status(line) => self.status = line,
        }
    }

    /// Applies one event (tests).
    #[cfg(test)]
    pub(crate) fn apply(&mut self, event: Event, now_ns: u64) {
        self.state.apply(event, now_ns);
    }

    /// What `key` does.
    pub(crate) fn key(&mut self, key: KeyEvent) -> KeyOutcome {
        if key.kind == KeyEventKind::Release {
            return KeyOutcome::Handled;
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if control => return KeyOutcome::Quit,
            KeyCode::Char('q') => return KeyOutcome::Quit,
            _ => {}
        }
        if let Some(page) = &mut self.page {
            match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('o') | KeyCode::Backspace => {
                    self.page = None;
                }
                KeyCode::Down | KeyCode::Char('j') => page.scroll = page.scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => page.scroll = page.scroll.saturating_sub(1),
                KeyCode::PageDown => page.scroll = page.scroll.saturating_add(10),
                KeyCode::PageUp => page.scroll = page.scroll.saturating_sub(10),
                _ => {}
            }
            return KeyOutcome::Handled;
        }
        match key.code {
            KeyCode::Esc => return KeyOutcome::Quit,
            KeyCode::Char('p') | KeyCode::Char(' ') => self.state.toggle_pause(),
            KeyCode::Char('f') => self.state.cycle_decision_filter(),
            KeyCode::Char('l') => self.state.cycle_level_filter(),
            KeyCode::Down | KeyCode::Char('j') => self.state.move_selection(true),
            KeyCode::Up | KeyCode::Char('k') => self.state.move_selection(false),
            KeyCode::Home | KeyCode::Char('g') => {
                while self.state.selected().is_some() {
                    self.state.move_selection(false);
                }
            }
            KeyCode::Enter | KeyCode::Char('o') => {
                let index = self
                    .state
                    .selected_row()
                    .or_else(|| self.state.visible().next())
                    .map(|row| row.index);
                if let Some(index) = index {
                    return KeyOutcome::Open(index);
                }
            }
            _ => {}
        }
        KeyOutcome::Handled
    }

    /// The page of decision `index` from what the state kept, `None` when the source kept
    /// nothing (the loop then asks the server).
    pub(crate) fn kept_page(&self, index: u64) -> Option<Vec<String>> {
        let row = self.state.visible().find(|r| r.index == index)?;
        row.detail.as_ref().map(|detail| detail.lines(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::top::event::{Budget, DecisionEvent};

    fn press(app: &mut App, code: KeyCode) -> KeyOutcome {
        app.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn app_with(n: u64) -> App {
        let mut app = App::new(TopState::new(Budget::default()), "test".into());
        for index in 0..n {
            app.apply(
                Event::Decision(DecisionEvent {
                    index,
                    decision: if index % 2 == 0 { "A" } else { "B" }.into(),
                    ..DecisionEvent::default()
                }),
                0,
            );
        }
        app
    }

    #[test]
    fn q_escape_and_control_c_quit() {
        let mut app = app_with(1);
        assert_eq!(press(&mut app, KeyCode::Char('q')), KeyOutcome::Quit);
        assert_eq!(press(&mut app, KeyCode::Esc), KeyOutcome::Quit);
        assert_eq!(
            app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            KeyOutcome::Quit
        );
        assert_eq!(press(&mut app, KeyCode::Char('c')), KeyOutcome::Handled);
    }

    #[test]
    fn keys_pause_filter_select_and_open() {
        let mut app = app_with(4);
        press(&mut app, KeyCode::Char(' '));
        assert!(app.state.is_paused());
        press(&mut app, KeyCode::Char('p'));
        assert!(!app.state.is_paused());
        // Enter with no selection opens the newest decision.
        assert_eq!(press(&mut app, KeyCode::Enter), KeyOutcome::Open(3));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Down);
        assert_eq!(app.state.selected(), Some(2));
        assert_eq!(press(&mut app, KeyCode::Char('o')), KeyOutcome::Open(2));
        press(&mut app, KeyCode::Char('k'));
        assert_eq!(app.state.selected(), Some(3));
        press(&mut app, KeyCode::Char('g'));
        assert_eq!(app.state.selected(), None);
        press(&mut app, KeyCode::Char('f'));
        assert!(app.state.visible().all(|r| r.decision == "A"));
        press(&mut app, KeyCode::Char('l'));
        assert!(app.state.level_filter().is_some());
    }

    #[test]
    fn an_open_page_takes_escape_and_scroll_keys_first() {
        let mut app = app_with(1);
        app.page = Some(Page {
            index: 0,
            lines: vec!["a".into(); 40],
            scroll: 0,
        });
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.page.as_ref().map(|p| p.scroll), Some(11));
        // Escape closes the page, not the program; the list keys do nothing meanwhile.
        press(&mut app, KeyCode::Char('p'));
        assert!(!app.state.is_paused());
        assert_eq!(press(&mut app, KeyCode::Esc), KeyOutcome::Handled);
        assert_eq!(app.page, None);
        assert_eq!(press(&mut app, KeyCode::Esc), KeyOutcome::Quit);
    }
}
