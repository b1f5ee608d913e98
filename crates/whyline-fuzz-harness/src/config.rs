//! The TOML safety-profile loader.

use std::path::Path;

use whyline_monitor::MonitorSettings;

use crate::{Outcome, message};

/// Loads the bytes as a profile (`--profile FILE`), validates it and builds its Andon rules.
pub fn profile(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let settings =
        MonitorSettings::from_toml(text, Path::new("fuzz.toml")).map_err(|e| message(&e))?;
    settings.validate().map_err(|e| message(&e))?;
    settings.build_andon().map_err(|e| message(&e))?;
    Ok(())
}
