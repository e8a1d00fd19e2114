//! Help per screen and per field: F1 (also the Linux console's F1) opens it over the screen,
//! any key closes it. The words are the screen's own; answers-file keys are named only as
//! "in an answers file" for admins who script the same choice.

use super::ScreenId;

/// The help for screen `s`, for the field called `field` when the screen knows one.
pub fn text(s: ScreenId, field: Option<&str>) -> String {
    let screen = match s {
        ScreenId::Welcome => {
            "What pbx-harden found on this system. Nothing is changed before the Review \
             screen, and every change rolls itself back unless you confirm it from a new \
             login. Keep this session open until you have confirmed."
        }
        ScreenId::Services => {
            "Services that start at boot. A PBX needs few: every one that listens is a door. \
             Space marks one to be turned off (stopped now, and no longer started at boot); \
             the reason for each suggestion is shown below the list. sshd and the services \
             the PBX needs cannot be turned off here."
        }
        ScreenId::User => {
            "The account you will log in as once root logins over SSH are refused. Pick a \
             name only you know: guessing tools try admin, test, asterisk and the article's \
             trixuser first. System accounts (mysql, asterisk, ...) cannot be used. Below \
             the name: the SSH public keys this user logs in with, and whether password \
             logins are turned off."
        }
        ScreenId::Password => {
            "How the login user logs in. A generated passphrase is five random words with a \
             capital, a digit and a symbol (about 75 bits): show it with ^T, store it in a \
             password manager or on paper, then tick \"I have stored it\". Your own password \
             must score 3 of 4 or better and is typed twice. It is never written anywhere."
        }
        ScreenId::Ssh => {
            "Where sshd listens, and who may log in. The port is checked as you type: what \
             listens there now, Asterisk's RTP range, the ephemeral range, the PBX's own \
             ports. ^R suggests a free one. Root logins are refused and only the listed \
             users may log in (AllowUsers); the login user must be among them."
        }
        ScreenId::Extensions => {
            "SIP and IAX extensions whose secret a scanner would guess (the extension number, \
             digits only, a common word). Where the file is yours, pbx-harden replaces the \
             secret and writes the new ones to a root-only report for the phones; where \
             FreePBX writes the file, it tells you what to change in FreePBX."
        }
        ScreenId::Asterisk => {
            "Doors Asterisk itself leaves open, beyond the seed. The manager interface (AMI, \
             port 5038) controls the whole PBX: bound to 127.0.0.1 it is reached through \
             ssh -L 5038:127.0.0.1:5038, and a weak AMI secret is replaced where the file is \
             yours (the new one goes to a root-only report; FreePBX keeps its own). Guest calls \
             (chan_sip's allowguest, PJSIP's anonymous endpoint) are how toll fraud starts."
        }
        ScreenId::Ports => {
            "What the firewall lets in. Tick the PBX services the outside must reach; give \
             other ports as numbers or ranges (5060 10000-20000). Trusted and blocked hosts \
             come on the next screen."
        }
        ScreenId::Hosts => {
            "The entries of APF's allow_hosts.rules (trusted: every port, never banned) and \
             deny_hosts.rules (blocked: nothing), with their comments; BFD's bans are among \
             the blocked. In the list, e edits an entry and Del takes it out. Below, give an \
             address, a network (192.0.2.0/24) or a host name, trusted or blocked, and a \
             comment, then Enter. Entries left as they are stay as they are. With nftables, \
             firewalld or ufw the list is what that firewall holds (pbx-harden's table, the \
             trusted and drop zones, ufw's allow and deny rules from a host), and host names \
             are refused there (addresses and networks only)."
        }
        ScreenId::Protection => {
            "APF's settings and brute-force protection. BFD (or fail2ban) bans an address \
             after this many failed logins; alerts go by e-mail. TOS marks SIP, IAX and RTP \
             so that routers that honour it send voice first."
        }
        ScreenId::Review => {
            "Every change as a diff and every command, with the lockout checks that must \
             pass. Nothing has been written yet: Enter applies, Esc goes back to change \
             something. Secrets are shown as ********."
        }
        ScreenId::Apply => "The change being applied, step by step. A failure rolls back at once.",
        ScreenId::Confirm => {
            "The change rolls back when the timer runs out, even if this terminal dies or the \
             machine reboots. From a NEW terminal, log in on the new port as the login user \
             and run pbx-harden confirm. If that login fails, do nothing."
        }
        ScreenId::Done => {
            "The outcome. Saving the answers writes them without any password, for \
             pbx-harden apply --answers FILE on the next server."
        }
    };
    let field = field.and_then(|f| field_text(s, f));
    match field {
        Some(f) => format!("{f}\n\n{screen}"),
        None => screen.to_string(),
    }
}

