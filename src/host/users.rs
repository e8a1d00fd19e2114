//! passwd, shadow and group, read from the target.

use crate::error::Result;
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    /// The shadow hash (or passwd field when there is no shadow entry).
    pub hash: Option<String>,
}

impl User {
    /// Can this account log in with a password? (`!`, `*`, empty and `x` without shadow: no)
    pub fn has_password(&self) -> bool {
        match &self.hash {
            Some(h) => !(h.is_empty() || h.starts_with('!') || h.starts_with('*') || h == "x"),
            None => false,
        }
    }

    /// A shell that lets the user log in.
    pub fn can_login(&self) -> bool {
        !(self.shell.ends_with("nologin")
            || self.shell.ends_with("/false")
            || self.shell.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
}

impl Users {
    pub fn read(root: &Root) -> Result<Users> {
        let passwd = root.read_text("/etc/passwd")?.unwrap_or_default();
        let shadow = root.read_text("/etc/shadow")?.unwrap_or_default();
        let group = root.read_text("/etc/group")?.unwrap_or_default();
        Ok(Users::parse(&passwd, &shadow, &group))
    }

    pub fn parse(passwd: &str, shadow: &str, group: &str) -> Users {
        let mut users = Vec::new();
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() || f[0].starts_with('#') {
                continue;
            }
            let hash = shadow
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|s| s.len() >= 2 && s[0] == f[0])
                .map(|s| s[1].to_string())
                .or_else(|| (f[1] != "x").then(|| f[1].to_string()));
            users.push(User {
                name: f[0].to_string(),
                uid: f[2].parse().unwrap_or(u32::MAX),
                gid: f[3].parse().unwrap_or(u32::MAX),
                home: f[5].to_string(),
                shell: f[6].to_string(),
                hash,
            });
        }
        let mut groups = Vec::new();
        for line in group.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || f[0].is_empty() {
                continue;
            }
            groups.push(Group {
                name: f[0].to_string(),
                gid: f[2].parse().unwrap_or(u32::MAX),
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        Users { users, groups }
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Names of every group the user is in (primary and supplementary).
    pub fn groups_of(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = self.get(name)
            && let Some(g) = self.groups.iter().find(|g| g.gid == u.gid)
        {
            out.push(g.name.clone());
        }
        for g in &self.groups {
            if g.members.iter().any(|m| m == name) && !out.contains(&g.name) {
                out.push(g.name.clone());
            }
        }
        out
    }

    /// Accounts a person logs in with: a login shell and uid 0 or >= 500 (trixbox/CentOS 5
    /// started at 500).
    pub fn login_users(&self) -> Vec<&User> {
        self.users
            .iter()
            .filter(|u| u.can_login() && (u.uid == 0 || (u.uid >= 500 && u.uid < 65534)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins_shadow() {
        let u = Users::parse(
            "root:x:0:0:root:/root:/bin/bash\nasterisk:x:100:101::/var/lib/asterisk:/sbin/nologin\nbob:x:1000:1000::/home/bob:/bin/bash\n",
            "root:$6$a$b:1::::::\nasterisk:!!:1::::::\nbob:!:1::::::\n",
            "root:x:0:\nwheel:x:10:bob,alice\nbob:x:1000:\n",
        );
        assert!(u.get("root").unwrap().has_password());
        assert!(!u.get("bob").unwrap().has_password());
        assert!(!u.get("asterisk").unwrap().can_login());
        assert_eq!(u.groups_of("bob"), vec!["bob", "wheel"]);
        assert_eq!(u.login_users().len(), 2);
    }
}
