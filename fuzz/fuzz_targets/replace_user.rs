//! Replacing the application of any image with any module: a new image or a refusal,
//! never a panic. Input: a little-endian u32 load address and u32 length, that many
//! bytes of base image placed at the address, then the application's bytes.
#![no_main]

use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::compose::{Manifest, ModuleInput};
use hexsmith::memory::bin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((address, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((len, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base, app) = rest.split_at(len);
    let Ok(base) = bin::load(base, u32::from_le_bytes(*address)) else {
        return;
    };
    let Ok(app) = ModuleInput::from_bytes("app", app.to_vec()) else {
        return;
    };
    for allow_safe_mode in [false, true] {
        let options = ReplaceOptions::default().with_allow_safe_mode(allow_safe_mode);
        if let Ok(replaced) = replace_user("base", &base, &app, options) {
            assert!(replaced.image.len() >= app.bytes.len() as u64);
            let _: Option<Manifest> = Manifest::of_image(&replaced.image, replaced.warnings);
        }
    }
});
