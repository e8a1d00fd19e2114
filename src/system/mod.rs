//! Everything pbx-harden knows of the target, read once under `--root`: the host's own facts
//! (`crate::host::Host`, which `System` derefs to) and the facts of the steps that have
//! their own (`services`: the inventory and the bundled lists; `extensions`: the scan of
//! SIP/IAX secrets; `firewall`: APF, BFD, fail2ban, managers, Asterisk's ports).
//!
//! `System::detect` gathers every fact the plan, the audit and the wizard need; none of them
//! read the target again on their own. The slow ones (`services`, `extensions`) are `Lazy`:
//! found by an explicit `force()` (the plan, the audit, the wizard's job thread).

pub use crate::steps::asterisk::facts as extensions;
pub use crate::steps::firewall::facts as firewall;
pub use crate::steps::services::facts as services;

use std::sync::Arc;

use crate::error::Result;
use crate::exec::Runner;
pub use crate::host::*;
use crate::root::Root;

/// The host's facts and the steps' facts.
#[derive(Debug, Clone)]
pub struct System {
    pub host: Host,
    /// APF, BFD, fail2ban, nftables, firewalld, ufw as installed on the target.
    pub firewall: firewall::FirewallInfo,
    /// System services and their boot/run state (found on first use: `systemctl` is slow).
    pub services: Lazy<services::Inventory>,
    /// SIP/IAX peers and their secrets.
    pub extensions: Lazy<extensions::Scan>,
    /// How sshd runs, SELinux's SSH ports, the OpenSSH release (found on first use: on the
    /// live system it asks systemctl, semanage, sshd and ssh).
    pub ssh: Lazy<crate::steps::ssh::facts::Facts>,
}

impl std::ops::Deref for System {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.host
    }
}

impl System {
    /// The facts of the system at `root`, its commands run for real (or, for a target
    /// other than `/`, from or into a machine profile when `profile::runner_from_env` says so).
    pub fn detect(root: &Root, env: &Env) -> Result<System> {
        let runner = crate::profile::runner_from_env(root)?;
        System::detect_with(root, env, runner)
    }

    /// `detect`, with the probe's and the plan's commands sent to `runner`.
    pub fn detect_with(root: &Root, env: &Env, runner: Arc<dyn Runner>) -> Result<System> {
        let host = Host::detect_with(root, env, runner)?;
        Ok(System::from_host(host))
    }

    /// The steps' facts of `host` (the slow ones found on first use).
    pub fn from_host(host: Host) -> System {
        let root = host.root.clone();
        let init = host.init;
        let run = host.runner.clone();
        System {
            firewall: firewall::detect(&host.root, host.interfaces.clone()),
            services: Lazy::new(move || services::detect_with(&root, init, &*run)),
            extensions: {
                let r = host.root.clone();
                Lazy::new(move || extensions::scan(&r))
            },
            ssh: {
                let h = host.clone();
                Lazy::new(move || crate::steps::ssh::facts::detect(&h))
            },
            host,
        }
    }
}
