//! The PostgreSQL schema (`migrations-pg/`) beside SQLite's (`migrations/`):
//! the same tables, columns, nullability and indexes, so that what one
//! store's SQL finds, the other's finds too. The words of events
//! (`event_words`) are each database's own: an FTS5 table on SQLite, a GIN
//! index on PostgreSQL. Runs against the throwaway
//! cluster that `scripts/postgres` starts for the test command.

use std::collections::BTreeMap;

use sqlx::{Connection, Row};

/// Table → column → nullable, and the indexes created by name.
#[derive(Debug, PartialEq)]
struct Schema {
    columns: BTreeMap<String, BTreeMap<String, bool>>,
    indexes: Vec<String>,
}

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

async fn sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/schema.db?mode=rwc", dir.path().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations").run(&mut db).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != ?
           AND name NOT LIKE 'event_words%'",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut columns = BTreeMap::new();
    for table in tables {
        let rows = sqlx::query(&format!("PRAGMA table_info({table})"))
            .fetch_all(&mut db)
            .await
            .unwrap();
        // SQLite lets a primary key other than an integer one hold NULL; hookhub never stores one.
        let nullable = rows
            .iter()
            .map(|row| {
                let not_null = row.get::<i64, _>("notnull") == 1 || row.get::<i64, _>("pk") > 0;
                (row.get::<String, _>("name"), !not_null)
            })
            .collect();
        columns.insert(table, nullable);
    }
    let mut indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    indexes.sort();
    Schema { columns, indexes }
}

/// The schema of the empty database at `url` once migrated.
async fn postgres_schema(url: &str) -> Schema {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::migrate!("./migrations-pg")
        .run(&mut db)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name,
                is_nullable = 'YES' AS nullable
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name != $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut columns: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for row in rows {
        columns
            .entry(row.get("table_name"))
            .or_default()
            .insert(row.get("column_name"), row.get("nullable"));
    }
    // Primary keys and UNIQUE constraints make their own indexes, as on SQLite.
    let mut indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes
         WHERE schemaname = 'public' AND tablename != $1 AND indexname != 'event_words'
           AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut db)
    .await
    .unwrap();
    indexes.sort();
    Schema { columns, indexes }
}

#[tokio::test]
async fn the_postgres_schema_has_the_tables_columns_and_indexes_of_the_sqlite_one() {
    let Some(url) = crate::helpers::postgres_database_if_any().await else {
        return;
    };
    let sqlite = sqlite_schema().await;
    let postgres = postgres_schema(&url).await;
    assert!(sqlite.columns.contains_key("deliveries"), "{sqlite:?}");
    assert_eq!(postgres.columns, sqlite.columns);
    assert_eq!(postgres.indexes, sqlite.indexes);
}
