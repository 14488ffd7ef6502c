//! The station's screen on a terminal: one frame redrawn in place (never scrolling), with
//! what an operator on the line needs at a glance: each fixture's board (waiting, writing
//! N %, PASS or FAIL and why), the counts so far with the yield, the time per board and
//! the last few results. Progress bars are not used here: a bar left behind by Ctrl-C or
//! drawn under a verdict is what this replaces.

use crate::station::banner;
use hexsmith::escape_controls;
use hexsmith::flash::{DeviceResult, Event, Outcome, error_chain};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How many finished boards the frame lists.
const RECENT: usize = 5;
/// The least time between two frames drawn for progress alone: a terminal over a slow
/// line must not fall behind.
const MIN_REDRAW: Duration = Duration::from_millis(100);

/// The screen all fixtures of one station draw on.
pub struct Screen {
    header: String,
    colour: bool,
    state: Mutex<State>,
}

struct State {
    fixtures: Vec<Fixture>,
    passed: usize,
    failed: usize,
    interrupted: usize,
    /// Seconds of each board identified and flashed to the end, passed or failed: a
    /// board that could not even be attached took no flashing time, and one stopped by
    /// Ctrl-C only part of it; counting either would make the line look faster than it is.
    timed: Vec<f64>,
    recent: VecDeque<String>,
    last_frame: Option<Instant>,
    /// Set once the station is over: later events draw nothing.
    closed: bool,
}

struct Fixture {
    name: String,
    board: Board,
}

enum Board {
    Waiting(Option<String>),
    Working {
        device: Option<String>,
        stage: Stage,
        started: Instant,
    },
    /// The last board's verdict, shown until the next board starts; `waiting` is why the
    /// station waits meanwhile.
    Done {
        outcome: Outcome,
        line: String,
        reason: Option<String>,
        waiting: Option<String>,
    },
}

#[derive(Clone, Copy)]
enum Stage {
    Attaching,
    Comparing {
        done: usize,
        total: usize,
    },
    Bytes {
        verb: &'static str,
        done: u64,
        total: u64,
        since: Instant,
        from: u64,
    },
}

impl Screen {
    /// A screen for fixtures with these names; `header` is its first line.
    pub fn new(header: String, fixtures: &[String], colour: bool) -> Screen {
        let screen = Screen {
            header,
            colour,
            state: Mutex::new(State {
                fixtures: fixtures
                    .iter()
                    .map(|name| Fixture {
                        name: escape_controls(name).into_owned(),
                        board: Board::Waiting(None),
                    })
                    .collect(),
                passed: 0,
                failed: 0,
                interrupted: 0,
                timed: Vec::new(),
                recent: VecDeque::new(),
                last_frame: None,
                closed: false,
            }),
        };
        // Whatever the terminal showed before goes, once; frames then overwrite each other.
        eprint!("\x1b[2J\x1b[H");
        screen.draw(true);
        screen
    }

