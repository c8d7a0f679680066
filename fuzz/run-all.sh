#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 600) each, from seed corpora built out of the
# repository's own fixtures, and prints one summary line per target (executions, corpus, crashes).
# Not part of CI. cargo-fuzz's instrumentation needs nightly rustc flags: on a stable toolchain
# this script sets RUSTC_BOOTSTRAP=1 (the stable compiler accepting them), as used for
# RELIABILITY.md. Needs `cargo install cargo-fuzz` and python3 (for the response seeds).
# An input counts as a hang after 60 s: Sprig's DSA key generation (a Sprig seed case) takes about
# a second in release and over 10 s under AddressSanitizer with four fuzzers on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-600}"
export RUSTC_BOOTSTRAP=1
corpus=fuzz/corpus
mkdir -p "$corpus"/{config_parse,go_template,handlebars_template,response_decoders}
cp config-examples/*.yaml tests/fixtures/config/*.yaml "$corpus/config_parse/" 2>/dev/null || true
# Sprig's key and password generators are left out of the seeds: under AddressSanitizer one RSA
# 4096 key takes over a minute (the crypto crates' time, bounded in the agent by a CPU budget),
# which libFuzzer reports as a hang.
slow='genPrivateKey|genCA|genSelfSignedCert|genSignedCert|derivePassword|bcrypt|htpasswd'
cp tests/fixtures/gotemplate/cases/*.tmpl "$corpus/go_template/"
grep -L -E "$slow" tests/fixtures/sprig/cases/*.tmpl | xargs cp -t "$corpus/go_template/"
grep -l -E "$slow" "$corpus/go_template/"* 2>/dev/null | xargs -r rm -f
cp tests/fixtures/gotemplate/cases/*.tmpl "$corpus/handlebars_template/"
printf '{{#each (secret "p" "dev" "/")}}{{this.Key}}={{this.Value}}\n{{/each}}' > "$corpus/handlebars_template/each.hbs"
python3 - "$corpus/response_decoders" <<'PY'
import json, pathlib, sys
statuses = [200, 201, 400, 401, 403, 404, 422, 429, 500, 503]
out = pathlib.Path(sys.argv[1])
for p in sorted(pathlib.Path("tests/fixtures/contract").glob("*.json")):
    r = json.loads(p.read_text())["response"]
    status = r["status"]
    byte = statuses.index(status) if status in statuses else 0
    out.joinpath(p.stem).write_bytes(bytes([byte]) + json.dumps(r["body"]).encode())
PY
cargo fuzz build -O --fuzz-dir fuzz >/dev/null
targets=(config_parse go_template handlebars_template response_decoders)
# `fuzz/run-all.sh go_template` runs the named targets only.
[ $# -gt 0 ] && targets=("$@")
# All targets at once (FUZZ_PARALLEL=0 runs them one after the other): each gets the full
# wall-clock time, sharing the cores.
run_one() {
  local target=$1 rc=0
  mkdir -p "fuzz/artifacts/$target"
  # The binary itself, not `cargo fuzz run`: that would rebuild whenever the tree changed.
  "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$corpus/$target" \
    -artifact_prefix="fuzz/artifacts/$target/" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=60 >"fuzz/artifacts/$target.log" 2>&1 || rc=$?
  # (set -e would end the function at a finding without this record of it.)
  echo "$rc" >"fuzz/artifacts/$target.rc"
}
for target in "${targets[@]}"; do
  if [ "${FUZZ_PARALLEL:-1}" = 1 ]; then run_one "$target" & else run_one "$target"; fi
done
wait
echo "cores: $(nproc); seconds per target: $seconds; parallel: ${FUZZ_PARALLEL:-1}"
for target in "${targets[@]}"; do
  log="fuzz/artifacts/$target.log"
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  crashes=$(ls "fuzz/artifacts/$target/" 2>/dev/null | grep -c -E '^(crash|timeout|oom|leak)-' || true)
  slow_units=$(ls "fuzz/artifacts/$target/" 2>/dev/null | grep -c -E '^slow-unit-' || true)
  echo "$target: exit $(cat "fuzz/artifacts/$target.rc"); ${done_line:-no Done line (see $log)}; ${cov:-}; corpus $(ls "$corpus/$target" | wc -l) inputs; findings $crashes (and $slow_units inputs slower than 10 s)"
done
