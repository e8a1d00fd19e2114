//! Embeds the bundled demo system (assets/demo/root) into the binary, so `pbx-harden demo`
//! works wherever the binary is copied.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn walk(base: &Path, dir: &Path, out: &mut String) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().display().to_string();
        let md = std::fs::symlink_metadata(&p).unwrap();
        if md.file_type().is_symlink() {
            let t = std::fs::read_link(&p).unwrap();
            writeln!(
                out,
                "    ({rel:?}, DemoEntry::Symlink({:?})),",
                t.display().to_string()
            )
            .unwrap();
        } else if md.is_dir() {
            writeln!(out, "    ({rel:?}, DemoEntry::Dir),").unwrap();
            walk(base, &p, out);
        } else {
            let exec = md.permissions().mode() & 0o111 != 0;
            writeln!(
                out,
                "    ({rel:?}, DemoEntry::File(include_bytes!({:?}), {exec})),",
                p.canonicalize().unwrap().display().to_string()
            )
            .unwrap();
        }
    }
}

fn main() {
    let base = Path::new("assets/demo/root");
    println!("cargo:rerun-if-changed=assets/demo");
    // `--version` names the target (a static musl binary runs on CentOS 7 as on Debian 13).
    println!(
        "cargo:rustc-env=PBX_HARDEN_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    let mut out = String::from("pub static DEMO_ROOT: &[(&str, DemoEntry)] = &[\n");
    walk(base, base, &mut out);
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("demo_root.rs");
    std::fs::write(dest, out).unwrap();
}
