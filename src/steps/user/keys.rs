//! `user.authorized_keys` (beyond the seed, as every current hardening guide does): public
//! keys checked (a known type, base64 that holds that type, RSA of 2048 bits or more) and added
//! to the login user's authorized_keys (where sshd's `AuthorizedKeysFile` says; `.ssh` 0700,
//! the file 0600, both owned by the user). Keys already there are not added twice; nothing
//! else in the file changes. Rollback restores the file (or removes it with a new user's home).

use base64::Engine;

use crate::model::actions::CommandAction;
use crate::model::{Action, Builder};

const TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Is `word` a key type sshd takes here?
pub fn is_type(word: &str) -> bool {
    TYPES.contains(&word)
}

/// A checked key: its type and base64, the part that identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub kind: String,
    pub blob: String,
    pub line: String,
}

fn read_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let s = b.get(4..4 + n)?;
    Some((s, &b[4 + n..]))
}

/// Check one `type base64 [comment]` line (no options: `from=`, `command=` are refused, the
/// admin adds those by hand).
pub fn check(line: &str) -> Result<Key, String> {
    let line = line.trim();
    let mut f = line.split_whitespace();
    let (Some(kind), Some(b64)) = (f.next(), f.next()) else {
        return Err("give a whole public key: \"ssh-ed25519 AAAA… comment\"".into());
    };
    if !TYPES.contains(&kind) {
        return Err(format!(
            "\"{kind}\" is not a key type sshd takes here (ssh-ed25519, ssh-rsa, ecdsa-sha2-*, \
             sk-*); options such as from= or command= are not taken here"
        ));
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| format!("the {kind} key is not valid base64"))?;
    let (t, rest) = read_string(&blob).ok_or_else(|| format!("the {kind} key is cut short"))?;
    if t != kind.as_bytes() {
        return Err(format!(
            "the key says {kind} but holds a {} key",
            String::from_utf8_lossy(t)
        ));
    }
    if kind == "ssh-rsa" {
        let (_e, rest) = read_string(rest).ok_or("the ssh-rsa key is cut short")?;
        let (n, _) = read_string(rest).ok_or("the ssh-rsa key is cut short")?;
        let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if bits < 2048 {
            return Err(format!(
                "the ssh-rsa key has {bits} bits: 2048 at least (ssh-ed25519 is better)"
            ));
        }
    }
    Ok(Key {
        kind: kind.into(),
        blob: b64.into(),
        line: line.into(),
    })
}

/// `SHA256:…` as `ssh-keygen -l` and sshd's log print it.
pub fn fingerprint(k: &Key) -> String {
    use sha2::Digest;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(&k.blob)
        .unwrap_or_default();
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob))
    )
}

/// The comment of a key line (what follows type and base64), for display.
pub fn comment(k: &Key) -> &str {
    let mut rest = k.line.as_str();
    for _ in 0..2 {
        rest = rest.trim_start();
        rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
    }
    rest.trim()
}

/// The keys of an authorized_keys text that `check` takes (lines with options such as
/// `from=` are left out: they stay in the file as they are).
pub fn parse_file(text: &str) -> Vec<Key> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| check(l).ok())
        .collect()
}

/// A key line of an authorized_keys file without its options (`from="…" ssh-ed25519 AAAA c`
/// gives `ssh-ed25519 AAAA c`), when it has a known type.
fn without_options(line: &str) -> Option<Key> {
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Ok(k) = check(rest) {
            return Some(k);
        }
        // skip one options token (quotes may hold spaces)
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                if *c == '"' {
                    quoted = !quoted;
                }
                !quoted && c.is_whitespace()
            })
            .map_or(rest.len(), |(i, _)| i);
        rest = rest[end..].trim_start();
    }
    None
}

/// The public key the admin's current SSH session logged in with, or why it cannot be
/// known (`Err(None)`: not an SSH session, nothing to say). From the `SSH_USER_AUTH` file
/// (sshd's `ExposeAuthInfo yes`), else from sshd's log line `Accepted publickey for USER from
/// IP port PORT ssh2: TYPE SHA256:FP` for this session's address and port, matched against
/// the keys in that user's authorized_keys under the root.
pub fn login_key(sys: &crate::host::Host) -> Result<Key, Option<String>> {
    let env = &sys.env;
    let conn = env
        .ssh_connection
        .as_deref()
        .or(env.ssh_client.as_deref())
        .ok_or(None)?;
    let mut f = conn.split_whitespace();
    let (Some(ip), Some(port)) = (f.next(), f.next()) else {
        return Err(None);
    };
    if let Some(path) = &env.ssh_user_auth
        && let Ok(text) = std::fs::read_to_string(path)
    {
        for l in text.lines() {
            if let Some(k) = l.strip_prefix("publickey ")
                && let Ok(k) = check(k)
            {
                return Ok(k);
            }
        }
        return Err(Some("this session did not log in with a key".into()));
    }
    let needle = format!(" port {port} ssh2");
    let mut seen_log = None;
    for log in ["/var/log/secure", "/var/log/auth.log", "/var/log/messages"] {
        // the newest 4 MB are enough for this session's login (a log may be huge)
        let Some(tail) = tail(&sys.root.host(log), 4 << 20) else {
            continue;
        };
        seen_log.get_or_insert(log);
        let text = String::from_utf8_lossy(&tail);
        for l in text.lines().rev() {
            let Some(i) = l.find("Accepted ") else {
                continue;
            };
            let rest = &l[i + "Accepted ".len()..];
            if !rest.contains(&format!(" from {ip}{needle}")) {
                continue;
            }
            let Some(rest) = rest.strip_prefix("publickey for ") else {
                return Err(Some("this session did not log in with a key".into()));
            };
            let user = rest.split_whitespace().next().unwrap_or("");
            let fp = rest
                .split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .unwrap_or("");
            let Some(u) = sys.users.get(user) else {
                return Err(Some(format!(
                    "{log} names a user this system does not have"
                )));
            };
            let akf = sys
                .sshd
                .as_ref()
                .ok()
                .and_then(|c| c.first("authorizedkeysfile").map(|o| o.args.clone()));
            let file = path(akf.as_deref(), &u.name, &u.home);
            let have = sys.root.read_text(&file).ok().flatten().unwrap_or_default();
            return have
                .lines()
                .filter_map(without_options)
                .find(|k| fingerprint(k) == fp)
                .ok_or_else(|| Some(format!("the key {fp} of this login is not in {file}")));
        }
    }
    Err(Some(match seen_log {
        Some(log) => format!("no login from {ip} port {port} in {log}"),
        None => "no sshd log (ExposeAuthInfo yes would tell)".into(),
    }))
}

