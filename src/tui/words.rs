//! The core's messages in the wizard's words: an answers key (`user.reuse`, `ssh.port`) means
//! something to whoever writes an answers file, not to an admin on a screen. The key becomes
//! the screen and field it is set on, and "set KEY = VALUE" advice becomes what to do there.

/// Where an answers key is set in the wizard.
pub fn field(key: &str) -> &str {
    match key {
        "user" | "user.name" | "user.reuse" | "user.groups" => "Login user",
        "user.password" | "user.password_hash" | "user.generate" => "Password",
        "user.home_mode" => "Login user (home directory)",
        k if k.starts_with("user.authorized_keys") => "Login user (SSH keys)",
        "ssh" | "ssh.port" => "SSH port",
        "ssh.permit_root_login" => "SSH (root logins)",
        "ssh.allow_users" => "SSH (allowed users)",
        "ssh.password_authentication" => "Login user (password logins)",
        "ssh.baseline" => "SSH (baseline)",
        "ssh.modern_crypto" | "ssh.regenerate_rsa_host_key" => "SSH (modern crypto)",
        "services" | "services.disable" | "services.override_keep_list" => "Services",
        "extensions" | "extensions.rotate_weak" => "Extensions",
        "asterisk" | "asterisk.ami_localhost" | "asterisk.sip_guests" => "Asterisk",
        "firewall.tcp_ports" => "Firewall ports (TCP)",
        "firewall.udp_ports" => "Firewall ports (UDP)",
        "firewall.trusted" => "Trusted hosts",
        "firewall.blocked" => "Blocked hosts",
        "firewall.tftp" => "Firewall ports (TFTP)",
        "firewall.trust_admin" => "Trust my address",
        "apply.confirm_timeout" => "Confirm time",
        k if k.starts_with("firewall") => "Firewall ports",
        k if k.starts_with("apf") || k.starts_with("bfd") || k.starts_with("fail2ban") => {
            "Brute-force protection"
        }
        k => k,
    }
}

/// A core message with its answers-file advice said as the screen says it.
pub fn message(msg: &str) -> String {
    const SAID: &[(&str, &str)] = &[
        (
            "set user.reuse = true to make it the login user",
            "tick \"use the existing account\" to make it the login user",
        ),
        (
            "give user.password, user.password_hash or generate = true",
            "choose a generated passphrase or type one",
        ),
        (
            "set ssh.password_authentication = true",
            "keep password logins on (Login user screen)",
        ),
        (
            "(firewall.tftp = true says you mean it)",
            "(tick TFTP to say you mean it)",
        ),
        (
            "with trust_admin = true",
            "with \"trust my address\" ticked",
        ),
    ];
    let mut m = msg.to_string();
    for (from, to) in SAID {
        m = m.replace(from, to);
    }
    m
}

/// `key: message` for a problem shown on a screen.
pub fn problem(key: &str, msg: &str) -> String {
    format!("{}: {}", field(key), message(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keys_become_the_screen_s_words() {
        assert_eq!(
            problem(
                "user.name",
                "bob already exists; set user.reuse = true to make it the login user, or \
                 choose another name"
            ),
            "Login user: bob already exists; tick \"use the existing account\" to make it the \
             login user, or choose another name"
        );
        assert_eq!(field("firewall.blocked"), "Blocked hosts");
        assert_eq!(field("apf.tos"), "Brute-force protection");
    }
}
