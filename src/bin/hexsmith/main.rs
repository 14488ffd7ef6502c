//! The `hexsmith` command line: argument parsing, output and exit codes on top of the
//! library. Exit status: 0 everything passes, 1 a check fails, 2 an input is unusable.

mod build;
mod flash;
mod inspect;
mod plan;
mod replace_user;
mod signals;
#[cfg(feature = "probe")]
mod station;
mod versions;

use clap::{Parser, Subcommand};
use hexsmith::Failure;
use hexsmith::compose::BuildError;
use hexsmith::compose::catalog::CatalogError;
use hexsmith::input::InputError;
use hexsmith::output::OutputError;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hexsmith",
    version,
    about = "Build, check and program Particle Device OS images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what modules, images and ELF files hold, checked as a device checks itself at boot.
    Inspect(inspect::Args),
    /// Build restore images: one Intel HEX per platform, as Particle publishes them.
    Build(Box<build::Args>),
    /// Put an application into a restore image in place of the one it holds.
    ReplaceUser(replace_user::Args),
    /// List Device OS releases: system and bootloader module versions, LTS lines, the releases each platform runs.
    Versions(versions::Args),
    /// Plan an upgrade or downgrade: the releases to install on the way, what to write, in which order and mode, and why.
    Plan(plan::Args),
    /// List the attached debug probes.
    Probes(flash::ProbesArgs),
    /// Write an image to a device over SWD: only the erase units that change, verified.
    Flash(Box<flash::Args>),
    /// Read a device's flash over SWD into an Intel HEX file.
    Read(flash::ReadArgs),
    /// Compare a device's flash with an image over SWD, writing nothing.
    Verify(Box<flash::VerifyArgs>),
    /// Erase erase units, or the whole chip, over SWD.
    Erase(flash::EraseArgs),
    /// Reset a device over SWD and let it run.
    Reset(flash::ResetArgs),
}

/// The outcome of a command, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass = 0,
    CheckFailed = 1,
    BadInput = 2,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    signals::install();
    let outcome = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Build(args) => build::run(&args),
        Command::ReplaceUser(args) => replace_user::run(&args),
        Command::Versions(args) => versions::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Probes(args) => flash::probes(&args),
        Command::Flash(args) => flash::run(&args),
        Command::Read(args) => flash::read(&args),
        Command::Verify(args) => flash::verify(&args),
        Command::Erase(args) => flash::erase(&args),
        Command::Reset(args) => flash::reset(&args),
    };
    let outcome = match (outcome, flash::save_emulated()) {
        (outcome, Ok(())) => outcome,
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Err(save)) => {
            Err(e.context(format!("and the emulated device was not saved: {save}")))
        }
    };
    match outcome {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            let outcome = match failure_of(&e) {
                Some(Failure::Unreadable) => Outcome::BadInput,
                Some(Failure::Refused) | None => Outcome::CheckFailed,
            };
            ExitCode::from(outcome as u8)
        }
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
        } else if c.is::<flash::NoProbe>() {
            Some(Failure::Unreadable)
        } else {
            None
        }
    })
}