/// The last `max` bytes of a file.
fn tail(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut out = Vec::new();
    f.take(max).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Where sshd reads `user`'s keys: the first file of `AuthorizedKeysFile` (`%h`, `%u`;
/// relative to the home), else `~/.ssh/authorized_keys`.
pub fn path(authorized_keys_file: Option<&[String]>, user: &str, home: &str) -> String {
    let f = authorized_keys_file
        .and_then(|a| a.iter().find(|f| !f.eq_ignore_ascii_case("none")))
        .cloned()
        .unwrap_or_else(|| ".ssh/authorized_keys".into());
    let f = f.replace("%h", home).replace("%u", user).replace("%%", "%");
    if f.starts_with('/') {
        f
    } else {
        format!("{}/{f}", home.trim_end_matches('/'))
    }
}

/// The checked keys of the answers (errors under `user.authorized_keys[N]`).
pub fn checked(b: &mut Builder<'_>, lines: &[String]) -> Option<Vec<Key>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, l) in lines.iter().enumerate() {
        match check(l) {
            Ok(k) => out.push(k),
            Err(e) => {
                b.error(&format!("user.authorized_keys[{i}]"), e);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Add the keys not yet in `file` (a target path) to it, after the user exists: one command
/// that makes the directory 0700 and the file 0600, owned like the home.
pub fn install(b: &mut Builder<'_>, keys: &[Key], home: &str, file: &str) {
    let have = b
        .sys
        .root
        .read_text(file)
        .ok()
        .flatten()
        .unwrap_or_default();
    let missing: Vec<&Key> = keys
        .iter()
        .filter(|k| {
            !have.lines().any(|l| {
                let mut f = l.split_whitespace();
                f.next() == Some(k.kind.as_str()) && f.next() == Some(k.blob.as_str())
            })
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let host = |p: &str| b.sys.root.host(p).display().to_string();
    let mut argv = crate::exec::argv(&[
        "sh",
        "-c",
        "set -e; h=$1; f=$2; shift 2; u=$(stat -c %u \"$h\"); g=$(stat -c %g \"$h\"); \
         d=$(dirname \"$f\"); [ -d \"$d\" ] || install -d -m 0700 -o \"$u\" -g \"$g\" \"$d\"; \
         umask 077; for k; do printf '%s\\n' \"$k\" >> \"$f\"; done; \
         chown \"$u:$g\" \"$f\"; chmod 0600 \"$f\"",
        "sh",
    ]);
    argv.push(host(home));
    argv.push(host(file));
    argv.extend(missing.iter().map(|k| k.line.clone()));
    b.actions.push(Action::Command(CommandAction {
        argv,
        undo: Vec::new(),
        // backed up before, restored (or removed) by rollback
        touches: vec![file.to_string()],
        changes_state: true,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0aGVyZS1pcy1ub3QtYS1yZWFsLWtleS1oZXJl admin@laptop";

    #[test]
    fn keys_are_checked_by_type_base64_and_size() {
        let k = check(ED).unwrap();
        assert_eq!(k.kind, "ssh-ed25519");
        assert!(
            check("ssh-ed25519 notbase64!!")
                .unwrap_err()
                .contains("base64")
        );
        assert!(
            check("ssh-dss AAAA")
                .unwrap_err()
                .contains("not a key type")
        );
        assert!(check("from=\"1.2.3.4\" ssh-ed25519 AAAA").is_err());
        // an RSA key of 1024 bits: type, e = 65537, n of 128 bytes
        let mut blob = Vec::new();
        for part in [b"ssh-rsa".to_vec(), vec![1, 0, 1], {
            let mut n = vec![0u8];
            n.extend([0xc5u8; 128]);
            n
        }] {
            blob.extend((part.len() as u32).to_be_bytes());
            blob.extend(part);
        }
        let line = format!(
            "ssh-rsa {}",
            base64::engine::general_purpose::STANDARD.encode(&blob)
        );
        assert!(
            check(&line).unwrap_err().contains("1024 bits"),
            "{:?}",
            check(&line)
        );
    }

    #[test]
    fn the_path_follows_authorized_keys_file() {
        assert_eq!(path(None, "u", "/home/u"), "/home/u/.ssh/authorized_keys");
        let a = vec!["/etc/ssh/keys/%u".to_string()];
        assert_eq!(path(Some(&a), "u", "/home/u"), "/etc/ssh/keys/u");
        let b = vec!["none".to_string(), ".ssh/k".to_string()];
        assert_eq!(path(Some(&b), "u", "/home/u/"), "/home/u/.ssh/k");
    }
}
