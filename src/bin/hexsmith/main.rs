//! The `hexsmith` command line: argument parsing, output and exit codes on top of the
//! library. Exit status: 0 everything passes, 1 a check fails, 2 an input is unusable.

mod build;
mod flash;
mod inspect;
mod plan;
mod replace_user;
mod versions;

use clap::{Parser, Subcommand};
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
    let outcome = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Build(args) => build::run(&args),
        Command::ReplaceUser(args) => replace_user::run(&args),
        Command::Versions(args) => versions::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Probes(args) => flash::probes(&args),
        Command::Flash(args) => flash::run(&args),
        Command::Read(args) => flash::read(&args),
    };
    match outcome {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            let unreadable = e
                .chain()
                .any(|c| c.is::<build::Unreadable>() || c.is::<flash::NoProbe>());
            let outcome = if unreadable {
                Outcome::BadInput
            } else {
                Outcome::CheckFailed
            };
            ExitCode::from(outcome as u8)
        }
    }
}
