//! `hexsmith build`: restore images from modules, from a release folder, or from a
//! catalog. Every image is composed and checked in memory first; only when all of them
//! are good is anything written, each file atomically.

use crate::Outcome;
use anyhow::{Context, Result, bail};
use hexsmith::compose::catalog::{self, Catalog, CatalogError, FileIndex};
use hexsmith::compose::{
    self, BuildError, BuildOptions, Mbr, ModuleInput, RestoreImage, release_dir,
};
use hexsmith::memory::hex;
use hexsmith::output::{OutputSet, prepare_folder};
use hexsmith::platform::{self, Platform};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["modules", "release", "catalog"]))]
pub struct Args {
    /// Module files (.bin, or .hex/.elf holding one module), in any order.
    #[arg(value_name = "MODULE")]
    modules: Vec<PathBuf>,
    /// Output Intel HEX file (with MODULE...).
    #[arg(short, long, value_name = "OUT.hex", required_unless_present_any = ["release", "catalog"])]
    output: Option<PathBuf>,
    /// Build every platform found in a folder of release files (PLATFORM-system-part1@VERSION.bin ...).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["modules", "catalog"])]
    release: Option<PathBuf>,
    /// Build every platform of a restore-image catalog (restore-images/RELEASE.toml).
    #[arg(
        long,
        value_name = "FILE",
        requires = "from",
        conflicts_with = "modules"
    )]
    catalog: Option<PathBuf>,
    /// Where to find the catalog's files (searched at any depth).
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Output folder for --release and --catalog: OUT/PLATFORM.hex and OUT/PLATFORM.json.
    #[arg(long, value_name = "OUT", required_unless_present = "output")]
    out_dir: Option<PathBuf>,
    /// The Nordic MBR for Gen 3 images: a SoftDevice .hex, a 4 KiB .bin, or an existing restore image.
    #[arg(long, value_name = "FILE")]
    mbr: Option<PathBuf>,
    /// Leave out the UICR page that Particle's Gen 3 images carry.
    #[arg(long)]
    no_uicr: bool,
    /// Check that every module is for this platform.
    #[arg(long, value_name = "NAME")]
    platform: Option<String>,
    /// Build even when a dependency is unmet: the device would start in safe mode.
    #[arg(long)]
    allow_safe_mode: bool,
    /// Write the build manifest (JSON) here (with -o).
    #[arg(long, value_name = "FILE", requires = "output")]
    manifest: Option<PathBuf>,
    /// The application to use instead of the inputs' user part: APP with -o, PLATFORM=APP
    /// (repeatable) with --release and --catalog.
    #[arg(long, value_name = "[PLATFORM=]APP")]
    user: Vec<String>,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let mbr = args.mbr.as_deref().map(Mbr::read).transpose()?;
    let platform = args
        .platform
        .as_deref()
        .map(|name| platform::by_name(name).with_context(|| format!("unknown platform {name:?}")))
        .transpose()?;
    let options = BuildOptions {
        mbr,
        no_uicr: args.no_uicr,
        platform,
        allow_safe_mode: args.allow_safe_mode,
        user: None,
    };
    if let Some(out) = &args.output {
        single(args, out, options)
    } else {
        let out_dir = args.out_dir.as_ref().expect("clap requires --out-dir");
        let users = per_platform_users(&args.user)?;
        let sets = if let Some(dir) = &args.release {
            let scanned = release_dir::scan(dir)?;
            for s in &scanned.skipped {
                eprintln!("note: skipped {s}");
            }
            scanned
                .platforms
                .into_iter()
                .map(|s| (s.platform, s.modules))
                .collect()
        } else {
            let path = args.catalog.as_ref().expect("clap: one mode");
            let from = args.from.as_ref().expect("clap requires --from");
            from_catalog(path, from)?
        };
        let mut inputs: Vec<PathBuf> = sets
            .iter()
            .flat_map(|(_, modules)| modules.iter())
            .chain(users.values())
            .map(|m| PathBuf::from(&m.name))
            .collect();
        inputs.extend(args.mbr.iter().chain(&args.catalog).cloned());
        many(sets, users, options, out_dir, &inputs)
    }
}

