#!/usr/bin/env bash
# Type-checks the workspace's libraries and binaries for Windows and macOS on this Linux machine:
#   scripts/cross-check.sh [TARGET…]   (default: x86_64-pc-windows-gnu aarch64-apple-darwin)
# `cargo check` runs every `#[cfg(windows)]` and `#[cfg(target_os = "macos")]` path through the
# compiler; nothing is linked or run. The toolchain is Debian's rustc-web with its standard
# library source (`-Zbuild-std`), the C compilers for -sys build scripts are Debian's MinGW-w64
# (Windows) and PyPI's ziglang (`zig cc`, macOS). All of it is unpacked under .cache/cross/, none
# of it is installed system-wide; a second run reuses it and each target's own target directory.
# Prints a line per target and the compiler's errors, nothing else; exits non-zero if any
# target does not type-check (warnings count). Other targets may be named; only Windows GNU
# and macOS get a C compiler for build scripts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="$root/.cache/cross"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(x86_64-pc-windows-gnu aarch64-apple-darwin)

rust_debs_version="1.96.0+dfsg1-1~deb12u2"
rust_debs=(rustc-web cargo-web libstd-rust-web-1.96 libstd-rust-web-dev rust-web-src)
rust_libs=(libllvm22 libgit2-1.5 libhttp-parser2.9 libmbedtls14 libmbedx509-1 libmbedcrypto7)
mingw_debs=(binutils-mingw-w64-x86-64 gcc-mingw-w64-x86-64-win32 gcc-mingw-w64-x86-64-win32-runtime
  mingw-w64-x86-64-dev mingw-w64-common gcc-mingw-w64-base)
ziglang_version="0.15.2"
# Named after this checkout, so checkouts (worktrees) each link their own.
toolchain="switchboard-cross-196-$(printf %s "$cache" | sha1sum | cut -c1-8)"

say() { echo "cross-check: $*"; }

