//! `hexsmith build`: restore images from modules, from a release folder, or from a
//! catalog. Every image is composed and checked in memory first; only when all of them
//! are good is anything written, each file atomically.

use crate::out::{self, outln};
use crate::{Outcome, Usage};
use anyhow::{Context, Result, bail};
use hexsmith::compose::catalog::{self, Catalog, CatalogError, FileIndex};
use hexsmith::compose::particle::ParticleManifest;
use hexsmith::compose::{
    self, BuildError, BuildOptions, Mbr, ModuleInput, RestoreImage, release_dir,
};
use hexsmith::module::ModuleFunction;
use hexsmith::output::{OutputSet, prepare_folder};
use hexsmith::platform::{self, Platform};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["modules", "release", "catalog"]))]
#[command(
    after_help = "Examples:\n  hexsmith build --catalog restore-images/4.0.1.toml --from .cache/device-os --out-dir out\n  hexsmith build --mbr boron-published.hex -o boron.hex boron-*.bin tinker.bin\n  hexsmith build --release 4.0.1/ --out-dir out --platform boron --particle-json --zip"
)]
pub struct Args {
    /// Module files (.bin, or .hex/.elf holding one module), in any order.
    #[arg(value_name = "MODULE", requires = "output")]
    modules: Vec<PathBuf>,
    /// Output Intel HEX file (with MODULE...).
    #[arg(short, long, value_name = "OUT.hex")]
    output: Option<PathBuf>,
    /// Build every platform found in a folder of release files (PLATFORM-system-part1@VERSION.bin ...).
    #[arg(
        long,
        value_name = "DIR",
        requires = "out_dir",
        conflicts_with = "output"
    )]
    release: Option<PathBuf>,
    /// Build every platform of a restore-image catalog (restore-images/RELEASE.toml).
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["from", "out_dir"],
        conflicts_with = "output"
    )]
    catalog: Option<PathBuf>,
    /// Where to find the catalog's files (searched at any depth).
    #[arg(long, value_name = "DIR", requires = "catalog")]
    from: Option<PathBuf>,
    /// Output folder for --release and --catalog: OUT/PLATFORM.hex and OUT/PLATFORM.json.
    #[arg(long, value_name = "OUT", conflicts_with_all = ["output", "modules"])]
    out_dir: Option<PathBuf>,
    /// The Nordic MBR for Gen 3 images: a SoftDevice .hex, a 4 KiB .bin, or an existing restore image.
    #[arg(long, value_name = "FILE")]
    mbr: Option<PathBuf>,
    /// Take --mbr even if it does not look like a Nordic MBR (a vector table into its
    /// own 4 KiB): for an MBR you know to be right.
    #[arg(long, requires = "mbr")]
    allow_unknown_mbr: bool,
    /// Leave out the UICR page that Particle's Gen 3 images carry.
    #[arg(long)]
    no_uicr: bool,
    /// With MODULE...: check that every module is for this platform. With --release or
    /// --catalog: build only this platform.
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
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
    /// What was built as one JSON document on standard output (errors too); see docs/json.md.
    #[arg(long)]
    json: bool,
    /// Also write Particle's published manifest (prefixInfo and suffixInfo per module, as
    /// binary-version-reader prints them): --particle-json=FILE with -o; with --out-dir it
    /// is OUT/PLATFORM.json, as published, and hexsmith's own manifest moves to
    /// OUT/PLATFORM.manifest.json.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    particle_json: Option<Option<PathBuf>>,
    /// Also write the image's module files as a zip, as Particle publishes PLATFORM.zip
    /// (each as KEY.bin, KEY its name in PLATFORM.json; sorted, fixed timestamps: the same
    /// inputs give the same bytes): --zip=FILE with -o, OUT/PLATFORM.zip with --out-dir.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    zip: Option<Option<PathBuf>>,
}

/// What one `build` wrote, for `--json` (docs/json.md).
#[derive(Serialize)]
struct BuildReport {
    images: Vec<BuiltImage>,
    /// Files of a --release folder left out, each with the reason.
    skipped: Vec<String>,
}

