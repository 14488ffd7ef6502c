//! Build one restore image from module files, as `hexsmith build -o OUT MODULE...` does.
//!
//! ```sh
//! cargo run --example build_image -- boron.hex boron-bootloader@4.0.1.bin \
//!     boron-softdevice@4.0.1.bin boron-system-part1@4.0.1.bin tinker-0.8.0-rc.27-boron.bin
//! ```

use hexsmith::{BuildOptions, ModuleInput, build};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [out, modules @ ..] = args.as_slice() else {
        return Err("usage: build_image OUT.hex MODULE...".into());
    };
    // Each module is checked as it is read (prefix, CRC, SHA-256), and `build` checks them
    // together (one platform, slots, overlaps, dependencies) before any byte is placed.
    let inputs = modules
        .iter()
        .map(|m| ModuleInput::read(m))
        .collect::<Result<Vec<_>, _>>()?;
    let image = build(inputs, &BuildOptions::default())?;
    for warning in &image.warnings {
        eprintln!("warning: {warning}");
    }
    // Written to a temporary file, fsynced and renamed: never a half-written image.
    image.write_hex(out)?;
    println!(
        "{}: {} image, {} bytes in {} regions",
        out.display(),
        image.platform.name,
        image.image.len(),
        image.image.segments().len()
    );
    Ok(())
}
