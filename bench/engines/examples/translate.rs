//! Writes the three translations of the generated tenant to a directory, for reading:
//! `cedar-allow.cedar`, `cedar-full.cedar`, `entities.json`, `ca.rego`, `data.json`, and the
//! first request as `request.json` with its Cedar context and Rego input.
//!
//! Run with `cargo run --release --manifest-path bench/engines/Cargo.toml --example translate
//! -- [POLICIES] [DIR]` (defaults: 50, `bench/engines/target/translation`).

use std::path::PathBuf;

use gardien_bench_engines::cedar::{self, Mode};
use gardien_bench_engines::fixture::SEED;
use gardien_bench_engines::host::Host;
use gardien_bench_engines::model::Model;
use gardien_bench_engines::{Error, rego, synthetic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let policies: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/translation"));
    std::fs::create_dir_all(&dir)?;
    let generated = synthetic::generate_sized(SEED, policies, 1);
    let model = Model::load(&generated.source)?;
    let host = Host::new(&model)?;
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text);
    write(
        "cedar-allow.cedar",
        cedar::policy_text(&model, Mode::AllowOrNot),
    )?;
    write("cedar-full.cedar", cedar::policy_text(&model, Mode::Full))?;
    write(
        "entities.json",
        serde_json::to_string_pretty(&cedar::entities_json(&model, &host))?,
    )?;
    write("ca.rego", rego::module(&model))?;
    write(
        "data.json",
        serde_json::to_string_pretty(&rego::data(&model))?,
    )?;
    let request = generated
        .requests
        .first()
        .ok_or_else(|| Error("no request".to_owned()))?;
    write("request.json", serde_json::to_string_pretty(request)?)?;
    let resolved = host.resolve(request)?;
    write("resolved.txt", format!("{resolved:#?}\n"))?;
    write(
        "input.json",
        serde_json::to_string_pretty(&rego::input(&resolved))?,
    )?;
    println!(
        "{} policies ({} translated) written to {}",
        policies,
        model.policies.len(),
        dir.display()
    );
    Ok(())
}
