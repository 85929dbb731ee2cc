//! Telling a database that cannot be reached (down, restarting, out of
//! connections, its disk gone) from one that answered: the first is worth a
//! 503 and a retry, the second is a bug. This reads the driver's errors, so
//! it lives beside the backends.

/// Whether `error` comes from the database being away rather than from the query.
pub fn database_away(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.is::<Away>() || cause.downcast_ref::<sqlx::Error>().is_some_and(away))
}

/// An error already found to be the database's being away, passed on in
/// words (one failed group commit answers each of its publications).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Away(pub String);

/// One error for the many callers it fails (the publications of one group
/// commit): a copy in words for each, which still says whether the database
/// was away.
pub fn copies_of(error: &anyhow::Error) -> impl Fn() -> anyhow::Error {
    let away = database_away(error);
    let message = format!("{error:#}");
    move || match away {
        true => anyhow::Error::new(Away(message.clone())),
        false => anyhow::anyhow!("{message}"),
    }
}

fn away(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| away_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's connection exceptions (class 08), its shutdown and start-up
/// (57P01–57P03), too many connections (53300); SQLite's busy, I/O, full
/// and cannot-open errors (extended codes carry the primary one in their
/// low byte).
fn away_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 10 | 13 | 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_the_database_away_and_a_bad_query_is_not() {
        let timed_out = anyhow::Error::from(sqlx::Error::PoolTimedOut).context("listing webhooks");
        assert!(database_away(&timed_out));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(database_away(&sqlx::Error::Io(refused).into()));
        assert!(!database_away(&sqlx::Error::RowNotFound.into()));
        assert!(!database_away(&anyhow::anyhow!("something else")));
        assert!(database_away(&Away("passed on".into()).into()));
        assert!(away_code("57P01") && away_code("08006") && away_code("53300"));
        assert!(
            away_code("5") && away_code("3338"),
            "SQLITE_BUSY, SQLITE_IOERR_FSYNC"
        );
        assert!(
            !away_code("23505") && !away_code("19"),
            "unique violations are the caller's"
        );
    }
}
