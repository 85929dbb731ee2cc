//! The PostgreSQL schema (`migrations-pg/`) beside SQLite's (`migrations/`):
//! the same tables, columns, nullability and indexes (each on the same
//! columns, partial on the same columns' condition), so that what one store's
//! SQL finds, the other's finds as fast. The words of events
//! (`event_words`) are each database's own: an FTS5 table on SQLite, a GIN
//! index on PostgreSQL. Runs against the throwaway
//! cluster that `scripts/postgres` starts for the test command.

use std::collections::BTreeMap;

use sqlx::{Connection, Row};

/// Table → column → nullable, and the indexes created by name.
#[derive(Debug, PartialEq)]
struct Schema {
    columns: BTreeMap<String, BTreeMap<String, bool>>,
    indexes: BTreeMap<String, Index>,
}

/// What an index covers: its table and columns in order, and the columns
/// its `WHERE` names (the two databases write the same condition each in
/// their own words, so the condition's text cannot be compared).
#[derive(Debug, PartialEq)]
struct Index {
    table: String,
    columns: Vec<String>,
    condition: Vec<String>,
}

/// The lowercase names a condition mentions, without its strings, casts
/// and SQL words.
fn names_in(condition: &str) -> Vec<String> {
    const SQL: [&str; 10] = [
        "is", "not", "null", "and", "or", "in", "any", "array", "true", "false",
    ];
    let mut text = String::new();
    let mut quoted = false;
    for c in condition.chars() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            _ => text.push(c.to_ascii_lowercase()),
        }
    }
    let mut names: Vec<String> = text
        .split("::")
        .enumerate()
        // After `::` comes a type's name (`''::text`): left out.
        .flat_map(|(i, part)| {
            let part = if i == 0 {
                part
            } else {
                part.trim_start_matches(char::is_alphanumeric)
            };
            part.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|word| !SQL.contains(&word.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names
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
    let rows = sqlx::query(
        "SELECT name, tbl_name, sql FROM sqlite_master
         WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut indexes = BTreeMap::new();
    for row in rows {
        let name: String = row.get("name");
        let sql: String = row.get("sql");
        let columns = sqlx::query_scalar(&format!(
            "SELECT coalesce(name, '(expression)') FROM pragma_index_info('{name}') ORDER BY seqno"
        ))
        .fetch_all(&mut db)
        .await
        .unwrap();
        let condition = sql
            .split_once(" WHERE ")
            .map(|(_, c)| names_in(c))
            .unwrap_or_default();
        let table = row.get("tbl_name");
        indexes.insert(
            name,
            Index {
                table,
                columns,
                condition,
            },
        );
    }
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
    let rows = sqlx::query(
        "SELECT i.relname::text AS name, t.relname::text AS table_name,
                ARRAY(SELECT coalesce(a.attname::text, '(expression)')
                      FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                      ORDER BY k.n) AS columns,
                pg_get_expr(x.indpred, x.indrelid) AS condition
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace s ON s.oid = t.relnamespace
         WHERE s.nspname = 'public' AND t.relname != $1 AND i.relname != 'event_words'
           AND i.relname NOT LIKE '%\\_pkey' AND i.relname NOT LIKE '%\\_key'",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let indexes = rows
        .into_iter()
        .map(|row| {
            let condition: Option<String> = row.get("condition");
            let index = Index {
                table: row.get("table_name"),
                columns: row.get("columns"),
                condition: condition.as_deref().map(names_in).unwrap_or_default(),
            };
            (row.get("name"), index)
        })
        .collect();
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
