//! TOML client configs (Codex): parse, set and remove Switchboard's entry.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchboard_fuzz::check_config_edits(&["codex"], data);
});
