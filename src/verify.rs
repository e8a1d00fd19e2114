//! The verify pass: the real tools judge the drafted plan (`sshd -t` and `-T` on the
//! flattened sshd configuration, `nft -c` on pbx-harden's table, `firewall-offline-cmd
//! --check-config` over the edited zones, ufw's `show added` and `iptables-restore --test`,
//! `fail2ban-client -t` and `-d`). The steps ask for these while planning
//! (`Builder::verify`), with the files as the plan writes them; nothing runs until this
//! pass. Each verification's checks go in at the place its step asked, so the plan reads
//! the same as if they had run in line.
//!
//! The tools are reached through the host's `Runner`: a machine profile answers them in
//! tests; CI runs the real ones.

use crate::host::Host;
use crate::model::{Builder, Plan};

/// Run every pending verification of `plan` and add its checks (and problems).
pub fn run(host: &Host, plan: &mut Plan) {
    let pending = std::mem::take(&mut plan.unverified);
    // Last first: inserting at a later index leaves the earlier indexes where they were.
    for (at, v) in pending.into_iter().rev() {
        let mut b = Builder::new(host);
        b.summary = plan.summary.clone();
        v.run(&mut b);
        let at = at.min(plan.checks.len());
        plan.checks.splice(at..at, b.checks);
        plan.problems.extend(b.problems);
    }
}