# Downloads the named .debs (apt's lists refreshed once if a version is unknown) into DIR/deb
# and unpacks them into DIR/root. Marked done by DIR/.done, so a second run skips it.
unpack_debs() {
  local dir="$1"
  shift
  [ -f "$dir/.done" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/root"
  if ! (cd "$dir/deb" && apt-get download -qq "$@" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$dir/deb" && apt-get download -qq "$@" >/dev/null)
  fi
  local deb
  for deb in "$dir"/deb/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
  rm -rf "$dir/deb"
  touch "$dir/.done"
}

# Debian's rustc-web 1.96 and its library source, linked into rustup as $toolchain.
install_rust() {
  local pinned=() name
  for name in "${rust_debs[@]}"; do pinned+=("$name=$rust_debs_version"); done
  if [ ! -f "$cache/rust/.done" ]; then say "unpacking Debian's rustc-web $rust_debs_version"; fi
  unpack_debs "$cache/rust" "${pinned[@]}" "${rust_libs[@]}"
  # rustup puts <toolchain>/lib on the library path: the multiarch libraries must be there too.
  (cd "$cache/rust/root/usr/lib" && ln -sf x86_64-linux-gnu/*.so* .)
  local sysroot
  sysroot="$(rustc "+$toolchain" --print sysroot 2>/dev/null || true)"
  if [ -z "$sysroot" ] || [ "$(readlink -f "$sysroot")" != "$(readlink -f "$cache/rust/root/usr")" ]; then
    rustup toolchain uninstall "$toolchain" >/dev/null 2>&1 || true
    rustup toolchain link "$toolchain" "$cache/rust/root/usr" >/dev/null
  fi
}

# MinGW-w64's GCC and binutils: the C compiler for -sys crates and the dlltool rustc asks for.
install_mingw() {
  if [ ! -f "$cache/mingw/.done" ]; then say "unpacking Debian's MinGW-w64 GCC"; fi
  unpack_debs "$cache/mingw" "${mingw_debs[@]}"
  # The name Debian's alternatives would give it: windres (Windows resources) preprocesses with it.
  ln -sf x86_64-w64-mingw32-gcc-win32 "$cache/mingw/root/usr/bin/x86_64-w64-mingw32-gcc"
}

# zig cc from PyPI, behind a wrapper named like a C compiler for aarch64 or x86_64 macOS.
install_zig() {
  if [ ! -x "$cache/zig/ziglang/zig" ]; then
    say "installing ziglang $ziglang_version (PyPI)"
    rm -rf "$cache/zig"
    mkdir -p "$cache"
    # The interpreter itself, not a version manager's shim: pyenv's shim rehashes after every
    # pip install, and fails the install when its lock is stale.
    local python
    python="$(python3 -c 'import sys; print(sys.executable)')"
    if ! "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      --target "$cache/zig" "ziglang==$ziglang_version" >"$cache/pip.log" 2>&1; then
      cat "$cache/pip.log" >&2
      return 1
    fi
  fi
  mkdir -p "$cache/bin"
  local arch
  for arch in aarch64 x86_64; do
    # The cc crate adds Apple's `--target=` and `-arch`, which zig spells differently.
    # Objective-C (`.m`, notifications) needs the macOS SDK's frameworks, which are not
    # redistributed: since a check links nothing, such a file becomes an empty object.
    cat >"$cache/bin/$arch-macos-cc" <<EOF
#!/usr/bin/env bash
zig=("$cache/zig/ziglang/zig" cc -target $arch-macos) args=() out= objc=
while [ \$# -gt 0 ]; do
  case "\$1" in
    --target=*|-arch|arm64|x86_64|-mmacosx-version-min=*) ;;
    -o) out="\$2"; args+=("\$1" "\$2"); shift ;;
    *.m) objc=1; args+=("\$1") ;;
    *) args+=("\$1") ;;
  esac
  shift
done
if [ -n "\$objc" ] && [ -n "\$out" ]; then exec "\${zig[@]}" -c -x c /dev/null -o "\$out"; fi
exec "\${zig[@]}" "\${args[@]}"
EOF
    printf '#!/usr/bin/env bash\nexec "%s" ar "$@"\n' "$cache/zig/ziglang/zig" >"$cache/bin/$arch-macos-ar"
    chmod +x "$cache/bin/$arch-macos-cc" "$cache/bin/$arch-macos-ar"
  done
}

# The target's C tools, installed if missing.
install_c_tools() {
  case "$1" in
    *-windows-gnu) install_mingw ;;
    *-apple-darwin) install_zig ;;
  esac
}

# Points the cc crate (and rustc's dlltool lookup) at the target's C tools.
c_toolchain_env() {
  local target="$1" var="${1//-/_}"
  case "$target" in
    *-windows-gnu)
      local bin="$cache/mingw/root/usr/bin"
      export PATH="$bin:$PATH"
      export "CC_$var=$bin/x86_64-w64-mingw32-gcc-win32" "AR_$var=$bin/x86_64-w64-mingw32-ar"
      ;;
    *-apple-darwin)
      local arch="${target%%-*}"
      export "CC_$var=$cache/bin/$arch-macos-cc" "AR_$var=$cache/bin/$arch-macos-ar"
      ;;
  esac
}

install_rust
status=0
for target in "${targets[@]}"; do
  say "$target: checking"
  start=$SECONDS
  install_c_tools "$target"
  if (
    c_toolchain_env "$target"
    # build-std needs the unstable flag; a check run only, the release build stays on stable.
    # Warnings fail the check, as clippy's do on Linux (dependencies' lints are capped).
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-D warnings" CARGO_TARGET_DIR="$cache/target/$target" \
      cargo "+$toolchain" check --quiet --locked --keep-going --workspace --lib --bins \
      -Zbuild-std=std,panic_abort --target "$target"
  ); then
    say "$target: ok ($((SECONDS - start)) s)"
  else
    say "$target: FAILED ($((SECONDS - start)) s)"
    status=1
  fi
done
exit "$status"
