//! Prints `src/platform/published.toml` derived from the published restore-module table
//! (run by `scripts/derive-published`).

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/data/published-restore-modules.tsv".to_string());
    let tsv = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            std::process::exit(2);
        }
    };
    match hexsmith::platform::derive_published(&tsv) {
        Ok(toml) => print!("{toml}"),
        Err(e) => {
            eprintln!("error: {path}: {e}");
            std::process::exit(1);
        }
    }
}
