#!/usr/bin/env bash
# Time from `shoebox serve`'s start to its first answered search, on a library already indexed
# (indices on disk), three times; the first pass only signs in (the session is kept).
#
#   cargo build --release -p shoebox
#   shoebox --data-dir DATA index PHOTOS         # with the model in MODELS
#   DATA=DATA MODELS=MODELS bash crates/server/benches/first_search.sh
set -euo pipefail
B=${B:-./target/release/shoebox}; DATA=${DATA:?the data directory}; PORT=${PORT:-18181}
COOKIE=$DATA/.bench-cookie
export SHOEBOX__MODELS__DIR=${MODELS:?the models folder} SHOEBOX__CAPTIONS__ENABLED=false
for run in 1 2 3; do
  start=$(date +%s.%N)
  $B --data-dir $DATA serve --listen 127.0.0.1:$PORT > /dev/null 2>&1 &
  pid=$!
  if [ ! -f $COOKIE ]; then
    until curl -s -o /dev/null localhost:$PORT/healthz; do :; done
    curl -s -X POST -H 'content-type: application/json' -d '{"name":"admin","password":"a long enough password"}' localhost:$PORT/api/v1/setup > /dev/null
    curl -s -i -X POST -H 'content-type: application/json' -d '{"name":"admin","password":"a long enough password"}' localhost:$PORT/api/v1/login | grep -o 'shoebox_session=[0-9a-f]*' > $COOKIE
    kill -TERM $pid; wait $pid || true
    continue
  fi
  until curl -sf -b "$(cat $COOKIE)" "localhost:$PORT/api/v1/search?q=dog&limit=5" > /dev/null 2>&1; do :; done
  end=$(date +%s.%N)
  echo "run $run: first answered search $(echo "$end - $start" | bc) s after start"
  kill -TERM $pid; wait $pid || true
done
