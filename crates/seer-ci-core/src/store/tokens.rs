//! `seer serve`'s bearer tokens: a name, scopes, and a SHA-256 hash of the secret (the secret
//! itself is shown once, when it is made, and never stored).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Record runs, select, upload coverage and profiles.
    Ci,
    /// Queries, the report, predictions.
    Read,
    /// Training, quarantine, tokens.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ci, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ci => "ci",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// The hash a token's secret is stored and looked up by.
pub fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret: `seer_` and 32 random bytes in hex (from the operating system's generator).
pub fn new_secret() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(format!("seer_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn parse_scopes(text: &str) -> Vec<Scope> {
    text.split(',').filter_map(Scope::parse).collect()
}

/// A token from a row of `id, name, scopes, created_at, revoked_at`.
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Token> {
    Ok(Token {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: parse_scopes(&r.get::<_, String>(2)?),
        created_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

/// A token as `seer token list` and the server's token endpoints show it.
impl From<&Token> for seer_ci_api::server::TokenJson {
    fn from(t: &Token) -> seer_ci_api::server::TokenJson {
        seer_ci_api::server::TokenJson {
            id: t.id,
            name: t.name.clone(),
            scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            created_at: crate::collect::time::format_time(t.created_at),
            revoked_at: t.revoked_at.map(crate::collect::time::format_time),
        }
    }
}

impl Store {
    /// Stores a token whose secret hashes to `hash`; returns its id.
    pub fn create_token(&mut self, name: &str, scopes: &[Scope], hash: &str, now: i64) -> Result<i64, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO tokens (name, hash, scopes, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, hash, scopes_text(scopes), now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Every token, oldest first, revoked ones too.
    pub fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id, name, scopes, created_at, revoked_at FROM tokens ORDER BY id")?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The live (not revoked) token whose secret hashes to `hash`.
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, scopes, created_at, revoked_at FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
        )?;
        Ok(stmt.query_row([hash], token_row).optional()?)
    }

    /// Revokes the token `id` (by id, or by name when `id` is not a number); false when there
    /// is no such live token.
    pub fn revoke_token(&mut self, which: &str, now: i64) -> Result<bool, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = match which.parse::<i64>() {
            Ok(id) => {
                tx.execute("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL", params![now, id])?
            }
            Err(_) => tx.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
                params![now, which],
            )?,
        };
        tx.commit()?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_by_their_secret_only_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let secret = new_secret().unwrap();
        assert!(secret.starts_with("seer_") && secret.len() == 5 + 64);
        assert_ne!(secret, new_secret().unwrap());
        let id = store.create_token("ci-main", &[Scope::Ci, Scope::Read], &token_hash(&secret), 100).unwrap();
        let found = store.token_by_hash(&token_hash(&secret)).unwrap().expect("found");
        assert_eq!((found.id, found.scopes.as_slice()), (id, &[Scope::Ci, Scope::Read][..]));
        assert!(store.token_by_hash(&token_hash("seer_other")).unwrap().is_none());
        // Nothing stored holds the secret itself.
        let held: String =
            store.conn.query_row("SELECT group_concat(hash || name || scopes) FROM tokens", [], |r| r.get(0)).unwrap();
        assert!(!held.contains(&secret[5..]));
        assert!(store.revoke_token("ci-main", 200).unwrap());
        assert!(!store.revoke_token(&id.to_string(), 300).unwrap(), "already revoked");
        assert!(store.token_by_hash(&token_hash(&secret)).unwrap().is_none());
        assert_eq!(store.tokens().unwrap()[0].revoked_at, Some(200));
    }
}
