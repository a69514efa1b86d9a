#!/usr/bin/env bash
# Release archives of the seer binary: seer-VERSION-TARGET.tar.gz (the binary, README, licence
# note) and SHA256SUMS, in dist/. Builds every target of TARGETS whose Rust standard library is
# installed (`rustup target add aarch64-unknown-linux-gnu`, plus a linker for it: set
# CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc); says which it skipped.
# The release profile strips debug info and keeps the symbol table (perf and panics name functions).
# Usage: scripts/release.sh [TARGETS...]   (default: x86_64- and aarch64-unknown-linux-gnu)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("${@:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu}")
read -r -a targets <<<"${targets[*]}"
version=$(cargo metadata --no-deps --format-version 1 | python3 -c \
    'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "seer-ci"))')
installed=$(rustup target list --installed)
mkdir -p dist
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "skipped $target: its standard library is not installed (rustup target add $target)"
        continue
    fi
    # The host's own target builds where `cargo build --release` does (no second build).
    if [[ "$target" == "$(rustc -vV | sed -n 's/^host: //p')" ]]; then
        cargo build --release --locked --bin seer
        binary=target/release/seer
    else
        cargo build --release --locked --bin seer --target "$target"
        binary="target/$target/release/seer"
    fi
    name="seer-$version-$target"
    rm -rf "dist/$name" && mkdir -p "dist/$name"
    cp "$binary" README.md "dist/$name/"
    echo "seer $version, licensed MIT OR Apache-2.0" >"dist/$name/LICENSE"
    tar -C dist -czf "dist/$name.tar.gz" "$name"
    rm -rf "dist/${name:?}"
    echo "built dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
done
(cd dist && sha256sum ./*.tar.gz >SHA256SUMS)
