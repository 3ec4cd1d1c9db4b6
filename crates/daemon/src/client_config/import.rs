//! Import: the servers already configured in clients' files, adopted into Switchboard.
//!
//! Entries are read in any client's spelling, de-duplicated against the servers Switchboard
//! has and against each other (same program, arguments and environment, or same URL and
//! headers, credentials aside), and added under the entry's name (made unique). Values of
//! variables and headers named like credentials move into the keychain and the spec refers to
//! them. An entry using a client's own variable syntax is left where it is, with the reason:
//! it means nothing outside that client.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use switchboard_clients::catalog::{self, Client};
use switchboard_clients::config::Config;
use switchboard_clients::entry::{self, Foreign, Route};
use switchboard_clients::plan::{self, OwnedEntry, Ownership};
use switchboard_credentials::secrets;
use switchboard_model::api::{
    AddServer, AdoptedServer, ClientChange, ImportClients, ImportReport, SkippedEntry, Wiring,
};
use switchboard_model::{Launch, ServerName, ServerSpec, Transport, ValueSource};

use super::{Action, ClientConfigError, ClientConfigs, parse, read_file};

/// What an import has gathered so far, across clients and their files.
pub(super) struct Gathered {
    /// The servers Switchboard has, and those adopted so far.
    known: Vec<ServerSpec>,
    pub(super) report: ImportReport,
    /// Per client: entry name -> adopted server, for replacing entries afterwards.
    pub(super) replaced: BTreeMap<&'static str, BTreeMap<String, String>>,
}

/// What a client's adopted entries are replaced by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Routes {
    /// An entry per adopted server, beside what the client already gets.
    PerServer,
    /// The one entry for every server, and nothing else of Switchboard's.
    All,
}

impl Gathered {
    /// Notes that `server` was found as `found` (a client's entry).
    fn found(&mut self, server: &str, found: String) {
        match self.report.adopted.iter_mut().find(|a| a.server == server) {
            Some(adopted) => adopted.found_in.push(found),
            None => self.report.adopted.push(AdoptedServer {
                server: server.to_owned(),
                found_in: vec![found],
                existing: true,
                secrets: Vec::new(),
            }),
        }
    }
}

