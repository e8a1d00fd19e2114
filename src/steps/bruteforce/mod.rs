//! Brute-force protection, the seed's BFD (`bfd`: conf.bfd, ignore.hosts, its cron line)
//! or fail2ban (`fail2ban`: jail.local with the sshd and asterisk jails, bans through the
//! firewall in charge).
//!
//! Both plan from the firewall step's `Ctx` (the SSH ports, the admin) and `Spec` (trusted
//! hosts, which they never ban); the firewall step calls them, since fail2ban can be the
//! firewall itself (`firewall.backend = "fail2ban"`). Their facts are in the firewall
//! step's `FirewallInfo` (`bfd`, `fail2ban`).

pub mod answers;
pub mod audit;
pub mod bfd;
pub mod fail2ban;
