//! Put a customer's application into an existing restore image, as
//! `hexsmith replace-user --base BASE.hex --user APP.bin -o OUT.hex` does.
//!
//! ```sh
//! cargo run --example replace_app -- boron.hex my-app.bin boron-my-app.hex
//! ```

use hexsmith::input::{self, Input};
use hexsmith::memory::hex;
use hexsmith::output::OutputSet;
use hexsmith::{ModuleInput, ReplaceOptions, replace_user};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [base_path, app_path, out] = args.as_slice() else {
        return Err("usage: replace_app BASE.hex APP.bin OUT.hex".into());
    };
    let Input::Image { image: base, .. } = input::read(base_path)? else {
        return Err(format!("{}: a module, not an image", base_path.display()).into());
    };
    let app = ModuleInput::read(app_path)?;
    // Refused if the application is for another platform or needs a Device OS the image
    // does not hold: a device would boot it into safe mode.
    let replaced = replace_user(
        &base_path.display().to_string(),
        &base,
        &app,
        ReplaceOptions::default(),
    )?;
    // Staged in a set that knows the inputs, so OUT can never overwrite BASE or APP.
    let mut outputs = OutputSet::new([base_path.as_path(), app_path.as_path()]);
    outputs.stage(out, |file| hex::write_to(&replaced.image, file))?;
    outputs.commit()?;
    println!(
        "{}: {} image with {}",
        out.display(),
        replaced.platform.name,
        app_path.display()
    );
    Ok(())
}
