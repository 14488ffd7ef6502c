//! `hexsmith completions SHELL` and `hexsmith man`: generated from the same clap
//! definitions that parse the command line, so they never disagree with it.

use crate::{Cli, Outcome, out};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
        Some(dir) => write_pages(dir)?,
        None => clap_mangen::Man::new(Cli::command()).render(&mut out::Stdout)?,
    }
    Ok(Outcome::Pass)
}

/// One page per command, as `clap_mangen::generate_to` names them, written as one set by
/// the library's output rules: no page through a link, over a pipe or a read-only page,
/// each replaced atomically, all or none.
fn write_pages(dir: &Path) -> Result<()> {
    fn render(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            render(sub, pages)?;
        }
        let man = clap_mangen::Man::new(cmd);
        let mut page = Vec::new();
        man.render(&mut page)?;
        pages.push((man.get_filename(), page));
        Ok(())
    }
    hexsmith::output::prepare_folder(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    render(cmd, &mut pages).with_context(|| dir.display().to_string())?;
    let mut outputs = hexsmith::output::OutputSet::new(std::iter::empty::<&Path>());
    for (name, _) in &pages {
        outputs.check(&dir.join(name))?;
    }
    for (name, page) in &pages {
        outputs.stage(&dir.join(name), |f| f.write_all(page))?;
    }
    outputs.commit()?;
    Ok(())
}
