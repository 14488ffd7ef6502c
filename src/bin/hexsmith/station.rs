//! What a station shows: on a terminal, a screen redrawn in place (`station_screen`) with
//! PASS or FAIL in letters large enough to read from a metre away; elsewhere one plain line
//! per board; and a summary at the end. The loop itself is `hexsmith::flash::station`.

use crate::out::outln;
use crate::station_screen::Screen;
use hexsmith::flash::station::{StationObserver, StationSummary};
use hexsmith::flash::{
    DeviceError, DeviceEvent, DeviceResult, FlashJob, LogError, LogWriter, Outcome, error_chain,
};
use indicatif::MultiProgress;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Display<'a> {
    /// The fixture's name: its probe, never the board last flashed on it.
    pub label: String,
    /// This fixture's place on the screen.
    pub fixture: usize,
    /// The screen, when standard error is a terminal (and not --json).
    pub screen: Option<&'a Screen>,
    /// Whether each board's line also goes to standard output: not when standard output
    /// is the terminal the screen is drawn on.
    pub lines_to_stdout: bool,
    pub events: Box<dyn FnMut(DeviceEvent) + Send>,
    pub json: bool,
    pub bars: MultiProgress,
    pub log: Option<&'a Mutex<LogWriter>>,
    /// A log that cannot be written stops the station: every attempt must be recorded.
    pub log_failed: &'a Mutex<Option<LogError>>,
    pub cancel: &'a AtomicBool,
    pub job: &'a FlashJob,
}

impl StationObserver for Display<'_> {
    fn waiting(&mut self, reason: Option<&DeviceError>) {
        if self.json {
            return;
        }
        if let Some(screen) = self.screen {
            screen.waiting(self.fixture, reason.map(|e| error_chain(e)));
            return;
        }
        let text = match reason {
            Some(e) => format!("{}: waiting for a device ({})", self.label, error_chain(e)),
            None => format!("{}: waiting for the next device", self.label),
        };
        let text = hexsmith::escape_controls(&text);
        self.bars.suspend(|| eprintln!("{text}"));
    }

    fn event(&mut self, event: DeviceEvent) {
        match (self.screen, event) {
            (Some(screen), DeviceEvent::Connected { .. }) => screen.started(self.fixture),
            (Some(screen), DeviceEvent::DeviceId(id)) => screen.device_id(self.fixture, id),
            (Some(screen), DeviceEvent::Progress(e)) => screen.progress(self.fixture, e),
            (None, event) => (self.events)(event),
        }
    }

    fn finished(&mut self, result: &DeviceResult) {
        let line = result.log_line(self.job, result.finished);
        if let Some(log) = self.log {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = log.append(&line) {
                self.bars.suspend(|| {
                    eprintln!("error: {}", hexsmith::escape_controls(&error_chain(&e)))
                });
                *self.log_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                self.cancel.store(true, Ordering::SeqCst);
            }
        }
        if let Some(screen) = self.screen {
            screen.finished(self.fixture, result);
        }
        let text = if self.json {
            serde_json::to_string(&line).unwrap_or_default()
        } else {
            board_line(result)
        };
        if self.screen.is_none() || self.lines_to_stdout {
            self.bars.suspend(|| outln!("{text}"));
        }
    }
}

/// One board in one line: the verdict, the device, where and how long, and for a failure
/// its reason.
pub fn board_line(result: &DeviceResult) -> String {
    let word = match result.result {
        Outcome::Ok => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Interrupted => "STOP",
    };
    let mut out = String::new();
    let id = result.device_id.as_deref().unwrap_or("(no device ID)");
    let id = match &result.mac {
        Some(mac) => format!("{id} (Wi-Fi MAC {mac})"),
        None => id.to_string(),
    };
    out.push_str(&format!(
        "{word} {id} on {} in {:.1} s: {} units written, {} skipped{}",
        result.probe,
        result.seconds,
        result.report.units_written,
        result.report.units_skipped,
        if result.report.verified {
            ", verified"
        } else {
            ""
        }
    ));
    if let Some(e) = &result.error {
        out.push_str(&format!(": {}", error_chain(e)));
    }
    hexsmith::escape_controls(&out).into_owned()
}

/// Five rows of block letters for the few words a station shows.
pub fn banner(word: &str) -> [String; 5] {
    let glyph = |c: char| -> [&str; 5] {
        match c {
            'P' => ["█████ ", "██  ██", "█████ ", "██    ", "██    "],
            'A' => [" ████ ", "██  ██", "██████", "██  ██", "██  ██"],
            'S' => [" █████", "██    ", " ████ ", "    ██", "█████ "],
            'F' => ["██████", "██    ", "█████ ", "██    ", "██    "],
            'I' => ["██████", "  ██  ", "  ██  ", "  ██  ", "██████"],
            'L' => ["██    ", "██    ", "██    ", "██    ", "██████"],
            'T' => ["██████", "  ██  ", "  ██  ", "  ██  ", "  ██  "],
            'O' => [" ████ ", "██  ██", "██  ██", "██  ██", " ████ "],
            _ => ["      "; 5],
        }
    };
    std::array::from_fn(|row| {
        word.chars()
            .map(|c| glyph(c)[row])
            .collect::<Vec<_>>()
            .join("  ")
    })
}

pub fn summary_text(s: &StationSummary) -> String {
    let mean = s
        .mean_seconds
        .map_or("-".to_string(), |m| format!("{m:.1} s"));
    format!(
        "station: {} devices, {} passed, {} failed, {} interrupted; mean {mean} per device",
        s.devices, s.passed, s.failed, s.interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_five_rows_of_block_letters() {
        let rows = banner("FAIL");
        assert!(rows.iter().all(|r| r.chars().count() == 4 * 6 + 3 * 2));
        assert_eq!(rows[0], "██████   ████   ██████  ██    ");
        assert_eq!(rows[4], "██      ██  ██  ██████  ██████");
        let pass = banner("PASS");
        assert_ne!(pass, rows);
        assert!(pass.iter().all(|r| r.contains('█')));
    }
}