    fn with(&self, force: bool, change: impl FnOnce(&mut State)) {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.closed {
                return;
            }
            change(&mut state);
        }
        self.draw(force);
    }

    /// The fixture waits for a board; `reason` when nothing answers.
    pub fn waiting(&self, fixture: usize, reason: Option<String>) {
        let reason = reason.map(|r| escape_controls(&r).into_owned());
        self.with(true, |s| {
            let board = &mut s.fixtures[fixture].board;
            match board {
                Board::Done { waiting, .. } => *waiting = reason,
                _ => *board = Board::Waiting(reason),
            }
        });
    }

    /// A board was attached and is being flashed.
    pub fn started(&self, fixture: usize) {
        self.with(true, |s| {
            s.fixtures[fixture].board = Board::Working {
                device: None,
                stage: Stage::Attaching,
                started: Instant::now(),
            };
        });
    }

    /// The board's Particle device ID was read.
    pub fn device_id(&self, fixture: usize, id: String) {
        let id = escape_controls(&id).into_owned();
        self.with(true, |s| {
            if let Board::Working { device, stage, .. } = &mut s.fixtures[fixture].board {
                *device = Some(id);
                *stage = Stage::Comparing { done: 0, total: 0 };
            }
        });
    }

    /// Progress of the board being flashed.
    pub fn progress(&self, fixture: usize, event: Event) {
        let now = Instant::now();
        let mut new_stage = false;
        self.with(false, |s| {
            if let Board::Working { stage, .. } = &mut s.fixtures[fixture].board {
                let next = match (event, *stage) {
                    (Event::Compared { done, total }, _) => Stage::Comparing { done, total },
                    (Event::Written { done, total }, old) => bytes_stage("writing", done, total, old, now),
                    (Event::Verified { done, total }, old) => bytes_stage("verifying", done, total, old, now),
                    (Event::Read { done, total }, old) => bytes_stage("reading", done, total, old, now),
                };
                // A stage begun or ended is drawn at once; progress within one is rate-limited.
                let finished = match next {
                    Stage::Comparing { done, total } => done == total,
                    Stage::Bytes { done, total, .. } => done == total,
                    Stage::Attaching => false,
                };
                new_stage = finished
                    || std::mem::discriminant(&next) != std::mem::discriminant(stage)
                    || matches!((next, *stage), (Stage::Bytes { verb: a, .. }, Stage::Bytes { verb: b, .. }) if a != b);
                *stage = next;
            }
        });
        if new_stage {
            self.draw(true);
        }
    }

    /// A board is done.
    pub fn finished(&self, fixture: usize, result: &DeviceResult) {
        self.with(true, |s| {
            match result.result {
                Outcome::Ok => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Interrupted => s.interrupted += 1,
            }
            if result.device_id.is_some() && result.result != Outcome::Interrupted {
                s.timed.push(result.seconds);
            }
            let word = verdict_word(result.result);
            let id = escape_controls(result.device_id.as_deref().unwrap_or("(no device ID)"));
            let probe = escape_controls(&result.probe);
            let reason = result
                .error
                .as_ref()
                .map(|e| escape_controls(&error_chain(e)).into_owned());
            let clock = clock_time(result.finished);
            let mut recent = format!("{clock}  {word}  {id:<34} {probe}  {:.1} s", result.seconds);
            if let Some(r) = &reason {
                let _ = write!(recent, ": {r}");
            }
            s.recent.push_front(recent);
            s.recent.truncate(RECENT);
            s.fixtures[fixture].board = Board::Done {
                outcome: result.result,
                line: format!("{word} {id} on {probe} in {:.1} s", result.seconds),
                reason,
                waiting: None,
            };
        });
    }

    /// The station is over: the last frame stays, and what is printed next goes below it.
    pub fn close(&self) {
        self.draw(true);
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
    }

    fn draw(&self, force: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.closed {
            return;
        }
        let now = Instant::now();
        if !force && state.last_frame.is_some_and(|t| now - t < MIN_REDRAW) {
            return;
        }
        state.last_frame = Some(now);
        let width = terminal_width();
        let frame = self.frame(&state, now, width);
        // Home, each line cut to the terminal's width (a wrapped line would push the frame
        // down and scroll it), cleared to its end, and whatever the last frame had below
        // cleared.
        let mut text = String::from("\x1b[H");
        for line in frame.lines() {
            let _ = writeln!(text, "{}\x1b[K", fit(line, width));
        }
        text.push_str("\x1b[J");
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn frame(&self, s: &State, now: Instant, width: usize) -> String {
        let mut f = String::new();
        let _ = writeln!(f, "{}", self.header);
        let boards = s.passed + s.failed;
        let yield_text = if boards == 0 {
            "-".to_string()
        } else {
            format!("{:.1} %", 100.0 * s.passed as f64 / boards as f64)
        };
        let mean = if s.timed.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.1} s",
                s.timed.iter().sum::<f64>() / s.timed.len() as f64
            )
        };
        let _ = writeln!(
            f,
            "passed {}   failed {}   yield {yield_text}   time per board {mean}{}",
            s.passed,
            s.failed,
            if s.interrupted > 0 {
                format!("   interrupted {}", s.interrupted)
            } else {
                String::new()
            }
        );
        f.push('\n');
        let single = s.fixtures.len() == 1;
        for fixture in &s.fixtures {
            match &fixture.board {
                Board::Done {
                    outcome,
                    line,
                    reason,
                    waiting,
                } => {
                    if single {
                        let paint = paint(*outcome);
                        for row in banner(verdict_word(*outcome)) {
                            if self.colour {
                                let _ = writeln!(f, "{paint}  {row}  \x1b[0m");
                            } else {
                                let _ = writeln!(f, "  {row}");
                            }
                        }
                    }
                    let _ = writeln!(f, "{}: {line}", fixture.name);
                    if let Some(r) = reason {
                        for line in wrap(r, width.saturating_sub(6).max(20), 4) {
                            let _ = writeln!(f, "     {line}");
                        }
                    }
                    let _ = writeln!(
                        f,
                        "{}: take the board off; waiting for the next one{}",
                        fixture.name,
                        waiting
                            .as_ref()
                            .map(|w| format!(" ({w})"))
                            .unwrap_or_default()
                    );
                }
                Board::Waiting(reason) => {
                    let _ = writeln!(
                        f,
                        "{}: waiting for a board{}",
                        fixture.name,
                        reason
                            .as_ref()
                            .map(|w| format!(" ({w})"))
                            .unwrap_or_default()
                    );
                }
                Board::Working {
                    device,
                    stage,
                    started,
                } => {
                    let id = device.as_deref().unwrap_or("(reading its ID)");
                    let _ = writeln!(
                        f,
                        "{}: board {id}, {:.0} s: {}",
                        fixture.name,
                        (now - *started).as_secs_f64(),
                        stage_text(*stage, now)
                    );
                }
            }
        }
        f.push('\n');
        if s.recent.is_empty() {
            f.push_str("last results: none yet\n");
        } else {
            f.push_str("last results:\n");
            for line in &s.recent {
                let _ = writeln!(f, "  {line}");
            }
        }
        f
    }
}

