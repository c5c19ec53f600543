#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target (nightly, AddressSanitizer) and runs each one
# for a few seconds on its committed seeds (fuzz/seeds/<target>), with its dictionary.
#
#   fuzz/smoke.sh                      # 5 seconds per target
#   FUZZ_SMOKE_SECONDS=30 fuzz/smoke.sh
#   FUZZ_SMOKE_SEED=0 fuzz/smoke.sh     # a random libFuzzer seed instead of the fixed one
#
# CI is a gate, not a fuzzing campaign: the mutations start from a fixed seed (1) so that a
# run explores the same inputs first and a failure is a change in the code, not luck. Longer
# exploratory runs (fuzz/README.md) use random seeds and feed what they find back as seeds.
#
# Exits non-zero when a target fails to build, crashes, or takes more than 30 s on one input
# (the reproducer is left in fuzz/artifacts/<target>/). When the nightly toolchain or
# cargo-fuzz is missing and cannot be installed, prints `SKIP fuzz smoke: <reason>` and exits 0.
# New inputs go to a temporary corpus: fuzz/corpus and the seeds are left as they are.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${FUZZ_SMOKE_SECONDS:-5}"

skip() {
    echo "SKIP fuzz smoke: $*"
    echo "SKIP fuzz smoke: $*" >&2
    exit 0
}

command -v cargo >/dev/null 2>&1 || skip "cargo is not installed"
if ! cargo +nightly --version >/dev/null 2>&1; then
    command -v rustup >/dev/null 2>&1 || skip "no nightly toolchain and no rustup to install one"
    echo "fuzz smoke: installing the nightly toolchain" >&2
    rustup toolchain install nightly --profile minimal >&2 ||
        skip "no nightly toolchain (rustup toolchain install nightly failed)"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked >&2 ||
        skip "cargo-fuzz is not installed (cargo install cargo-fuzz --locked failed)"
fi

mapfile -t targets < <(cargo fuzz list)
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz smoke: no targets found" >&2; exit 1; }

start=$(date +%s)
echo "fuzz smoke: building ${targets[*]}" >&2
cargo +nightly fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    echo "fuzz smoke: $t for ${seconds}s" >&2
    if ! cargo +nightly fuzz run "$t" "$scratch/$t" "seeds/$t" -- \
        -seed="${FUZZ_SMOKE_SEED:-1}" -max_total_time="$seconds" -timeout=30 "${dict[@]}" \
        >"$scratch/$t.log" 2>&1; then
        tail -n 40 "$scratch/$t.log" >&2
        failed+=("$t")
    else
        grep -E '^#[0-9]+[[:space:]]+DONE' "$scratch/$t.log" | tail -n 1 | sed "s/^/fuzz smoke: $t: /" >&2 || true
    fi
done

echo "fuzz smoke: ${#targets[@]} targets in $(($(date +%s) - start))s" >&2
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz smoke: FAILED: ${failed[*]} (reproducers in fuzz/artifacts/)" >&2
    exit 1
fi
