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
use switchboard_clients::plan::{self, OwnedEntry};
use switchboard_credentials::secrets;
use switchboard_model::api::{
    AddServer, AdoptedServer, ClientChange, ImportClients, ImportReport, SkippedEntry, Wiring,
};
use switchboard_model::{Launch, ServerName, ServerSpec, Transport, ValueSource};

use super::{Action, ClientConfigError, ClientConfigs, parse, read_file};

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
        let mut known: Vec<ServerSpec> = self.control.list().await?.into_iter().map(|s| s.spec).collect();
        let mut report = ImportReport {
            dry_run: request.dry_run,
            ..ImportReport::default()
        };
        // Per client: entry name -> adopted server, for replacing entries afterwards.
        let mut replaced: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
        for client in clients {
            for (path, ownership) in self.files_of(client).await? {
                let Some(bytes) = read_file(&path).await? else {
                    continue;
                };
                let config = match parse(client, &path, Some(&bytes)) {
                    Ok(config) => config,
                    Err(e) => {
                        report.skipped.push(SkippedEntry {
                            client: client.id.to_owned(),
                            entry: String::new(),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                for (name, value) in config.entries(client) {
                    let ours = ownership.entries.iter().any(|o| o.name == name)
                        || self.entries.is_ours(client, &value);
                    if ours {
                        continue;
                    }
                    let skip = |reason: String| SkippedEntry {
                        client: client.id.to_owned(),
                        entry: name.clone(),
                        reason,
                    };
                    let transport = match entry::read(client, &value)
                        .ok_or_else(|| "it names neither a program nor a URL".to_owned())
                        .and_then(adoptable)
                    {
                        Ok(transport) => transport,
                        Err(reason) => {
                            report.skipped.push(skip(reason));
                            continue;
                        }
                    };
                    let found = format!("{}: {name}", client.id);
                    let same = fingerprint(&transport);
                    let server = match known.iter().find(|s| fingerprint(&s.transport) == same) {
                        Some(existing) => existing.name.to_string(),
                        None => {
                            let Some(server_name) = free_name(&name, &known) else {
                                report
                                    .skipped
                                    .push(skip("its name cannot be made a server name".into()));
                                continue;
                            };
                            let (transport, moved) =
                                match self.move_secrets(&server_name, transport, request.dry_run).await {
                                    Ok(moved) => moved,
                                    Err(e) => {
                                        report.skipped.push(skip(e.to_string()));
                                        continue;
                                    }
                                };
                            let spec = ServerSpec {
                                name: server_name.clone(),
                                transport,
                                restart: Default::default(),
                                health: Default::default(),
                                sharing: Default::default(),
                                origin: None,
                            };
                            if !request.dry_run {
                                let added = self
                                    .control
                                    .add(AddServer {
                                        spec: spec.clone(),
                                        enabled: true,
                                        secrets: Default::default(),
                                    })
                                    .await;
                                if let Err(e) = added {
                                    report.skipped.push(skip(e.to_string()));
                                    continue;
                                }
                            }
                            known.push(spec);
                            report.adopted.push(AdoptedServer {
                                server: server_name.to_string(),
                                found_in: Vec::new(),
                                existing: false,
                                secrets: moved,
                            });
                            server_name.to_string()
                        }
                    };
                    match report.adopted.iter_mut().find(|a| a.server == server) {
                        Some(adopted) => adopted.found_in.push(found),
                        None => report.adopted.push(AdoptedServer {
                            server: server.clone(),
                            found_in: vec![found],
                            existing: true,
                            secrets: Vec::new(),
                        }),
                    }
                    replaced.entry(client.id).or_default().insert(name, server);
                }
            }
        }
        if request.replace {
            for (id, entries) in replaced {
                report
                    .replaced
                    .push(self.replace_entries(id, &entries, request.dry_run).await?);
            }
        }
        Ok(report)
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
    async fn replace_entries(
        &self,
        id: &str,
        entries: &BTreeMap<String, String>,
        dry_run: bool,
    ) -> Result<ClientChange, ClientConfigError> {
        let client = Self::client(id)?;
        let wirings: HashMap<String, Wiring> = self.control.store().wirings().await?.into_iter().collect();
        let wiring = wirings.get(id);
        let mut routes: Vec<Route> = match wiring.map(|w| &w.servers) {
            Some(Some(servers)) => servers.iter().map(|s| Route::Server(s.clone())).collect(),
            Some(None) => vec![Route::Aggregate],
            None => Vec::new(),
        };
        for server in entries.values() {
            let route = Route::Server(server.clone());
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
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
