//! Profiles and which client uses which (the `profiles` and `client_profiles` tables), and
//! clients' own tool budgets (`client_budgets`).
//!
//! What a profile offers is the control API's `Profile`, kept as JSON; applying it to a
//! client's requests is the gateway's.

use sqlx::Row;
use switchboard_model::api::Profile;
use switchboard_model::now_millis;

use super::{Store, StoreError};

impl Store {
    /// Creates profile `name`, or replaces what it offers.
    pub async fn put_profile(&self, name: &str, profile: &Profile) -> Result<(), StoreError> {
        let offers = serde_json::to_string(profile).map_err(|source| StoreError::CorruptProfile {
            name: name.to_owned(),
            source,
        })?;
        sqlx::query(
            "INSERT INTO profiles (name, offers, updated_at_ms) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET offers = excluded.offers, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(name)
        .bind(offers)
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(self.query_err("saving a profile"))?;
        Ok(())
    }

    /// Removes profile `name`; false if there was none. A profile a client uses is kept
    /// (the database refuses), so callers move its clients first.
    pub async fn remove_profile(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM profiles WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("removing a profile"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn profiles(&self) -> Result<Vec<(String, Profile)>, StoreError> {
        let rows = sqlx::query("SELECT name, offers FROM profiles ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading profiles"))?;
        rows.iter()
            .map(|row| {
                let name: String = row.get("name");
                let offers: String = row.get("offers");
                match serde_json::from_str(&offers) {
                    Ok(profile) => Ok((name, profile)),
                    Err(source) => Err(StoreError::CorruptProfile { name, source }),
                }
            })
            .collect()
    }

    /// Makes `client` use `profile`, or every enabled server when `None`.
    pub async fn use_profile(&self, client: &str, profile: Option<&str>) -> Result<(), StoreError> {
        let query = match profile {
            Some(profile) => sqlx::query(
                "INSERT INTO client_profiles (client, profile) VALUES (?, ?)
                 ON CONFLICT (client) DO UPDATE SET profile = excluded.profile",
            )
            .bind(client)
            .bind(profile),
            None => sqlx::query("DELETE FROM client_profiles WHERE client = ?").bind(client),
        };
        query
            .execute(&self.pool)
            .await
            .map_err(self.query_err("choosing a client's profile"))?;
        Ok(())
    }

    /// Each client that uses a profile, with it.
    pub async fn client_profiles(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT client, profile FROM client_profiles ORDER BY client")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading clients' profiles"))?;
        Ok(rows.iter().map(|r| (r.get("client"), r.get("profile"))).collect())
    }

    /// Gives `client` a budget of its own (`None`: the daemon's).
    pub async fn set_budget(&self, client: &str, tokens: Option<u64>) -> Result<(), StoreError> {
        let query = match tokens {
            Some(tokens) => sqlx::query(
                "INSERT INTO client_budgets (client, tokens) VALUES (?, ?)
                 ON CONFLICT (client) DO UPDATE SET tokens = excluded.tokens",
            )
            .bind(client)
            .bind(i64::try_from(tokens).unwrap_or(i64::MAX)),
            None => sqlx::query("DELETE FROM client_budgets WHERE client = ?").bind(client),
        };
        query
            .execute(&self.pool)
            .await
            .map_err(self.query_err("setting a client's budget"))?;
        Ok(())
    }

    /// Each client with a budget of its own, in tokens.
    pub async fn budgets(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query("SELECT client, tokens FROM client_budgets ORDER BY client")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading clients' budgets"))?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get("client"),
                    u64::try_from(r.get::<i64, _>("tokens")).unwrap_or(0),
                )
            })
            .collect())
    }
}