fn single(args: &Args, out: &Path, mut options: BuildOptions) -> Result<Outcome> {
    if args.user.len() > 1 {
        bail!("with -o, give --user once");
    }
    if args.modules.len() > compose::MAX_MODULES {
        return Err(BuildError::TooManyModules {
            count: args.modules.len(),
        }
        .into());
    }
    let inputs_named = args
        .modules
        .iter()
        .map(PathBuf::as_path)
        .chain(args.user.iter().map(Path::new))
        .chain(args.mbr.as_deref());
    let mut outputs = OutputSet::new(inputs_named)?;
    outputs.check(out)?;
    if let Some(path) = &args.manifest {
        outputs.check(path)?;
    }
    options.user = args
        .user
        .first()
        .map(|app| ModuleInput::read(Path::new(app)))
        .transpose()?;
    let inputs = args
        .modules
        .iter()
        .map(|p| ModuleInput::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let built = compose::build(inputs, &options)?;
    warn(&built);
    outputs.stage(out, |file| hex::write_to(&built.image, file))?;
    if let Some(path) = &args.manifest {
        outputs.stage(path, |file| write_manifest(file, &built))?;
    }
    outputs.commit()?;
    report(&built, out);
    Ok(Outcome::Pass)
}

fn many(
    sets: Vec<(&'static Platform, Vec<ModuleInput>)>,
    mut users: BTreeMap<String, ModuleInput>,
    options: BuildOptions,
    out_dir: &Path,
    inputs: &[PathBuf],
) -> Result<Outcome> {
    if sets.is_empty() {
        bail!("no modules found");
    }
    if let Some(name) = users
        .keys()
        .find(|n| !sets.iter().any(|(p, _)| &p.name == *n))
    {
        bail!("--user {name}=...: no {name} modules among the inputs");
    }
    let mut built = Vec::new();
    for (platform, modules) in sets {
        let opts = BuildOptions {
            user: users.remove(&platform.name),
            platform: Some(options.platform.unwrap_or(platform)),
            ..options.clone()
        };
        let image = compose::build(modules, &opts)
            .with_context(|| format!("{}: refused", platform.name))?;
        built.push(image);
    }
    prepare_folder(out_dir)?;
    let mut outputs = OutputSet::new(inputs.iter().map(PathBuf::as_path))?;
    for image in &built {
        let hex_path = out_dir.join(format!("{}.hex", image.platform.name));
        outputs.stage(&hex_path, |file| hex::write_to(&image.image, file))?;
        let json_path = out_dir.join(format!("{}.json", image.platform.name));
        outputs.stage(&json_path, |file| write_manifest(file, image))?;
    }
    outputs.commit()?;
    for image in &built {
        warn(image);
        report(image, &out_dir.join(format!("{}.hex", image.platform.name)));
    }
    Ok(Outcome::Pass)
}

fn from_catalog(path: &Path, from: &Path) -> Result<Vec<(&'static Platform, Vec<ModuleInput>)>> {
    let catalog = Catalog::read(path)?;
    let index = FileIndex::new(from)?;
    let name = path.display().to_string();
    catalog
        .platform
        .iter()
        .map(|entry| catalog::collect(&name, entry, &index))
        .collect::<Result<_, CatalogError>>()
        .map_err(Into::into)
}

fn per_platform_users(users: &[String]) -> Result<BTreeMap<String, ModuleInput>> {
    let mut map = BTreeMap::new();
    for u in users {
        let Some((name, app)) = u.split_once('=') else {
            bail!("--user {u}: with --release or --catalog, write --user PLATFORM=APP");
        };
        let platform = platform::by_name(name)
            .with_context(|| format!("--user {u}: unknown platform {name:?}"))?;
        let module = ModuleInput::read(Path::new(app))?;
        if map.insert(platform.name.clone(), module).is_some() {
            bail!("--user: {name} given twice");
        }
    }
    Ok(map)
}

fn write_manifest(file: &mut std::fs::File, image: &RestoreImage) -> std::io::Result<()> {
    let mut json = serde_json::to_string_pretty(&image.manifest())?;
    json.push('\n');
    file.write_all(json.as_bytes())
}

fn warn(image: &RestoreImage) {
    for w in &image.warnings {
        eprintln!("warning: {}: {w}", image.platform.name);
    }
}

fn report(image: &RestoreImage, out: &Path) {
    let release = image.release.as_deref().unwrap_or("unknown release");
    println!(
        "{}: {} (Device OS {release}, {} bytes, sha256 {})",
        image.platform.name,
        out.display(),
        image.image.len(),
        hexsmith::inspect::hex_lower(&image.image.sha256())
    );
}

/// A build error for `?` in code that returns `anyhow::Result`; its kind decides the exit
/// status (see `main`).
pub fn refusal(e: BuildError) -> anyhow::Error {
    anyhow::Error::new(e)
}
