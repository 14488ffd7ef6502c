//! Every real module in the fetched particle-cli packages, read by hexsmith and by
//! Particle's own JavaScript reader (binary-version-reader, via
//! scripts/independent-reader.js), must agree field by field.

mod common;

use common::{all_bins, cache, node, repo};
use serde_json::Value;
use std::process::Command;

#[test]
fn hexsmith_agrees_with_particles_reader_on_every_real_module() {
    let files = all_bins();
    let stdout = node(
        Command::new("node")
            .arg(repo().join("scripts/independent-reader.js"))
            .args(&files)
            .env("HEXSMITH_CACHE", cache()),
    );
    let theirs: Vec<Value> = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(theirs.len(), files.len());

    let mut compared = 0;
    let mut refused = Vec::new();
    for (path, t) in files.iter().zip(&theirs) {
        let bytes = std::fs::read(path).unwrap();
        let Ok(m) = hexsmith::module::Module::parse(&bytes) else {
            // hexsmith found no module: Particle's reader must not have found a sound one.
            assert!(
                t.get("error").is_some() || t["crc_ok"] == false,
                "{}: hexsmith refused a module Particle's reader accepts: {t}",
                path.display()
            );
            refused.push(path.file_name().unwrap().to_string_lossy().into_owned());
            continue;
        };
        let ours = serde_json::json!({
            "start_address": m.info.start,
            "end_address": m.info.end,
            "flags": m.info.flags.0,
            "module_version": m.info.version,
            "platform_id": m.info.platform_id,
            "function": m.info.function.code(),
            "index": m.info.index,
            "dependencies": m.info.active_dependencies().map(|d| serde_json::json!({
                "function": d.function.code(), "index": d.index, "version": d.version
            })).collect::<Vec<_>>(),
            "product_id": m.suffix.product_id,
            "product_version": m.suffix.product_version,
            "suffix_size": m.suffix.size,
            "crc_ok": m.crc_ok(),
            "sha256_ok": m.sha256_ok(),
        });
        for (field, value) in ours.as_object().unwrap() {
            assert_eq!(&t[field], value, "{}: field {field}", path.display());
        }
        compared += 1;
    }
    // 251 modules and 12 files that are not modules (cc3000 patchers, a 2014 deep update,
    // a one-byte OTA flag) in the six pinned particle-cli packages.
    assert_eq!(compared, 251, "modules compared; refused: {refused:?}");
    assert_eq!(refused.len(), 12, "{refused:?}");
}
