//! JSON and JSONC client configs (Claude Desktop, Cursor, VS Code, Zed, opencode): parse,
//! set and remove Switchboard's entry.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchboard_fuzz::check_config_edits(&["claude-desktop", "vscode", "zed", "opencode"], data);
});
