//! Welcome: what was detected, and the seed's first advice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::lines;
use crate::system::{Init, Proto};
use crate::tui::app::{Ctx, Nav};
use crate::tui::keys::Key;

pub struct State;

pub fn key(k: Key) -> Nav {
    match k {
        Key::Enter | Key::Char(' ') => Nav::Next,
        _ => Nav::Stay,
    }
}

fn ports(ctx: &Ctx, proto: Proto) -> String {
    let mut v: Vec<u16> = ctx
        .sys
        .listeners
        .iter()
        .filter(|l| l.proto == proto)
        .map(|l| l.port)
        .collect();
    v.dedup();
    v.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The facts, as (label, value) rows.
pub fn facts(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let s = &ctx.sys;
    let mut system = s.os.pretty.clone();
    if let Some(d) = &s.pbx.distro {
        system.push_str(&format!(", {d}"));
    }
    system.push_str(match s.init {
        Init::Systemd => ", systemd",
        Init::SysV => ", SysV init",
        Init::Unknown => "",
    });
    let pbx = if s.pbx.asterisk {
        format!("Asterisk, RTP {}-{}", s.rtp.start, s.rtp.end)
    } else {
        "no Asterisk found".into()
    };
    let ssh = match &s.sshd {
        Ok(c) => format!(
            "port {}, PermitRootLogin {}",
            c.listen_ports()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            c.value_or("permitrootlogin", "not set")
        ),
        Err(e) => format!("unreadable: {e}"),
    };
    let mut rows = vec![("System", system), ("PBX", pbx), ("SSH", ssh)];
    rows.push(("Firewall", crate::tui::screens::welcome::firewall_line(ctx)));
    rows.push((
        "Network",
        if s.interfaces.is_empty() {
            "no interfaces found".into()
        } else {
            s.interfaces.join(" ")
        },
    ));
    let tcp = ports(ctx, Proto::Tcp);
    let udp = ports(ctx, Proto::Udp);
    if !tcp.is_empty() || !udp.is_empty() {
        rows.push(("Listening", format!("tcp {tcp}; udp {udp}")));
    }
    rows.push((
        "You",
        match &s.admin {
            Some(a) => format!(
                "{}{}",
                a.client,
                a.server_port
                    .map(|p| format!(", on port {p}"))
                    .unwrap_or_default()
            ),
            None => "at the console (no SSH connection)".into(),
        },
    ));
    rows
}

pub fn firewall_line(ctx: &Ctx) -> String {
    firewall_line_of(&ctx.sys.firewall)
}

/// What is installed and which firewall managers are in charge (with a word of why).
pub fn firewall_line_of(fw: &crate::steps::firewall::FirewallInfo) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &fw.apf {
        parts.push(
            format!("APF {}", a.version.as_deref().unwrap_or(""))
                .trim_end()
                .to_string(),
        );
    }
    if let Some(b) = &fw.bfd {
        parts.push(
            format!("BFD {}", b.version.as_deref().unwrap_or(""))
                .trim_end()
                .to_string(),
        );
    }
    if fw.apf.is_none() && fw.fail2ban.is_some() {
        parts.push("fail2ban".into());
    }
    for m in &fw.managers {
        if m.manager != crate::steps::firewall::managers::Manager::Apf {
            parts.push(format!("{} ({})", m.manager.label(), m.short()));
        }
    }
    if fw.managers.len() >= 2 {
        parts.push("two managers!".into());
    }
    if parts.is_empty() {
        "none active (nftables is offered; or APF+BFD, fail2ban)".into()
    } else {
        parts.join(" + ")
    }
}

pub fn view(f: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = &ctx.theme;
    let mut out = vec![
        Line::from("This wizard hardens this PBX step by step, as \"Securing your"),
        Line::from("trixbox server\" does. Nothing changes until you accept the review."),
        Line::from(""),
    ];
    for (label, value) in facts(ctx) {
        out.push(Line::from(vec![
            Span::styled(format!("{label:<10}"), t.label()),
            Span::raw(value),
        ]));
    }
    out.push(Line::from(""));
    out.push(Line::from(
        "Advice: keep the PBX behind a firewall; reach SSH and the web GUI",
    ));
    out.push(Line::from("over a VPN, not the open Internet."));
    f.render_widget(Paragraph::new(lines(out)).wrap(Wrap { trim: false }), area);
}

#[cfg(test)]
mod firewall_line_tests {
    use super::firewall_line_of;
    use crate::steps::firewall::FirewallInfo;
    use crate::steps::firewall::managers::{Found, Manager};

    #[test]
    fn managers_show_with_a_word_of_why() {
        let mut fw = FirewallInfo::default();
        assert_eq!(
            firewall_line_of(&fw),
            "none active (nftables is offered; or APF+BFD, fail2ban)"
        );
        fw.managers = vec![
            Found {
                manager: Manager::Freepbx,
                reason: "/var/www/html/admin/modules/firewall/module.xml is there; whether it is \
                         enabled is kept in FreePBX's database"
                    .into(),
            },
            Found {
                manager: Manager::Firewalld,
                reason: "firewalld.service is enabled: /etc/systemd/system/multi-user.target.wants/firewalld.service".into(),
            },
        ];
        assert_eq!(
            firewall_line_of(&fw),
            "FreePBX's Firewall module (installed) + firewalld (enabled) + two managers!"
        );
    }
}
