//! The `hexsmith` command line: argument parsing, output and exit codes on top of the
//! library. Exit status: 0 everything passes, 1 a check fails or a build is refused, 2 an
//! input cannot be read, 64 (EX_USAGE of sysexits.h) the command line is wrong, 130
//! interrupted by SIGINT or SIGTERM.

mod build;
mod device;
#[cfg(feature = "probe")]
mod diagnostics;
mod diff;
mod flash;
mod inspect;
mod manual;
mod out;
mod plan;
mod probe_help;
mod replace_user;
mod signals;
#[cfg(feature = "probe")]
mod station;
#[cfg(feature = "probe")]
mod station_screen;
mod suggest;
mod versions;

use clap::{Parser, Subcommand};
use hexsmith::Failure;
use hexsmith::compose::BuildError;
use hexsmith::compose::catalog::CatalogError;
#[cfg(feature = "emulator")]
use hexsmith::flash::emulator::EmulatorError;
#[cfg(feature = "probe")]
use hexsmith::flash::probe::ProbeError;
use hexsmith::input::InputError;
use hexsmith::output::OutputError;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hexsmith",
    version,
    about = "Build, check and program Particle Device OS images",
    after_help = "Examples:\n  hexsmith build --catalog restore-images/4.0.1.toml --from .cache/device-os --out-dir out\n  hexsmith inspect out/boron.hex\n  hexsmith flash out/boron.hex"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Show probe-rs's log on standard error: -v info, -vv debug, -vvv trace (RUST_LOG,
    /// e.g. `probe_rs=debug`, chooses by target instead).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Append the log (at -v's level, or debug) to this file instead, for a support ticket.
    #[arg(long, value_name = "FILE", global = true)]
    log_file: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Show what modules, images and ELF files hold, checked as a device checks itself at boot.
    Inspect(inspect::Args),
    /// Compare two images module by module: same, another version, different, only in one, glue.
    Diff(diff::Args),
    /// Build restore images: one Intel HEX per platform, as Particle publishes them.
    Build(Box<build::Args>),
    /// Put an application into a restore image in place of the one it holds.
    ReplaceUser(replace_user::Args),
    /// List Device OS releases: system and bootloader module versions, LTS lines, the releases each platform runs.
    Versions(versions::Args),
    /// Plan an upgrade or downgrade: the releases to install on the way, what to write, in which order and mode, and why.
    Plan(plan::Args),
    /// List the attached debug probes.
    Probes(device::ProbesArgs),
    /// Write an image to a device over SWD: only the erase units that change, verified.
    Flash(Box<flash::Args>),
    /// Read a device's flash over SWD into an Intel HEX file.
    Read(device::ReadArgs),
    /// Compare a device's flash with an image over SWD, writing nothing.
    Verify(Box<device::VerifyArgs>),
    /// Erase erase units, or the whole chip, over SWD.
    Erase(device::EraseArgs),
    /// Reset a device over SWD and let it run.
    Reset(device::ResetArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(manual::CompletionsArgs),
    /// Print the manual page (roff), or write one per command with --out-dir.
    Man(manual::ManArgs),
}

/// The outcome of a command, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass = 0,
    CheckFailed = 1,
    BadInput = 2,
    /// Whether clap or a command found it: one code, so that a script can tell a wrong
    /// command line from a file that cannot be read.
    Usage = 64,
    /// Stopped by SIGINT or SIGTERM (128 + 2, as a shell reports it).
    Interrupted = 130,
}

/// Marks an error as a wrong command line (exit 64), found after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// What every probe command says in a build without the `probe` feature.
#[cfg_attr(feature = "probe", allow(dead_code))]
#[derive(Debug, thiserror::Error)]
#[error("this hexsmith was built without probe support (cargo feature \"probe\")")]
pub struct NoProbeSupport;

/// What `--emulate` says in a build without the `emulator` feature (a refusal, exit 1,
/// like a missing probe feature: the command line was right, this build cannot do it).
#[cfg_attr(feature = "emulator", allow(dead_code))]
#[derive(Debug, thiserror::Error)]
#[error(
    "this hexsmith was built without the emulated devices of --emulate (cargo feature \"emulator\"): rebuild with it, or leave out --emulate and --emulate-state"
)]
pub struct NoEmulatorSupport;

