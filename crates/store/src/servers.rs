//! Servers: each one's spec and desired state (the `servers` table).
//!
//! The spec is stored as JSON without its name, which is the primary key. What a server did
//! when it ran is `runs`'s.

use sqlx::Row;
use switchboard_model::{ServerName, ServerSpec, now_millis};

use super::{Store, StoreError};

/// A server as stored: spec plus desired state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredServer {
    pub spec: ServerSpec,
    pub enabled: bool,
}

impl Store {
    pub async fn insert_server(&self, spec: &ServerSpec, enabled: bool) -> Result<(), StoreError> {
        let now = now_millis();
        let result = sqlx::query(
            "INSERT INTO servers (name, spec, enabled, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(spec.name.as_str())
        .bind(encode_spec(spec))
        .bind(enabled)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Exists(spec.name.clone()))
            }
            other => other.map(drop).map_err(self.query_err("adding a server")),
        }
    }

    pub async fn update_spec(&self, spec: &ServerSpec) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE servers SET spec = ?, updated_at_ms = ? WHERE name = ?")
            .bind(encode_spec(spec))
            .bind(now_millis())
            .bind(spec.name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("updating a server"))?;
        found(done.rows_affected(), &spec.name)
    }

    pub async fn set_enabled(&self, name: &ServerName, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE servers SET enabled = ?, updated_at_ms = ? WHERE name = ?")
            .bind(enabled)
            .bind(now_millis())
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("enabling or disabling a server"))?;
        found(done.rows_affected(), name)
    }

    pub async fn remove_server(&self, name: &ServerName) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM servers WHERE name = ?")
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("removing a server"))?;
        found(done.rows_affected(), name)
    }

    pub async fn servers(&self) -> Result<Vec<StoredServer>, StoreError> {
        let rows = sqlx::query("SELECT name, spec, enabled FROM servers ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("listing servers"))?;
        rows.iter()
            .map(|row| {
                let name: String = row.get("name");
                let spec: String = row.get("spec");
                Ok(StoredServer {
                    spec: decode_spec(&name, &spec)?,
                    enabled: row.get("enabled"),
                })
            })
            .collect()
    }

    /// The names of the enabled servers, in name order: the aggregate's servers.
    pub async fn enabled_server_names(&self) -> Result<Vec<ServerName>, StoreError> {
        let servers = self.servers().await?;
        Ok(servers
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| s.spec.name)
            .collect())
    }
}

fn found(rows: u64, name: &ServerName) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(name.clone()))
    } else {
        Ok(())
    }
}

/// The spec column holds everything but the name, which is the primary key.
fn encode_spec(spec: &ServerSpec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("name");
    }
    value.to_string()
}

fn decode_spec(name: &str, column: &str) -> Result<ServerSpec, StoreError> {
    let corrupt = |source| StoreError::CorruptSpec {
        server: name.to_owned(),
        source,
    };
    let mut value: serde_json::Value = serde_json::from_str(column).map_err(corrupt)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("name".into(), name.into());
    }
    serde_json::from_value(value).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{spec, store};
    use super::*;

    #[tokio::test]
    async fn servers_round_trip_and_duplicates_are_refused() {
        let (_dir, store) = store().await;
        store.insert_server(&spec("time"), true).await.expect("insert");
        let err = store
            .insert_server(&spec("time"), false)
            .await
            .expect_err("duplicate");
        assert!(matches!(err, StoreError::Exists(_)), "{err:?}");
        store
            .set_enabled(&spec("time").name, false)
            .await
            .expect("disable");
        assert_eq!(
            store.servers().await.expect("list"),
            vec![StoredServer {
                spec: spec("time"),
                enabled: false
            }]
        );
        let missing = store
            .remove_server(&spec("nope").name)
            .await
            .expect_err("missing");
        assert!(matches!(missing, StoreError::NotFound(_)));
    }
}