impl ClientConfigs {
    /// Adopts the servers configured in clients' files into Switchboard.
    pub async fn import(&self, request: ImportClients) -> Result<ImportReport, ClientConfigError> {
        let clients: Vec<&'static Client> = if request.clients.is_empty() {
            catalog::all().iter().collect()
        } else {
            request
                .clients
                .iter()
                .map(|id| Self::client(id))
                .collect::<Result<_, _>>()?
        };
        let gathered = self.gather(&clients, request.dry_run).await?;
        let mut report = gathered.report;
        if request.replace {
            for (id, entries) in gathered.replaced {
                report.replaced.push(
                    self.replace_entries(id, &entries, Routes::PerServer, request.dry_run)
                        .await?,
                );
            }
        }
        Ok(report)
    }

    /// Adopts the servers in `clients`' files (a dry run only says which it would); a file
    /// that cannot be read as config is reported as skipped.
    pub(super) async fn gather(
        &self,
        clients: &[&'static Client],
        dry_run: bool,
    ) -> Result<Gathered, ClientConfigError> {
        let mut gathered = Gathered {
            known: self.control.list().await?.into_iter().map(|s| s.spec).collect(),
            report: ImportReport {
                dry_run,
                ..ImportReport::default()
            },
            replaced: BTreeMap::new(),
        };
        for &client in clients {
            for (path, ownership) in self.files_of(client).await? {
                let Some(bytes) = read_file(&path).await? else {
                    continue;
                };
                match parse(client, &path, Some(&bytes)) {
                    Ok(config) => {
                        self.import_entries(client, &config, &ownership, &mut gathered, dry_run)
                            .await
                    }
                    Err(e) => gathered.report.skipped.push(SkippedEntry {
                        client: client.id.to_owned(),
                        entry: String::new(),
                        reason: e.to_string(),
                    }),
                }
            }
        }
        Ok(gathered)
    }

    /// Adopts the entries of one of `client`'s files that are not Switchboard's own; an entry
    /// that cannot be adopted is skipped with the reason.
    async fn import_entries(
        &self,
        client: &'static Client,
        config: &Config,
        ownership: &Ownership,
        gathered: &mut Gathered,
        dry_run: bool,
    ) {
        for (name, value) in config.entries(client) {
            let ours =
                ownership.entries.iter().any(|o| o.name == name) || self.entries.is_ours(client, &value);
            if ours {
                continue;
            }
            match self
                .adopt_entry(entry::read(client, &value), &name, gathered, dry_run)
                .await
            {
                Ok(server) => {
                    gathered.found(&server, format!("{}: {name}", client.id));
                    gathered
                        .replaced
                        .entry(client.id)
                        .or_default()
                        .insert(name, server);
                }
                Err(reason) => gathered.report.skipped.push(SkippedEntry {
                    client: client.id.to_owned(),
                    entry: name,
                    reason,
                }),
            }
        }
    }

    /// The server a client's entry `name` is adopted as: one already running the same thing,
    /// or a new one added under the entry's name (made unique) with its credentials moved to
    /// the keychain. A dry run adds nothing. The error is the reason the entry is skipped.
    async fn adopt_entry(
        &self,
        read: Option<Foreign>,
        name: &str,
        gathered: &mut Gathered,
        dry_run: bool,
    ) -> Result<String, String> {
        let transport = read
            .ok_or_else(|| "it names neither a program nor a URL".to_owned())
            .and_then(adoptable)?;
        let same = fingerprint(&transport);
        if let Some(existing) = gathered.known.iter().find(|s| fingerprint(&s.transport) == same) {
            return Ok(existing.name.to_string());
        }
        let server_name = free_name(name, &gathered.known)
            .ok_or_else(|| "its name cannot be made a server name".to_owned())?;
        let (transport, moved) = self
            .move_secrets(&server_name, transport, dry_run)
            .await
            .map_err(|e| e.to_string())?;
        let spec = ServerSpec {
            name: server_name.clone(),
            transport,
            restart: Default::default(),
            health: Default::default(),
            sharing: Default::default(),
            protocol: Default::default(),
            start: Default::default(),
            origin: None,
        };
        if !dry_run {
            self.control
                .add(AddServer {
                    spec: spec.clone(),
                    enabled: true,
                    secrets: Default::default(),
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        gathered.known.push(spec);
        gathered.report.adopted.push(AdoptedServer {
            server: server_name.to_string(),
            found_in: Vec::new(),
            existing: false,
            secrets: moved,
        });
        Ok(server_name.to_string())
    }

    /// Moves the values of credential-named variables (headers, for a remote) of an adopted
    /// server into the keychain, leaving references; returns the names moved. A dry run only
    /// names them.
    async fn move_secrets(
        &self,
        server: &ServerName,
        mut transport: Transport,
        dry_run: bool,
    ) -> Result<(Transport, Vec<String>), ClientConfigError> {
        let secrets = self.control.supervisor().secrets();
        let moved =
            secrets::keep_in_keychain(secrets, server, &mut transport, &Default::default(), dry_run).await?;
        Ok((transport, moved))
    }

    /// Replaces a client's own entries (entry name -> adopted server) by the gateway's.
    pub(super) async fn replace_entries(
        &self,
        id: &str,
        entries: &BTreeMap<String, String>,
        by: Routes,
        dry_run: bool,
    ) -> Result<ClientChange, ClientConfigError> {
        let client = Self::client(id)?;
        let routes = match by {
            Routes::All => vec![Route::Aggregate],
            Routes::PerServer => self.routes_with(id, entries.values()).await?,
        };
        // The user's entries become ours for this write: claimed at their current content.
        let claimed: Vec<String> = entries.keys().cloned().collect();
        let gateway_entries = self.entries.clone();
        let _busy = self.busy.lock().await;
        let change = self
            .apply(client, Action::Import, dry_run, move |before, owned, token| {
                let mut owned = owned.clone();
                if let Ok(config) = Config::parse(client.format, before) {
                    for name in &claimed {
                        if let Some(value) = config.entry(client, name) {
                            owned.entries.retain(|e| &e.name != name);
                            owned.entries.push(OwnedEntry {
                                name: name.clone(),
                                sha256: plan::entry_hash(&value),
                            });
                        }
                    }
                }
                plan::connect(client, before, &owned, &gateway_entries, &routes, token, false)
            })
            .await?;
        Ok(change)
    }
}

impl ClientConfigs {
    /// What client `id` gets now, plus an entry for each of `servers`.
    async fn routes_with(
        &self,
        id: &str,
        servers: impl Iterator<Item = &String>,
    ) -> Result<Vec<Route>, ClientConfigError> {
        let wirings: HashMap<String, Wiring> = self.control.store().wirings().await?.into_iter().collect();
        let mut routes: Vec<Route> = match wirings.get(id).map(|w| &w.servers) {
            Some(Some(servers)) => servers.iter().map(|s| Route::Server(s.clone())).collect(),
            Some(None) => vec![Route::Aggregate],
            None => Vec::new(),
        };
        for server in servers {
            let route = Route::Server(server.clone());
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
        Ok(routes)
    }
}

/// What two entries must share to be one server: everything but credential values (a
/// credential-named literal and a keychain reference of the same name compare equal).
fn fingerprint(transport: &Transport) -> Transport {
    let mut masked = transport.clone();
    let values = match &mut masked {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &mut launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    };
    for (name, value) in values.iter_mut() {
        if matches!(value, ValueSource::Secret { .. }) || secrets::looks_like_credential(name) {
            *value = ValueSource::Secret { secret: name.clone() };
        }
    }
    masked
}

/// A client's entry as a server spec, or why it cannot be adopted as it is.
fn adoptable(foreign: Foreign) -> Result<Transport, String> {
    let no_references = |values: Vec<&String>| -> Result<(), String> {
        match values.into_iter().any(|v| v.contains("${") || v.starts_with("$")) {
            true => Err(
                "it uses the client's own variable syntax (`${...}`), which only that client expands".into(),
            ),
            false => Ok(()),
        }
    };
    match foreign {
        Foreign::Local {
            command,
            args,
            env,
            cwd,
        } => {
            no_references(env.values().chain(args.iter()).chain([&command]).collect())?;
            Ok(Transport::Stdio(Launch {
                command,
                args,
                cwd: cwd.map(PathBuf::from),
                env: env
                    .into_iter()
                    .map(|(k, v)| (k, ValueSource::Literal(v)))
                    .collect(),
            }))
        }
        Foreign::Remote { url, headers, .. } => {
            no_references(headers.values().chain([&url]).collect())?;
            Ok(Transport::RemoteHttp {
                url,
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k, ValueSource::Literal(v)))
                    .collect(),
            })
        }
    }
}

/// A server name for an imported entry, made unique among `known`.
fn free_name(entry: &str, known: &[ServerSpec]) -> Option<ServerName> {
    let base: String = entry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let base = base.trim_matches('-').to_owned();
    (1..100).find_map(|n| {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let name = ServerName::new(candidate).ok()?;
        known.iter().all(|s| s.name != name).then_some(name)
    })
}