#[derive(Serialize)]
struct BuiltImage {
    platform: String,
    platform_id: u16,
    release: Option<String>,
    hex: String,
    /// SHA-256 of the Intel HEX file as written: what `sha256sum` prints for it.
    hex_sha256: String,
    /// SHA-256 of the memory content (the manifest's `sha256`): the same for the same
    /// bytes in flash, however the file's records are laid out.
    memory_sha256: String,
    bytes: u64,
    manifest: Option<String>,
    /// Particle's manifest (`--particle-json`), or null.
    particle_json: Option<String>,
    /// The zip of the module files (`--zip`), or null.
    zip: Option<String>,
    /// How the image differs from the one Particle published for its release and
    /// platform (another application, no Tracker Edge, no NCP firmware), or why there is
    /// nothing to compare.
    unlike_published: Vec<String>,
    warnings: Vec<String>,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let read_mbr = if args.allow_unknown_mbr {
        Mbr::read_unchecked
    } else {
        Mbr::read
    };
    let mbr = args.mbr.as_deref().map(read_mbr).transpose()?;
    if let Some(mbr) = mbr.as_ref().filter(|m| m.known().is_none()) {
        eprintln!(
            "note: {}: not one of the Nordic MBRs of Particle's images: make sure it belongs with this SoftDevice",
            hexsmith::escape_controls(&mbr.name)
        );
    }
    let platform = args
        .platform
        .as_deref()
        .map(|name| {
            platform::by_name(name)
                .ok_or_else(|| Usage(format!("--platform {name}: unknown platform")))
        })
        .transpose()?;
    let options = BuildOptions {
        mbr,
        no_uicr: args.no_uicr,
        platform,
        allow_safe_mode: args.allow_safe_mode,
        user: None,
    };
    let report = if let Some(out) = &args.output {
        single(args, out, options)?
    } else {
        let out_dir = args.out_dir.as_ref().expect("clap requires --out-dir");
        let users = per_platform_users(&args.user)?;
        let mut skipped = Vec::new();
        let mut sets: Vec<(&'static Platform, Vec<ModuleInput>)> = if let Some(dir) = &args.release
        {
            let scanned = release_dir::scan(dir)?;
            skipped = scanned.skipped;
            scanned
                .platforms
                .into_iter()
                .map(|s| (s.platform, s.modules))
                .collect()
        } else {
            let path = args.catalog.as_ref().expect("clap: one mode");
            let from = args.from.as_ref().expect("clap requires --from");
            from_catalog(path, from, platform)?
        };
        for s in &skipped {
            eprintln!("note: skipped {}", hexsmith::escape_controls(s));
        }
        if let Some(wanted) = platform {
            let found: Vec<&str> = sets.iter().map(|(p, _)| p.name.as_str()).collect();
            sets.retain(|(p, _)| std::ptr::eq(*p, wanted));
            if sets.is_empty() {
                bail!(
                    "--platform {}: no {} modules among the inputs (found: {})",
                    wanted.name,
                    wanted.name,
                    if found.is_empty() {
                        "none".to_string()
                    } else {
                        found.join(", ")
                    }
                );
            }
        }
        let mut inputs: Vec<PathBuf> = sets
            .iter()
            .flat_map(|(_, modules)| modules.iter())
            .chain(users.values())
            .map(|m| m.path.clone().unwrap_or_else(|| PathBuf::from(&m.name)))
            .collect();
        inputs.extend(args.mbr.iter().chain(&args.catalog).cloned());
        if matches!(args.particle_json, Some(Some(_))) || matches!(args.zip, Some(Some(_))) {
            return Err(Usage(
                "with --out-dir, --particle-json and --zip take no file name: they write OUT/PLATFORM.json and OUT/PLATFORM.zip".into(),
            )
            .into());
        }
        let companions = Companions {
            particle_json: args.particle_json.is_some(),
            zip: args.zip.is_some(),
        };
        let images = many(sets, users, options, out_dir, &inputs, companions)?;
        BuildReport { images, skipped }
    };
    if args.json {
        out::json(&report)?;
    } else {
        for image in &report.images {
            describe(image);
        }
    }
    Ok(Outcome::Pass)
}

fn single(args: &Args, out: &Path, mut options: BuildOptions) -> Result<BuildReport> {
    if args.user.len() > 1 {
        return Err(Usage("with -o, give --user once".into()).into());
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
    let particle_json = companion_path(&args.particle_json, "--particle-json")?;
    let zip = companion_path(&args.zip, "--zip")?;
    let mut outputs = OutputSet::new(inputs_named);
    outputs.check(out)?;
    for path in [&args.manifest, &particle_json, &zip].into_iter().flatten() {
        outputs.check(path)?;
    }
    // One budget for all the inputs: sixteen files of 64 MiB are not read whole.
    let mut budget = hexsmith::input::ReadBudget::default();
    options.user = args
        .user
        .first()
        .map(|app| ModuleInput::read_within(Path::new(app), &mut budget))
        .transpose()?;
    let inputs = args
        .modules
        .iter()
        .map(|p| ModuleInput::read_within(p, &mut budget))
        .collect::<Result<Vec<_>, _>>()?;
    let used = image_modules(&inputs, options.user.as_ref());
    let built = compose::build(inputs, &options)?;
    warn(&built);
    let hex_sha256 = out::stage_hex(&mut outputs, out, &built.image)?;
    if let Some(path) = &args.manifest {
        outputs.stage(path, |file| write_manifest(file, &built))?;
    }
    stage_companions(
        &mut outputs,
        &used,
        particle_json.as_deref(),
        zip.as_deref(),
    )?;
    outputs.commit()?;
    let mut image = built_image(&built, out, hex_sha256, args.manifest.as_deref());
    image.unlike_published = unlike_published(&built, &used);
    image.particle_json = particle_json.map(|p| p.display().to_string());
    image.zip = zip.map(|p| p.display().to_string());
    Ok(BuildReport {
        images: vec![image],
        skipped: Vec::new(),
    })
}

fn many(
    sets: Vec<(&'static Platform, Vec<ModuleInput>)>,
    mut users: BTreeMap<String, ModuleInput>,
    options: BuildOptions,
    out_dir: &Path,
    inputs: &[PathBuf],
    companions: Companions,
) -> Result<Vec<BuiltImage>> {
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
            platform: Some(platform),
            ..options.clone()
        };
        let used = image_modules(&modules, opts.user.as_ref());
        let image = compose::build(modules, &opts)
            .with_context(|| format!("{}: refused", platform.name))?;
        built.push((image, used));
    }
    prepare_folder(out_dir)?;
    let mut outputs = OutputSet::new(inputs.iter().map(PathBuf::as_path));
    let mut images = Vec::new();
    for (image, used) in &built {
        let name = &image.platform.name;
        let hex_path = out_dir.join(format!("{name}.hex"));
        let hex_sha256 = out::stage_hex(&mut outputs, &hex_path, &image.image)?;
        // Particle's manifest takes the name it is published under.
        let json_path = if companions.particle_json {
            out_dir.join(format!("{name}.manifest.json"))
        } else {
            out_dir.join(format!("{name}.json"))
        };
        outputs.stage(&json_path, |file| write_manifest(file, image))?;
        let particle_json = companions
            .particle_json
            .then(|| out_dir.join(format!("{name}.json")));
        let zip = companions.zip.then(|| out_dir.join(format!("{name}.zip")));
        stage_companions(&mut outputs, used, particle_json.as_deref(), zip.as_deref())?;
        let mut report = built_image(image, &hex_path, hex_sha256, Some(&json_path));
        report.unlike_published = unlike_published(image, used);
        report.particle_json = particle_json.map(|p| p.display().to_string());
        report.zip = zip.map(|p| p.display().to_string());
        images.push(report);
    }
    outputs.commit()?;
    for (image, _) in &built {
        warn(image);
    }
    Ok(images)
}

fn built_image(
    image: &RestoreImage,
    hex: &Path,
    hex_sha256: String,
    manifest: Option<&Path>,
) -> BuiltImage {
    BuiltImage {
        platform: image.platform.name.clone(),
        platform_id: image.platform.id,
        release: image.release.clone(),
        hex: hex.display().to_string(),
        hex_sha256,
        memory_sha256: hex::encode(image.image.sha256()),
        bytes: image.image.len(),
        manifest: manifest.map(|p| p.display().to_string()),
        particle_json: None,
        zip: None,
        unlike_published: Vec::new(),
        warnings: image.warnings.clone(),
    }
}

/// [`compose::published_differences`] for a built image and the modules it holds; none
/// for an image whose Device OS release the table does not know.
fn unlike_published(image: &RestoreImage, used: &[ModuleInput]) -> Vec<String> {
    let Some(release) = &image.release else {
        return Vec::new();
    };
    compose::published_differences(
        image.platform,
        release,
        used.iter().map(|m| compose::ImageModule {
            name: file_name(&m.name),
            info: &m.module.info,
            sha256: &m.module.suffix.sha256,
        }),
    )
}

/// The file name of an input path, as a catalog names its files.
fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

/// Which of Particle's published companions `--out-dir` writes beside each image.
#[derive(Clone, Copy)]
struct Companions {
    particle_json: bool,
    zip: bool,
}

/// With -o, a companion needs its own file name.
fn companion_path(arg: &Option<Option<PathBuf>>, flag: &str) -> Result<Option<PathBuf>> {
    match arg {
        None => Ok(None),
        Some(Some(path)) => Ok(Some(path.clone())),
        Some(None) => Err(Usage(format!("with -o, name the file: {flag}=FILE")).into()),
    }
}

/// The modules an image is made of: the inputs, with the application replaced by
/// `--user` when one is given (as `compose::build` does).
fn image_modules(inputs: &[ModuleInput], user: Option<&ModuleInput>) -> Vec<ModuleInput> {
    let mut used: Vec<ModuleInput> = inputs
        .iter()
        .filter(|m| user.is_none() || m.module.info.function != ModuleFunction::UserPart)
        .cloned()
        .collect();
    used.extend(user.cloned());
    used
}

fn stage_companions(
    outputs: &mut OutputSet,
    modules: &[ModuleInput],
    particle_json: Option<&Path>,
    zip: Option<&Path>,
) -> Result<()> {
    if let Some(path) = particle_json {
        let refs: Vec<&ModuleInput> = modules.iter().collect();
        // As Particle writes it: two-space indentation and no final newline.
        let text = serde_json::to_string_pretty(&ParticleManifest::of(&refs))?;
        outputs.stage(path, |file| file.write_all(text.as_bytes()))?;
    }
    if let Some(path) = zip {
        let bytes = module_zip(modules)?;
        outputs.stage(path, |file| file.write_all(&bytes))?;
    }
    Ok(())
}

/// The module files as a zip, as Particle's Device Restore page reads `<platform>.zip`:
/// each module whole (prefix included) as `KEY.bin`, KEY its name in `<platform>.json`
/// (`bootloader.bin`, `softdevice.bin`, `system-part1.bin`, `tinker.bin`, ...). Entries
/// sorted, deflated, with the zip format's earliest timestamp and mode 0644, so that the
/// same modules always give the same bytes.
fn module_zip(modules: &[ModuleInput]) -> Result<Vec<u8>> {
    let refs: Vec<&ModuleInput> = modules.iter().collect();
    let mut entries: Vec<(String, &[u8])> = hexsmith::compose::particle::keyed(&refs)
        .into_iter()
        .map(|(key, m)| (format!("{key}.bin"), m.bytes.as_slice()))
        .collect();
    entries.sort();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer.start_file(name, options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// The catalog's platforms (only `wanted`, if given: no other platform's files are
/// looked for) and their files.
fn from_catalog(
    path: &Path,
    from: &Path,
    wanted: Option<&Platform>,
) -> Result<Vec<(&'static Platform, Vec<ModuleInput>)>> {
    let catalog = Catalog::read(path)?;
    let index = FileIndex::new(from)?;
    let name = path.display().to_string();
    catalog
        .platform
        .iter()
        .filter(|entry| wanted.is_none_or(|w| w.name == entry.name))
        .map(|entry| catalog::collect(&name, entry, &index))
        .collect::<Result<_, CatalogError>>()
        .map_err(Into::into)
}

fn per_platform_users(users: &[String]) -> Result<BTreeMap<String, ModuleInput>> {
    let mut map = BTreeMap::new();
    for u in users {
        let Some((name, app)) = u.split_once('=') else {
            return Err(Usage(format!(
                "--user {u}: with --release or --catalog, write --user PLATFORM=APP"
            ))
            .into());
        };
        let platform = platform::by_name(name)
            .ok_or_else(|| Usage(format!("--user {u}: unknown platform {name:?}")))?;
        let module = ModuleInput::read(Path::new(app))?;
        if map.insert(platform.name.clone(), module).is_some() {
            return Err(Usage(format!("--user: {name} given twice")).into());
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
        let w = w.to_string();
        eprintln!(
            "warning: {}: {}",
            image.platform.name,
            hexsmith::escape_controls(&w)
        );
    }
}

/// The text form of what was written: the file's hash under the name `sha256sum` users
/// compare it with, the memory content's hash under its own.
fn describe(image: &BuiltImage) {
    let release = image.release.as_deref().unwrap_or("unknown release");
    outln!(
        "{}: {} (Device OS {release}, {} bytes of memory)",
        image.platform,
        image.hex,
        image.bytes
    );
    outln!("  file sha256            {}", image.hex_sha256);
    outln!("  memory-content sha256  {}", image.memory_sha256);
    let release = image.release.as_deref().unwrap_or_default();
    for line in &image.unlike_published {
        outln!("  unlike Particle's {release} image: {line}");
    }
}

/// A build error for `?` in code that returns `anyhow::Result`; its kind decides the exit
/// status (see `main`).
pub fn refusal(e: BuildError) -> anyhow::Error {
    anyhow::Error::new(e)
}
