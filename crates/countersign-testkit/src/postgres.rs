//! PostgreSQL for the inbox suites: a database of the test's own on the machine's server,
//! created with `psql` and dropped (`WITH (FORCE)`) when its guard drops.

use std::fmt;
use std::process::{Command, Stdio};

use super::unique_name;

/// How to get PostgreSQL onto a fresh machine; part of every setup failure message.
pub const POSTGRES_HINT: &str = "the PostgreSQL inbox suites run against a real PostgreSQL \
server (127.0.0.1:5432, trust authentication as user postgres, or DATABASE_URL / POSTGRES_URL \
naming a server and a role that may CREATE DATABASE) and need `psql` on PATH. `bash \
scripts/test.sh` installs `postgresql` from Debian's packages when missing and starts it";

/// The server's URL for administration: `DATABASE_URL`, else `POSTGRES_URL`, else
/// `postgres://postgres@127.0.0.1:5432/postgres`.
#[must_use]
pub fn postgres_url() -> String {
    for var in ["DATABASE_URL", "POSTGRES_URL"] {
        if let Ok(url) = std::env::var(var)
            && !url.trim().is_empty()
        {
            return url.trim().to_owned();
        }
    }
    "postgres://postgres@127.0.0.1:5432/postgres".to_owned()
}

/// Runs one SQL command with `psql` against `url`; returns its unaligned, tuples-only output.
///
/// # Errors
/// psql's message when it cannot run or the command fails.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}: {POSTGRES_HINT}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A database this test created (`cs_<test>_<pid>_<n>`), dropped on drop; its own
/// connections are terminated first (`DROP DATABASE … WITH (FORCE)`).
pub struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PgDatabase {
    /// Creates a fresh, empty database on the server of [`postgres_url`].
    ///
    /// # Panics
    /// When the server cannot be reached or the database cannot be created, with
    /// [`POSTGRES_HINT`].
    #[must_use]
    pub fn create(test: &str) -> PgDatabase {
        let admin = postgres_url();
        let name = unique_name(test).to_ascii_lowercase();
        if let Err(e) = psql(&admin, &format!("CREATE DATABASE \"{name}\"")) {
            panic!("cannot create the test database {name}: {e}\n{POSTGRES_HINT}");
        }
        let url = with_dbname(&admin, &name);
        PgDatabase { admin, name, url }
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `postgres://` URL of the database.
    #[must_use]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Runs `sql` in the database with `psql`.
    ///
    /// # Panics
    /// When it fails.
    #[must_use]
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Terminates every other connection to the database (`pg_terminate_backend`); returns
    /// how many were terminated.
    #[must_use]
    pub fn terminate_connections(&self) -> usize {
        let n = psql(
            &self.admin,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        )
        .unwrap_or_else(|e| panic!("pg_terminate_backend: {e}"));
        n.parse().unwrap_or(0)
    }

    /// Forbids (`false`) or allows new connections to the database (`ALTER DATABASE …
    /// ALLOW_CONNECTIONS`): "unreachable" for the inbox without touching the server.
    pub fn allow_connections(&self, allow: bool) {
        psql(
            &self.admin,
            &format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}", self.name),
        )
        .unwrap_or_else(|e| panic!("ALTER DATABASE: {e}"));
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database replaced by `db` (`postgres://…/db?params` or `key=value` form).
fn with_dbname(url: &str, db: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let (main, query) = rest
            .split_once('?')
            .map_or((rest, None), |(m, q)| (m, Some(q)));
        let authority = main.split_once('/').map_or(main, |(a, _)| a);
        let scheme = if url.starts_with("postgresql://") {
            "postgresql"
        } else {
            "postgres"
        };
        return match query {
            Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
            None => format!("{scheme}://{authority}/{db}"),
        };
    }
    let kept: Vec<&str> = url
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect();
    format!("{} dbname={db}", kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_dbname("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_dbname("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_dbname("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_dbname("host=h user=u dbname=d", "x"),
            "host=h user=u dbname=x"
        );
    }
}
