//! Roles and the users who have them. Every command names the roles it
//! needs, and admins may run everything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use serde::Serialize;

/// A role from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Hunter,
    Responder,
    Lead,
    Admin,
}

impl Role {
    /// Parses a role name as written in the configuration.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "hunter" => Some(Self::Hunter),
            "responder" => Some(Self::Responder),
            "lead" => Some(Self::Lead),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hunter => "hunter",
            Self::Responder => "responder",
            Self::Lead => "lead",
            Self::Admin => "admin",
        }
    }
}

/// The configured users and their roles.
#[derive(Debug, Default)]
pub struct Directory {
    roles: RwLock<BTreeMap<String, BTreeSet<Role>>>,
}

impl Directory {
    /// Builds the directory from the `[users]` configuration table. Unknown
    /// role names were rejected when the configuration was validated.
    pub fn from_config(users: &BTreeMap<String, Vec<String>>) -> Self {
        let directory = Self::default();
        for (user, roles) in users {
            for role in roles.iter().filter_map(|role| Role::parse(role)) {
                directory.grant(user, role);
            }
        }
        directory
    }

    pub fn grant(&self, user: &str, role: Role) {
        let mut roles = self
            .roles
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        roles.entry(user.to_string()).or_default().insert(role);
    }

    /// Returns the roles of `user`, empty when the user is unknown.
    pub fn roles_of(&self, user: &str) -> BTreeSet<Role> {
        let roles = self
            .roles
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        roles.get(user).cloned().unwrap_or_default()
    }
}

/// The person running a command.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub roles: BTreeSet<Role>,
}

impl Actor {
    /// Returns whether the actor has one of `allowed` (admins have them all).
    pub fn may(&self, allowed: &[Role]) -> bool {
        self.roles.contains(&Role::Admin) || allowed.iter().any(|role| self.roles.contains(role))
    }

    /// Returns the actor's first role in the order hunter, responder, lead, admin.
    pub fn main_role(&self) -> Option<Role> {
        self.roles.iter().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_run_everything() {
        let actor = Actor {
            id: "@root".into(),
            roles: [Role::Admin].into(),
        };
        assert!(actor.may(&[Role::Responder]));
    }

    #[test]
    fn hunter_may_not_accept_handoffs() {
        let actor = Actor {
            id: "@ana".into(),
            roles: [Role::Hunter].into(),
        };
        assert!(!actor.may(&[Role::Responder]));
        assert!(actor.may(&[Role::Hunter, Role::Responder]));
    }

    #[test]
    fn directory_unions_roles() {
        let directory = Directory::default();
        directory.grant("@ana", Role::Hunter);
        directory.grant("@ana", Role::Lead);
        assert_eq!(directory.roles_of("@ana").len(), 2);
        assert!(directory.roles_of("@nobody").is_empty());
    }
}
