//! The browser half of the UI, built with the server half: this crate compiled again for
//! `wasm32-unknown-unknown` with `hydrate` (in `target/wasm`, so it does not wait on the outer
//! build's lock), then bound for the browser by wasm-bindgen's library (the same version as the
//! `wasm-bindgen` crate, so no CLI to install). `src/serve.rs` embeds the result.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=style.css");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-env-changed=SHOEBOX_WASM_TARGET_DIR");
    // Only the server build embeds the bundle; the nested build (below) runs this script too.
    if std::env::var_os("CARGO_FEATURE_SSR").is_none()
        || std::env::var_os("SHOEBOX_WEB_BUNDLE").is_some()
    {
        return;
    }
    if let Err(e) = build() {
        eprintln!("error: building the web UI's browser bundle failed: {e}");
        std::process::exit(1);
    }
}

fn build() -> Result<(), String> {
    let var = |name: &str| std::env::var_os(name).ok_or(format!("{name} is not set"));
    let manifest = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(var("OUT_DIR")?).join("pkg");
    let cargo = var("CARGO")?;
    let target_dir = std::env::var_os("SHOEBOX_WASM_TARGET_DIR")
        .map_or_else(|| manifest.join("../target/wasm"), PathBuf::from);
    ensure_target()?;
    let mut build = Command::new(&cargo);
    build
        .current_dir(&manifest)
        .args([
            "rustc",
            "--lib",
            "--crate-type",
            "cdylib",
            "--target",
            TARGET,
        ])
        .args(["--no-default-features", "--features", "hydrate"])
        .args(["--profile", "wasm-release", "--target-dir"])
        .arg(&target_dir);
    // The outer build's settings are for the host (and clippy's wrapper is for our lints);
    // this script's own variables (features, cfgs) must not leak into the nested one's.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_FEATURE_") || name.starts_with("CARGO_CFG_") {
            build.env_remove(name.as_ref());
        }
    }
    build.env("SHOEBOX_WEB_BUNDLE", "1");
    for name in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        build.env_remove(name);
    }
    let status = build.status().map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo rustc --target {TARGET} failed ({status})"));
    }
    let wasm = target_dir
        .join(TARGET)
        .join("wasm-release")
        .join("shoebox_web.wasm");
    bind(&wasm, &out)
}

/// Installs the wasm target with rustup when it is missing (a fresh machine).
fn ensure_target() -> Result<(), String> {
    let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("running rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
    {
        return Ok(());
    }
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if added {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is missing: run `rustup target add {TARGET}`"
        ))
    }
}

/// wasm-bindgen's JS glue and the bound module, as `web.js` and `web_bg.wasm` in `out`, each
/// beside its gzip (served to browsers that accept it: a third of the bytes).
fn bind(wasm: &Path, out: &Path) -> Result<(), String> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .out_name("web")
        .generate(out)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    let mut version = std::collections::hash_map::DefaultHasher::new();
    for name in ["web.js", "web_bg.wasm"] {
        let bytes = gzip(&out.join(name))?;
        std::hash::Hash::hash(&bytes, &mut version);
    }
    let style = fs_err::read("style.css").map_err(|e| e.to_string())?;
    std::hash::Hash::hash(&style, &mut version);
    // The bundle's ETag: browsers revalidate and get 304 until the next build.
    let tag = format!("\"{:016x}\"", std::hash::Hasher::finish(&version));
    fs_err::write(out.join("etag"), tag).map_err(|e| e.to_string())
}

/// Writes `path.gz` beside `path`, compressed at the highest level; the plain bytes.
fn gzip(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let bytes = fs_err::read(path).map_err(|e| e.to_string())?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(&bytes)
        .map_err(|e| format!("compressing {}: {e}", path.display()))?;
    let packed = encoder
        .finish()
        .map_err(|e| format!("compressing {}: {e}", path.display()))?;
    let mut target = path.as_os_str().to_owned();
    target.push(".gz");
    fs_err::write(&target, packed).map_err(|e| e.to_string())?;
    Ok(bytes)
}
