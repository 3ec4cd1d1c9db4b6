//! The web UI's TypeScript types are generated from the control API's Rust types, so the two
//! cannot drift: this test renders them and fails when `ui/src/api/types.gen.ts` differs.
//! `SWITCHBOARD_UI_TYPES=write cargo test -p switchboard-model --test ui_types` rewrites it,
//! then fails (so such a run never passes); run it again without the variable.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use switchboard_model::api::*;
use switchboard_model::{ServerSpec, ServerState};
use ts_rs::{Config, TS, TypeVisitor};

/// Every declaration reachable from the types the UI sends or receives, by name.
struct Declarations<'a> {
    config: &'a Config,
    found: BTreeMap<String, String>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Only named, exportable types get a declaration; primitives and containers are inline.
        if T::output_path().is_none() {
            return;
        }
        let name = T::ident(self.config);
        if self.found.contains_key(&name) {
            return;
        }
        self.found
            .insert(name, format!("export {}", T::decl(self.config)));
        T::visit_dependencies(self);
    }
}

fn render() -> String {
    // Every integer on the wire fits a JavaScript number (counts, bytes, milliseconds).
    let config = Config::new().with_large_int("number");
    let mut declarations = Declarations {
        config: &config,
        found: BTreeMap::new(),
    };
    macro_rules! roots {
        ($($t:ty),* $(,)?) => { $(declarations.visit::<$t>();)* };
    }
    roots!(
        ServerSpec,
        ServerState,
        ServerView,
        AddServer,
        RunRecord,
        LogLine,
        DaemonStatus,
        PauseState,
        DaemonInfo,
        ApiErrorBody,
        Event,
        TokenView,
        IssueToken,
        Profile,
        ProfileView,
        UseProfile,
        UseBudget,
        QuarantineView,
        ApproveTools,
        ApprovedTools,
        TrustUpdates,
        IssuedToken,
        CallRecord,
        AppClient,
        ConnectClient,
        DisconnectClient,
        ClientChange,
        ImportClients,
        ImportReport,
        SetUpClients,
        SetUpReport,
        UndoClients,
        LoginStarted,
        SecretView,
        GuardResults,
        SetSecret,
        RegistrySearch,
        RegistryDetail,
        InstallServer,
        InstallReport,
        UpdateServer,
        UpdateReport,
        DoctorReport,
        TailnetStatus,
        SignInCode,
        RedeemCode,
        BrowserToken,
        ToolView,
        EnableHttps,
        Exposure,
        Expose,
        TailnetPeer,
        AddRemote,
    );
    let mut out = String::from(
        "// Generated from crates/model (the control API's Rust types) by crates/model/tests/ui_types.rs.\n\
         // Do not edit: run `SWITCHBOARD_UI_TYPES=write cargo test -p switchboard-model --test ui_types`.\n\n",
    );
    for declaration in declarations.found.values() {
        out.push_str(declaration);
        out.push_str("\n\n");
    }
    out.pop();
    out
}

#[test]
fn ui_types_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/api/types.gen.ts");
    let rendered = render();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var("SWITCHBOARD_UI_TYPES").as_deref() == Ok("write") {
        // A run that writes never passes: it rewrites the file, then fails saying so.
        let rewritten = committed != rendered;
        if rewritten {
            std::fs::write(&path, &rendered).unwrap();
        }
        panic!(
            "SWITCHBOARD_UI_TYPES=write is set, so this run only writes: {} {}; review the \
             diff, then run again without SWITCHBOARD_UI_TYPES",
            path.display(),
            if rewritten {
                "rewritten"
            } else {
                "already matched, not rewritten"
            }
        );
    }
    assert!(
        committed == rendered,
        "{} is out of date with the Rust types; rewrite it with \
         `SWITCHBOARD_UI_TYPES=write cargo test -p switchboard-model --test ui_types`",
        path.display()
    );
}
