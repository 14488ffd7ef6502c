//! `hexsmith completions SHELL` and `hexsmith man`: generated from the same clap
//! definitions that parse the command line, so they never disagree with it.

use crate::{Cli, Outcome, out};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; its script goes to standard output.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write one page per command (hexsmith.1, hexsmith-build.1, ...) into this folder
    /// instead of printing hexsmith.1.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> Result<Outcome> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "hexsmith", &mut out::Stdout);
    Ok(Outcome::Pass)
}

pub fn man(args: &ManArgs) -> Result<Outcome> {
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| dir.display().to_string())?;
        }
        None => clap_mangen::Man::new(Cli::command()).render(&mut out::Stdout)?,
    }
    Ok(Outcome::Pass)
}
