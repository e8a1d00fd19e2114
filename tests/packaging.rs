//! The packages `packaging/build` writes: what is in them, and the static binary itself.
//! `.ci/run` runs `packaging/build` before the tests; outside CI, without packages, these
//! tests say so and pass (under CI=true a missing package fails).

use std::path::{Path, PathBuf};
use std::process::Command;

fn packages() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/packages");
    let find = |ext: &str| {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == ext))
    };
    match (find("deb"), find("rpm")) {
        (Some(d), Some(r)) => Some((d, r)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: no .deb/.rpm in {}: .ci/run must run packaging/build first",
                dir.display()
            );
            eprintln!(
                "no packages in {} (run packaging/build): not checked",
                dir.display()
            );
            None
        }
    }
}

fn out(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const CONTENTS: &[&str] = &[
    "/usr/sbin/pbx-harden",
    "/usr/share/man/man8/pbx-harden.8.gz",
    "/usr/share/bash-completion/completions/pbx-harden",
    "/usr/share/fish/vendor_completions.d/pbx-harden.fish",
    "/usr/lib/systemd/system/pbx-harden-firstboot.service",
    "/usr/share/doc/pbx-harden/examples/answers.toml",
    "/usr/share/doc/pbx-harden/README.md",
];

#[test]
fn the_deb_holds_the_static_binary_man_page_completions_unit_and_docs() {
    let Some((deb, _)) = packages() else { return };
    let list = out(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for f in CONTENTS
        .iter()
        .chain(&["/usr/share/zsh/vendor-completions/_pbx-harden"])
    {
        assert!(
            list.contains(&format!(".{f}")),
            "{f} not in {}:\n{list}",
            deb.display()
        );
    }
    let depends = out(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Depends"));
    assert!(depends.contains("openssh-server"), "Depends: {depends}");
    let rec = out(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Recommends"));
    assert!(
        rec.contains("fail2ban") && rec.contains("nftables"),
        "Recommends: {rec}"
    );

    // The binary in it: static, and it runs.
    let x = tempfile::tempdir().unwrap();
    out(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(x.path()));
    let bin = x.path().join("usr/sbin/pbx-harden");
    let headers = out(Command::new("readelf").arg("-ld").arg(&bin));
    assert!(
        !headers.contains("INTERP"),
        "a program interpreter: not static"
    );
    assert!(
        !headers.contains("NEEDED"),
        "dynamic dependencies:\n{headers}"
    );
    // Position-independent (its address is randomised), with its relocations packed
    // (.cargo/config.toml: what keeps start-up at whiptail's).
    assert!(
        headers.contains("DYN (Position-Independent Executable"),
        "not position-independent:\n{headers}"
    );
    assert!(
        headers.contains("(RELR)"),
        "relocations not packed:\n{headers}"
    );
    let v = out(Command::new(&bin).arg("--version"));
    assert!(v.contains("x86_64-unknown-linux-musl"), "{v}");
    let man = out(Command::new("zcat").arg(x.path().join("usr/share/man/man8/pbx-harden.8.gz")));
    assert!(man.contains(".SH \"EXIT STATUS\"") && man.contains("pbx\\-harden plan"));
}

#[test]
fn the_rpm_holds_the_same_files_and_requires_openssh_server() {
    let Some((_, rpm)) = packages() else { return };
    let list = out(Command::new("rpm").args(["-qlp"]).arg(&rpm));
    for f in CONTENTS
        .iter()
        .chain(&["/usr/share/zsh/site-functions/_pbx-harden"])
    {
        assert!(
            list.lines().any(|l| l == *f),
            "{f} not in {}:\n{list}",
            rpm.display()
        );
    }
    let req = out(Command::new("rpm").args(["-qp", "--requires"]).arg(&rpm));
    assert!(req.contains("openssh-server"), "{req}");
}
