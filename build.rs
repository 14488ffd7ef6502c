//! Tells the tests whether Particle's RTL872x flash loader is at hand: from
//! HEXSMITH_RTL872X_LOADER, or the copy CI keeps at ../shared/fixtures/rtl872x.tcl.
//! Without it, the tests that run the loader are ignored, and `scripts/test` counts and
//! names them as skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rtl872x_loader)");
    println!("cargo::rerun-if-env-changed=HEXSMITH_RTL872X_LOADER");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/rtl872x.tcl");
    println!("cargo::rerun-if-changed={}", fixture.display());
    let from_env = std::env::var_os("HEXSMITH_RTL872X_LOADER")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    let found = from_env.as_deref().is_some_and(|p| p.is_file()) || fixture.is_file();
    if found {
        println!("cargo::rustc-cfg=rtl872x_loader");
    }
}
