//! Running programs: argv only (no shell), secrets only on stdin, output captured.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::secrets::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status == 0
    }
}

/// Run `argv`, feeding `stdin` (a secret never goes on the command line).
pub fn run(argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| Error::invalid("empty command"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C");
    let mut child = cmd.spawn().map_err(|e| Error::Command {
        command: argv.join(" "),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            format!("{prog} is not installed")
        } else {
            e.to_string()
        },
    })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.expose().as_bytes())
            .and_then(|_| pipe.write_all(b"\n"))
            .map_err(|e| Error::Command {
                command: argv.join(" "),
                message: e.to_string(),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| Error::Command {
        command: argv.join(" "),
        message: e.to_string(),
    })?;
    Ok(Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Run and turn a non-zero exit into an error carrying stderr.
pub fn run_ok(argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
    let out = run(argv, stdin)?;
    if out.ok() {
        Ok(out)
    } else {
        let msg = if out.stderr.trim().is_empty() {
            out.stdout.trim().to_string()
        } else {
            out.stderr.trim().to_string()
        };
        Err(Error::Command {
            command: argv.join(" "),
            message: format!("exit {}: {msg}", out.status),
        })
    }
}

pub fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}
