#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for SECONDS each with cargo fuzz, corpora seeded from
# the repository's fixtures. CI runs it briefly; for a long run: scripts/fuzz.sh 3600 [TARGET…]
# FUZZ_SEED fixes libFuzzer's seed (CI's short runs use 1; 0, the default, picks one). Runs are
# bounded by time and a code change moves the coverage map, so a fixed seed does not make two
# builds explore alike. A finding fails the run and is kept in target/fuzz/artifacts/TARGET/
# to reproduce with
#   cargo +nightly fuzz run --fuzz-dir fuzz --target-dir target/fuzz -s none TARGET FILE
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-30}"
shift || true

# cargo fuzz needs nightly's instrumentation flags: the nightly toolchain if rustup has one,
# else the stable compiler told to accept them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly)
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)"
  cargo install --quiet --locked cargo-fuzz --version 0.13.2
fi

# The fuzzed code is safe Rust (no unsafe), so the fuzzers hunt panics, hangs and broken
# invariants; they run without a sanitizer, which builds and runs several times faster.
fuzz=(--fuzz-dir fuzz --target-dir target/fuzz --sanitizer none)
"${cargo[@]}" fuzz build "${fuzz[@]}" --release

seed() { # seed TARGET FILE…
  local dir="target/fuzz/corpus/$1"
  shift
  mkdir -p "$dir"
  for file in "$@"; do
    cp -n "$file" "$dir/$(basename "$file")"
  done
}
seed jsonrpc_frame fuzz/seeds/jsonrpc_frame/*
seed sse_stream fuzz/seeds/sse_stream/*
seed gateway_routing fuzz/seeds/gateway_routing/*
seed config_json crates/clients/tests/corpus/*.json crates/clients/tests/corpus/*.jsonc
seed config_toml crates/clients/tests/corpus/*.toml
seed config_yaml crates/clients/tests/corpus/*.yaml
seed server_json_plan fuzz/seeds/server_json_plan/* tests/registry/registry-sample.json
seed registry_argv fuzz/seeds/registry_argv/* fuzz/seeds/server_json_plan/* tests/registry/registry-sample.json
seed localapi fuzz/seeds/localapi/* crates/tailnet/tests/fixtures/*.json

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${cargo[@]}" fuzz list --fuzz-dir fuzz)
for target in "${targets[@]}"; do
  echo "fuzzing $target for ${seconds}s"
  mkdir -p "target/fuzz/artifacts/$target"
  if ! "${cargo[@]}" fuzz run "${fuzz[@]}" --release "$target" "target/fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -seed="${FUZZ_SEED:-0}" \
      -artifact_prefix="target/fuzz/artifacts/$target/" -print_final_stats=1 \
      >"target/fuzz/$target.log" 2>&1; then
    tail -n 40 "target/fuzz/$target.log"
    echo "fuzz target $target found a failing input; it is in target/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "target/fuzz/$target.log" | tr '\n' ' '
  echo
done
