//! The .deb on a booted Debian 12 box: it installs, its binary runs, and `firstboot enable`
//! makes the next boot offer the wizard on the console before the login prompt, once.
//! `.ci/run` builds the packages (packaging/build) before the tests.

mod boxes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use boxes::{Flavor, TestBox};

fn deb() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/packages");
    let found = std::fs::read_dir(&dir).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: no .deb in {}: .ci/run must run packaging/build first",
            dir.display()
        );
        eprintln!(
            "no .deb in {} (run packaging/build): not checked",
            dir.display()
        );
    }
    found
}

const PROMPT: &str = "Enter   start the hardening wizard";

#[test]
fn the_deb_installs_and_the_first_boot_offers_the_wizard_on_the_console_once() {
    let Some(deb) = deb() else { return };
    let Some(b) = TestBox::start_interactive("pkg-firstboot", Flavor::Systemd) else {
        return;
    };
    std::fs::copy(&deb, b.root().join("var/tmp/pbx-harden.deb")).unwrap();
    // The package's binary, not the test build the harness copies to /usr/local/sbin.
    let out = b.sh_ok(
        "rm -f /usr/local/sbin/pbx-harden && dpkg -i /var/tmp/pbx-harden.deb >/dev/null && \
         command -v pbx-harden && pbx-harden --version && \
         test -s /usr/share/man/man8/pbx-harden.8.gz && \
         test -s /usr/share/bash-completion/completions/pbx-harden && \
         test -s /usr/lib/systemd/system/pbx-harden-firstboot.service && \
         pbx-harden audit >/dev/null; test $? -le 1 && \
         pbx-harden firstboot enable && pbx-harden firstboot status",
    );
    assert!(out.starts_with("/usr/sbin/pbx-harden\n"), "{out}");
    assert!(out.contains("x86_64-unknown-linux-musl"), "{out}");
    assert!(
        out.contains("offered on the console at the next boot"),
        "{out}"
    );

    // Boot 1: the offer on the console; Enter starts the wizard there; quitting it gives the
    // login prompt.
    // The first boot's own login prompt may still be on its way to the console: let it come,
    // so that only what the next boot shows is looked at.
    b.wait_console("login:", 0, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    let t = std::time::Instant::now();
    let from = b.console_log().len();
    b.reboot_nowait();
    let at = b.wait_console(PROMPT, from, Duration::from_secs(120));
    let no_login_yet = b.console_log()[from..at].contains("login:");
    assert!(!no_login_yet, "the login prompt came before the offer");
    eprintln!(
        "[firstboot] offered {:.1}s after the reboot",
        t.elapsed().as_secs_f64()
    );
    b.type_at_console("\r");
    let at = b.wait_console("Welcome", at, Duration::from_secs(60));
    eprintln!(
        "[firstboot] the console after Enter:\n{}",
        String::from_utf8_lossy(&strip(&b.console_log()[at.saturating_sub(1500)..at]))
    );
    std::thread::sleep(Duration::from_millis(500));
    b.type_at_console("\x03");
    std::thread::sleep(Duration::from_millis(500));
    b.type_at_console("y");
    b.wait_console("login:", at, Duration::from_secs(60));
    b.wait_booted();
    let st = b.sh_ok("pbx-harden firstboot status; cat /var/lib/pbx-harden/firstboot.done");
    assert!(
        st.contains("has run") && st.contains("wizard on console ended"),
        "{st}"
    );

    // Boot 2: not offered again.
    let from = b.console_log().len();
    b.reboot_nowait();
    let end = b.wait_console("login:", from, Duration::from_secs(120));
    assert!(
        !b.console_log()[from..end].contains(PROMPT),
        "offered a second time"
    );
    b.wait_booted();

    // Enabled again, then skipped with s: the login prompt follows at once.
    b.sh_ok("pbx-harden firstboot enable >/dev/null");
    let from = b.console_log().len();
    b.reboot_nowait();
    let at = b.wait_console(PROMPT, from, Duration::from_secs(120));
    b.type_at_console("s\r");
    let at = b.wait_console("Skipped", at, Duration::from_secs(30));
    b.wait_console("login:", at, Duration::from_secs(60));
    b.wait_booted();
    let st = b.sh_ok("cat /var/lib/pbx-harden/firstboot.done");
    assert!(st.starts_with("skipped on console"), "{st}");
}

/// The console's text without escape sequences, for a person to read in the log.
fn strip(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b {
            i += 1;
            if b.get(i) == Some(&b'[') {
                i += 1;
                while i < b.len() && !(0x40..=0x7e).contains(&b[i]) {
                    i += 1;
                }
            }
            i += 1;
            out.push(b' ');
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
