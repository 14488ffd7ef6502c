//! Composing a restore image from any modules: a composed image or a refusal, never a
//! panic. Input: a flags byte (bit 0 allow safe mode, bit 1 leave out the UICR, bit 2
//! an MBR), then modules, each a little-endian u32 length and that many bytes.
//! A composed image must survive its own Intel HEX and give a manifest.
#![no_main]

use hexsmith::compose::{BuildOptions, MBR_LEN, Manifest, Mbr, ModuleInput, build};
use hexsmith::memory::hex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut inputs = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
        let (bytes, tail) = tail.split_at(len);
        if let Ok(m) = ModuleInput::from_bytes(format!("m{}", inputs.len()), bytes.to_vec()) {
            inputs.push(m);
        }
        rest = tail;
        if inputs.len() == 8 {
            break;
        }
    }
    let mut mbr = vec![0u8; MBR_LEN];
    mbr[..rest.len().min(MBR_LEN)].copy_from_slice(&rest[..rest.len().min(MBR_LEN)]);
    let mbr = Mbr {
        name: "mbr".into(),
        bytes: mbr,
    };
    let _ = mbr.fault();
    let options = BuildOptions::default()
        .with_mbr((flags & 4 != 0).then_some(mbr))
        .with_no_uicr(flags & 2 != 0)
        .with_allow_safe_mode(flags & 1 != 0);
    let Ok(image) = build(inputs, &options) else {
        return;
    };
    let text = image.to_hex();
    let (back, _) = hex::parse(text.as_bytes()).expect("a composed image reads back");
    assert_eq!(
        back, image.image,
        "a composed image changes through Intel HEX"
    );
    let _ = image.manifest();
    let _ = Manifest::of_image(&image.image, Vec::new());
});
