//! `hexsmith completions SHELL` and `hexsmith man`: generated from the same clap
//! definitions that parse the command line, so they never disagree with it.

use crate::{Cli, Outcome, out};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith completions bash > ~/.local/share/bash-completion/completions/hexsmith\n  hexsmith completions zsh > \"${fpath[1]}/_hexsmith\""
)]
pub struct CompletionsArgs {
    /// The shell to complete for; its script goes to standard output.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith man --out-dir ~/.local/share/man/man1\n  hexsmith man | man -l -"
)]
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
        None => {
            let mut cmd = Cli::command();
            cmd.build();
            let (_, page) = page(&cmd)?;
            out::print(format_args!("{}", String::from_utf8_lossy(&page)));
        }
    }
    Ok(Outcome::Pass)
}

/// What every page says after clap's sections: the examples from the command's help, the
/// exit statuses (README "Commands") and the environment variables hexsmith reads.
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Done: every check passed, the images were built, the device was written.",
    ),
    (
        "1",
        "Refused or a check failed: an image that would not boot, a device that failed, two images that differ (diff).",
    ),
    (
        "2",
        "An input cannot be read or is not what it claims to be; no debug probe attached.",
    ),
    (
        "64",
        "The command line is wrong (EX_USAGE), whether clap or the command finds it.",
    ),
    ("130", "Interrupted by SIGINT or SIGTERM."),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("PROBE_RS_PROBE", "The probe to use, as --probe."),
    ("PROBE_RS_CHIP", "The probe-rs target name, as --chip."),
    (
        "PROBE_RS_CHIP_DESCRIPTION_PATH",
        "A probe-rs target description, as --chip-description-path.",
    ),
    ("PROBE_RS_SPEED", "The SWD clock in kHz, as --speed."),
    ("PROBE_RS_PROTOCOL", "swd or jtag, as --protocol."),
    (
        "PROBE_RS_CONNECT_UNDER_RESET",
        "Attach under reset when true, as --connect-under-reset.",
    ),
    (
        "PROBE_RS_ALLOW_ERASE_ALL",
        "flash: unlock a locked nRF52840 by a full erase when true, as --allow-erase-all.",
    ),
    (
        "RUST_LOG",
        "Which of probe-rs's log to show, by module and level (probe_rs=debug), as -v does for all.",
    ),
    ("NO_COLOR", "When set, the station screen draws no colours."),
];

/// Text for roff: backslashes and hyphens escaped, and no line starting with a control
/// character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A page: clap's sections, then EXAMPLES (from the command's help), EXIT STATUS and
/// ENVIRONMENT, then the version.
fn page(cmd: &clap::Command) -> std::io::Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut page)?;
    }
    let mut extra = String::new();
    let examples: Vec<String> = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect();
    if !examples.is_empty() {
        extra.push_str(".SH EXAMPLES\n");
        for e in &examples {
            extra.push_str(&format!(".PP\n.nf\n{}\n.fi\n", roff_text(e)));
        }
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_STATUS {
        extra.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_text(what)));
    }
    extra.push_str(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        extra.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_text(name),
            roff_text(what)
        ));
    }
    page.extend_from_slice(extra.as_bytes());
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    Ok((man.get_filename(), page))
}

/// One page per command, as `clap_mangen::generate_to` names them, written as one set by
/// the library's output rules: no page through a link, over a pipe or a read-only page,
/// each replaced atomically, all or none.
fn write_pages(dir: &Path) -> Result<()> {
    fn render(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            render(sub, pages)?;
        }
        pages.push(page(&cmd)?);
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
