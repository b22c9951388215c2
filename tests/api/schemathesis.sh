#!/usr/bin/env bash
# The API against its own OpenAPI document: `shoebox serve` on loopback over the fixture photos
# with the tiny CLIP and VQA checkpoints, signed in with an API token; schemathesis generates
# requests for every operation (valid and invalid) and checks that no answer is a 5xx and that
# every status, content type and body is the one the document declares.
#
#   bash tests/api/schemathesis.sh            # builds the debug binary; venv in target/
#
# SCHEMATHESIS_EXAMPLES (default 100) sets the cases per operation.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
venv=$root/target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  if ! python3 -m venv --help > /dev/null 2>&1 || ! python3 -c 'import ensurepip' 2> /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv > /dev/null
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/api/requirements.txt
fi
cargo build --quiet -p shoebox
bin=$root/target/debug/shoebox

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/photos" "$work/models"
cp "$root"/../shared/fixtures/photos/*.jpg "$work/photos/"
ln -s "$root/tests/fixtures/blip-vqa-tiny" "$work/models/blip-vqa-tiny"
# The tiny Stable Diffusion makes variations, kept small so generated requests run quickly.
ln -s "$root/tests/fixtures/sd-tiny" "$work/models/sd-tiny"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
SHOEBOX__MODELS__DIR=$work/models SHOEBOX__MODELS__ANSWERER=blip-vqa-tiny \
  SHOEBOX__VARY__MODEL=sd-tiny SHOEBOX__VARY__SIZE=64 SHOEBOX__VARY__MAX_SIZE=128 \
  SHOEBOX__VARY__MAX_STEPS=4 SHOEBOX__VARY__MAX_COUNT=2 \
  XDG_CONFIG_HOME=$work/config SHOEBOX_LOG=warn \
  "$bin" --data-dir "$work/data" serve "$work/photos" --listen "127.0.0.1:$port" \
  --model-dir "$root/tests/fixtures/clip-tiny" --no-caption 2> "$work/server.log" &
server=$!
for _ in $(seq 600); do
  curl -sf "$base/readyz" > /dev/null && break
  kill -0 "$server" 2> /dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

admin='{"name":"admin","password":"a long enough password"}'
curl -sf -X POST -H 'content-type: application/json' -d "$admin" "$base/api/v1/setup" > /dev/null
login=$(curl -sf -D "$work/headers" -X POST -H 'content-type: application/json' -d "$admin" "$base/api/v1/login")
cookie=$(grep -o 'shoebox_session=[0-9a-f]*' "$work/headers")
csrf=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf"])' <<< "$login")
made=$(curl -sf -X POST -H 'content-type: application/json' -H "cookie: $cookie" -H "x-csrf-token: $csrf" \
  -d '{"name":"schemathesis"}' "$base/api/v1/tokens")
token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])' <<< "$made")
curl -sf -H "authorization: Bearer $token" "$base/api/v1/openapi.json" > "$work/openapi.json"

# Left out: revoking tokens and sessions and signing out (a generated id could end the run's
# own sign-in) and the progress stream, which never ends by design.
"$venv/bin/schemathesis" run "$work/openapi.json" --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path-regex '^/api/v1/(tokens/\{id\}|sessions/\{id\}|users/\{id\}/sessions|logout|status/stream)$' \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" --seed 1 --no-color --workers 1 \
  --request-timeout 60 --generation-database none \
  || { echo "--- server log"; tail -50 "$work/server.log"; exit 1; }

# The run was signed in: searches and photo reads answered 200 (not only 401s, which the
# document also declares).
metrics=$(curl -sf -H "authorization: Bearer $token" "$base/metrics")
for route in /api/v1/search /api/v1/photos/{id} /api/v1/albums; do
  grep -q "shoebox_http_request_duration_seconds_count{method=\"GET\",route=\"$route\",status=\"200\"}" <<< "$metrics" \
    || { echo "no successful GET $route during the run"; exit 1; }
done
echo "schemathesis: every response conformed; signed-in requests answered"