/// The columns of the terminal on standard error; 80 when it does not say.
fn terminal_width() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ only writes a `winsize` into the struct it is given.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    80
}

/// `line` cut to fit `width` columns (one column short, so that no terminal wraps it),
/// ending in `...` when cut. The screen's own colour codes occupy no column.
fn fit(line: &str, width: usize) -> String {
    let max = width.saturating_sub(1).max(4);
    let shown = line.chars().filter(|c| *c != '\x1b').count();
    if line.contains('\x1b') || shown <= max {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(max - 3).collect();
    cut.push_str("...");
    cut
}

/// `text` in lines of at most `width` columns, broken between words, at most `lines` of
/// them (the last cut with `...` when more was left).
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        out.push(current);
    }
    if out.len() > lines {
        out.truncate(lines);
        let last = out.last_mut().expect("lines > 0");
        *last = fit(&format!("{last} ..."), width + 1);
    }
    out
}

fn bytes_stage(verb: &'static str, done: u64, total: u64, old: Stage, now: Instant) -> Stage {
    match old {
        Stage::Bytes {
            verb: v,
            since,
            from,
            ..
        } if v == verb => Stage::Bytes {
            verb,
            done,
            total,
            since,
            from,
        },
        _ => Stage::Bytes {
            verb,
            done,
            total,
            since: now,
            from: done,
        },
    }
}

/// `writing 45 % (324.0 of 720.0 KiB, 118.2 KiB/s, 3 s left)`; never a bare 0/0.
fn stage_text(stage: Stage, now: Instant) -> String {
    match stage {
        Stage::Attaching => "attaching".to_string(),
        Stage::Comparing { total: 0, .. } => "comparing with the image".to_string(),
        Stage::Comparing { done, total } => {
            format!("comparing with the image: {done} of {total} erase units")
        }
        Stage::Bytes {
            verb,
            done,
            total,
            since,
            from,
        } => {
            if total == 0 {
                return format!("{verb}: nothing to do");
            }
            let percent = 100 * done / total;
            let elapsed = (now - since).as_secs_f64();
            let rate = (elapsed > 0.2 && done > from).then(|| (done - from) as f64 / elapsed);
            let kib = |b: u64| b as f64 / 1024.0;
            let mut text = format!(
                "{verb} {percent} % ({:.1} of {:.1} KiB",
                kib(done),
                kib(total)
            );
            match rate {
                Some(rate) => {
                    let left = (total - done) as f64 / rate;
                    let _ = write!(text, ", {:.1} KiB/s, {left:.0} s left)", rate / 1024.0);
                }
                None => text.push(')'),
            }
            text
        }
    }
}

fn verdict_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Interrupted => "STOP",
    }
}

fn paint(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "\x1b[1;30;42m",
        Outcome::Failed => "\x1b[1;37;41m",
        Outcome::Interrupted => "\x1b[1;30;43m",
    }
}

/// `HH:MM:SS` in UTC: the station's log lines carry the same instant in full.
fn clock_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_bytes_rate_and_time_left_and_never_0_of_0() {
        let start = Instant::now();
        let stage = Stage::Bytes {
            verb: "writing",
            done: 512 * 1024,
            total: 1024 * 1024,
            since: start,
            from: 0,
        };
        assert_eq!(
            stage_text(stage, start + Duration::from_secs(4)),
            "writing 50 % (512.0 of 1024.0 KiB, 128.0 KiB/s, 4 s left)"
        );
        let empty = Stage::Bytes {
            verb: "verifying",
            done: 0,
            total: 0,
            since: start,
            from: 0,
        };
        assert_eq!(stage_text(empty, start), "verifying: nothing to do");
    }
}
