#!/usr/bin/env bash
# `make demo`: the agent end to end on the embedded dev server, with the demo seed.
# Starts `kms dev-server` on 127.0.0.1:8200, runs `kms agent` with config-examples/demo.yaml,
# shows the rendered file and the token sink, then stops both with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bin kms
KMS=target/debug/kms
rm -rf demo && mkdir -p demo
printf demo-client-id > demo/client-id
printf demo-client-secret > demo/client-secret

dev=""; agent=""
cleanup() { kill "$agent" "$dev" 2>/dev/null || true; }
trap cleanup EXIT

"$KMS" dev-server --listen 127.0.0.1:8200 > demo/dev-server.log 2>&1 &
dev=$!
for _ in $(seq 100); do
  grep -q "dev-server listening on" demo/dev-server.log 2>/dev/null && break
  kill -0 "$dev" 2>/dev/null || { cat demo/dev-server.log; echo "dev server failed to start (is port 8200 free?)"; exit 1; }
  sleep 0.1
done
echo "==> $(grep -m1 'dev-server listening on' demo/dev-server.log)"

"$KMS" agent --config config-examples/demo.yaml > demo/agent.log 2>&1 &
agent=$!
for _ in $(seq 150); do
  [ -s demo/app.env ] && [ -s demo/access-token ] && break
  kill -0 "$agent" 2>/dev/null || { cat demo/agent.log; echo "the agent stopped"; exit 1; }
  sleep 0.1
done
[ -s demo/app.env ] || { cat demo/agent.log; echo "nothing rendered"; exit 1; }
sleep 0.5

echo "==> demo/access-token (mode $(stat -c %a demo/access-token)): $(head -c 24 demo/access-token)... ($(wc -c < demo/access-token) bytes)"
echo "==> demo/app.env (mode $(stat -c %a demo/app.env)):"
cat demo/app.env
echo
echo "==> stopping the agent (SIGTERM)"
kill -TERM "$agent"
wait "$agent" && echo "agent exited 0" || { echo "agent exited $?"; exit 1; }
agent=""
kill -TERM "$dev"
wait "$dev" && echo "dev server exited 0" || { echo "dev server exited $?"; exit 1; }
dev=""
echo "==> logs: demo/agent.log, demo/dev-server.log"