fn field_text(s: ScreenId, field: &str) -> Option<&'static str> {
    Some(match (s, field) {
        (ScreenId::User, "name") => {
            "Name: lowercase letters, digits, - and _, starting with a letter or _, at most 32 \
             characters."
        }
        (ScreenId::User, "reuse") => {
            "Use the existing account: it becomes the login user as it is (its password is \
             kept unless you set one)."
        }
        (ScreenId::User, "group") => {
            "The group lets the login user become root with su or sudo once root cannot log \
             in over SSH."
        }
        (ScreenId::User, "keys") => {
            "SSH keys: paste public keys (the .pub file, \"ssh-ed25519 AAAA... comment\"); \
             Enter or a line break in the pasted text adds the key, so one paste can hold \
             several keys, one per line. Each is checked: type, base64, RSA of 2048 bits or \
             more. Del takes a new key out of the list; keys already in the user's \
             authorized_keys stay there. A private key is never kept."
        }
        (ScreenId::User, "login_key") => {
            "The key of this login: the public key you logged in with right now (from \
             SSH_USER_AUTH, or sshd's log matched against authorized_keys). Space adds it, so \
             the new user takes the same key."
        }
        (ScreenId::User, "no_password") => {
            "Password logins off: sshd then takes keys only (PasswordAuthentication no). \
             Only with a key for this user; the password still works for su and sudo."
        }
        (ScreenId::Ssh, "port") => {
            "Port: 1 to 65535, digits only. Outside Asterisk's RTP range and the ephemeral \
             range; not a PBX port (5060, 5061, 4569, 5038)."
        }
        (ScreenId::Ssh, "root") => {
            "Refuse root logins (PermitRootLogin no): log in as the login user, then su or \
             sudo."
        }
        (ScreenId::Ssh, "allow") => {
            "Allowed users (AllowUsers): names separated by spaces, or user@host patterns. \
             root does not belong here."
        }
        (ScreenId::Ports, "tcp") | (ScreenId::Ports, "udp") => {
            "Other ports: numbers or ranges (8080 10000-20000), separated by spaces. Asterisk's \
             manager port 5038 is never opened to the outside."
        }
        (ScreenId::Hosts, "list") => {
            "The entries as the files have them, with their comments; new and edited ones \
             are marked. Up/Down and PgUp/PgDn scroll, e (or Space) edits the selected entry \
             in the fields below, Del takes it out of its file."
        }
        (ScreenId::Hosts, "host") => {
            "Host: an address, a network (192.0.2.0/24) or a host name; several separated by \
             spaces get the same comment (in a pasted list a line break separates hosts). \
             Trusted: give your office or VPN, not 0.0.0.0/0. Blocked: your own address, this \
             server's and loopback are refused."
        }
        (ScreenId::Hosts, "kind") => {
            "Trusted reach every port and are never banned; blocked reach nothing. Space \
             switches (t trusted, b blocked); Tab goes on to the comment. An entry moved from one to the other leaves its old file."
        }
        (ScreenId::Hosts, "comment") => {
            "Comment: one line, up to 200 characters, written the way apf -a writes it (a \
             pasted line break becomes a space); with ufw in the rule itself, with firewalld \
             on the line above the host in the zone file (so no \"--\" there). Editing an \
             entry with its comment left empty keeps the comment it has."
        }
        (ScreenId::Ports, "admin") => {
            "Trust my address: the address this session comes from is never blocked and never \
             banned."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_help_in_its_own_words() {
        for &s in ScreenId::ALL {
            let t = text(s, None);
            assert!(t.len() > 40, "{s:?}");
            assert!(!t.contains(" = true"), "{s:?}: answers keys in the help");
        }
        assert!(text(ScreenId::Ssh, Some("port")).starts_with("Port: 1 to 65535"));
    }
}
