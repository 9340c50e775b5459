//! Links the functions the commands run next to each other
//! (`link/code-order.txt`, made by `scripts/code-order.sh`), so the
//! program's code a command reads in from disk is a few hundred pages in
//! a row rather than pages all over its 8 MB (docs/design.md, Performance:
//! Memory). Only where the link is done by lld, which takes an order for
//! symbols: Rust 1.90 and later on x86_64 Linux, unless the build asks for
//! another linker. Elsewhere the build is as it was.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/code-order.txt");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if !links_with_lld() {
        return;
    }
    let order =
        std::path::Path::new(env("CARGO_MANIFEST_DIR").as_str()).join("link/code-order.txt");
    if !order.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // Names the order lists that this build does not have (another
    // compiler, other features) are left out without a word.
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Whether rustc links this build with lld: its default for
/// x86_64-unknown-linux-gnu since 1.90, unless a linker or linker
/// features are asked for.
fn links_with_lld() -> bool {
    if env("TARGET") != "x86_64-unknown-linux-gnu" {
        return false;
    }
    if !env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        || env("CARGO_ENCODED_RUSTFLAGS").contains("link")
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Ok(out) = Command::new(rustc).arg("-V").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