fn main() -> ExitCode {
    // Before parsing: a usage error of a `--json` run is a JSON document too.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's text on standard output, which may be closed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            if json {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                json_error(Outcome::Usage, "usage", message);
            }
            return ExitCode::from(Outcome::Usage as u8);
        }
    };
    signals::install();
    #[cfg(feature = "probe")]
    let logging = diagnostics::init(cli.verbose, cli.log_file.as_deref());
    #[cfg(not(feature = "probe"))]
    let logging: anyhow::Result<()> = Ok(());
    let outcome = logging.and_then(|()| match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Build(args) => build::run(&args),
        Command::ReplaceUser(args) => replace_user::run(&args),
        Command::Versions(args) => versions::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Probes(args) => device::probes(&args),
        Command::Flash(args) => flash::run(&args),
        Command::Read(args) => device::read(&args),
        Command::Verify(args) => device::verify(&args),
        Command::Erase(args) => device::erase(&args),
        Command::Reset(args) => device::reset(&args),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
    });
    let outcome = match (outcome, flash::save_emulated()) {
        (outcome, Ok(())) => outcome,
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Err(save)) => {
            Err(e.context(format!("and the emulated device was not saved: {save}")))
        }
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            let message = hexsmith::escape_controls(&one_line(&e)).into_owned();
            eprintln!("error: {message}");
            let no_probe = e.chain().any(|c| c.is::<flash::NoProbe>());
            if no_probe {
                for hint in probe_help::NO_PROBE_HINTS {
                    eprintln!("hint: {hint}");
                }
            }
            let outcome = if e.chain().any(|c| c.is::<Usage>()) {
                Outcome::Usage
            } else if no_probe {
                Outcome::BadInput
            } else {
                match failure_of(&e) {
                    Some(Failure::Unreadable) => Outcome::BadInput,
                    Some(Failure::Refused) | None => Outcome::CheckFailed,
                }
            };
            if json {
                let kind = if no_probe {
                    "no-probe"
                } else {
                    kind_of(outcome)
                };
                json_error(outcome, kind, &message);
            }
            outcome
        }
    };
    let outcome = if out::failed() {
        outcome.max(Outcome::CheckFailed)
    } else {
        outcome
    };
    ExitCode::from(outcome as u8)
}

/// The `kind` of an error document for an outcome (`no-probe` is decided by the error).
fn kind_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Usage => "usage",
        Outcome::BadInput => "unreadable",
        Outcome::Interrupted => "interrupted",
        Outcome::Pass | Outcome::CheckFailed => "refused",
    }
}

/// The error document of a `--json` run, on standard output where the pipeline reads.
fn json_error(outcome: Outcome, kind: &'static str, message: &str) {
    let body = out::ErrorBody {
        error: out::ErrorReport {
            kind,
            exit_status: outcome as u8,
            message,
        },
    };
    if let Err(e) = out::json(body) {
        eprintln!("error: {e}");
    }
}

/// The error and its causes in one line. A library error's message already names its
/// cause, so a cause whose text is part of what was said is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The kind of failure, as the first library error in the chain says.
fn failure_of(e: &anyhow::Error) -> Option<Failure> {
    e.chain().find_map(|c| {
        if let Some(e) = c.downcast_ref::<BuildError>() {
            Some(e.failure())
        } else if let Some(e) = c.downcast_ref::<InputError>() {
            Some(e.failure())
        } else if let Some(e) = c.downcast_ref::<CatalogError>() {
            Some(e.failure())
        } else if let Some(e) = c.downcast_ref::<OutputError>() {
            Some(e.failure())
        } else if let Some(e) = c.downcast_ref::<hexsmith::flash::rtl872x::loader::LoaderError>() {
            use hexsmith::flash::rtl872x::loader::LoaderError;
            Some(match e {
                LoaderError::Read { .. } | LoaderError::NotALoader { .. } => Failure::Unreadable,
                LoaderError::Missing | LoaderError::Unknown { .. } => Failure::Refused,
            })
        } else {
            device_failure(c)
        }
    })
}

/// The kind of failure of a device layer error.
#[cfg(feature = "probe")]
fn device_failure(c: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    #[cfg(feature = "emulator")]
    if let Some(e) = c.downcast_ref::<EmulatorError>() {
        return e.failure();
    }
    if let Some(e) = c.downcast_ref::<hexsmith::flash::JobError>() {
        e.failure()
    } else if let Some(e) = c.downcast_ref::<ProbeError>() {
        e.failure()
    } else {
        None
    }
}

#[cfg(not(feature = "probe"))]
fn device_failure(_: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    None
}
