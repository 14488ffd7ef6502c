//! probe-rs's own log, for a probe that is not found or a chip that does not answer:
//! `-v` (info), `-vv` (debug), `-vvv` (trace) or `RUST_LOG` (`debug`, `probe_rs=trace`,
//! `warn,probe_rs::flashing=debug`, as env_logger and probe-rs read it) choose what is
//! shown, on standard error or, with `--log-file FILE`, appended to that file for a
//! support ticket. A small `tracing` subscriber of its own: probe-rs logs through
//! `tracing`, and no formatting crate is needed for lines this plain.

use hexsmith::output::{AppendFile, OutputError};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// How verbose, from 1 (errors) to 5 (trace); 0 is off.
fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn parse_level(text: &str) -> Option<u8> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "off" => 0,
        "error" => 1,
        "warn" => 2,
        "info" => 3,
        "debug" => 4,
        "trace" => 5,
        _ => return None,
    })
}

/// What to show: a level for every target, and levels for targets by prefix (the longest
/// that matches wins), as `RUST_LOG` says them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    default: u8,
    targets: Vec<(String, u8)>,
}

impl Filter {
    /// `RUST_LOG`'s syntax: comma-separated `LEVEL` or `TARGET=LEVEL` or `TARGET` (all of
    /// it). Err names the piece that is neither.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut filter = Filter {
            default: 0,
            targets: Vec::new(),
        };
        for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match piece.split_once('=') {
                Some((target, level)) => {
                    let level = parse_level(level)
                        .ok_or_else(|| format!("{piece:?}: {level:?} is not a level"))?;
                    filter.targets.push((target.trim().to_string(), level));
                }
                None => match parse_level(piece) {
                    Some(level) => filter.default = level,
                    None => filter.targets.push((piece.to_string(), 5)),
                },
            }
        }
        Ok(filter)
    }

    /// Everything at `level` and more severe.
    fn everything(level: u8) -> Filter {
        Filter {
            default: level,
            targets: Vec::new(),
        }
    }

    fn allows(&self, target: &str, level: &Level) -> bool {
        let wanted = self
            .targets
            .iter()
            .filter(|(prefix, _)| {
                target == prefix
                    || target
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with("::"))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, l)| *l);
        rank(level) <= wanted
    }

    fn most(&self) -> u8 {
        self.targets
            .iter()
            .map(|(_, l)| *l)
            .chain([self.default])
            .max()
            .unwrap_or(0)
    }
}

enum Sink {
    Stderr,
    File(AppendFile),
}

struct Logger {
    filter: Filter,
    sink: Mutex<Sink>,
    next_span: AtomicU64,
}

/// Turns the log on as asked; nothing when neither `-v`, `RUST_LOG` nor `--log-file` asks.
/// A log file is opened by the rules every output follows (never an input, a link or a
/// special file) and every line is synced as written: a run that crashes keeps its log.
pub fn init(verbose: u8, log_file: Option<&Path>) -> anyhow::Result<()> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match (&from_env, verbose) {
        (Some(text), 0) => {
            Filter::parse(text).map_err(|e| crate::Usage(format!("RUST_LOG={text}: {e}")))?
        }
        (_, 0) if log_file.is_some() => Filter::everything(4),
        (_, 0) => return Ok(()),
        (_, v) => Filter::everything((2 + v).min(5)),
    };
    let sink = match log_file {
        Some(path) => Sink::File(AppendFile::open(path, [])?),
        None => Sink::Stderr,
    };
    let logger = Logger {
        filter,
        sink: Mutex::new(sink),
        next_span: AtomicU64::new(1),
    };
    tracing::subscriber::set_global_default(logger)
        .map_err(|e| anyhow::anyhow!("the log could not be set up: {e}"))?;
    Ok(())
}

/// The fields of one event as `message key=value ...`.
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.allows(metadata.target(), metadata.level())
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        use tracing::level_filters::LevelFilter;
        Some(match self.filter.most() {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = Line(format!(
            "{} {} {}:",
            humantime::format_rfc3339_millis(std::time::SystemTime::now()),
            metadata.level(),
            metadata.target()
        ));
        event.record(&mut line);
        let text = hexsmith::escape_controls(&line.0).into_owned();
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *sink {
            Sink::Stderr => eprintln!("{text}"),
            Sink::File(file) => {
                if let Err(e) = file.append_line(&text) {
                    // The log is for diagnosis: a failure to keep it must not end the run.
                    let e: OutputError = e;
                    eprintln!("warning: log file: {e}");
                    *sink = Sink::Stderr;
                }
            }
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_levels_and_targets() {
        let f = Filter::parse("warn,probe_rs::flashing=debug,hexsmith").unwrap();
        assert!(f.allows("probe_rs::probe", &Level::WARN));
        assert!(!f.allows("probe_rs::probe", &Level::INFO));
        assert!(f.allows("probe_rs::flashing::loader", &Level::DEBUG));
        assert!(!f.allows("probe_rs::flashing", &Level::TRACE));
        assert!(f.allows("hexsmith::flash", &Level::TRACE));
        assert!(!f.allows("probe_rsx", &Level::ERROR) || f.allows("probe_rsx", &Level::WARN));
        assert_eq!(f.most(), 5);
        assert!(Filter::parse("probe_rs=loud").unwrap_err().contains("loud"));
        assert_eq!(Filter::parse("off").unwrap().most(), 0);
    }
}
