#!/usr/bin/env bash
# `make demo`: one envelope per consumer, decoded back, and one rejection.
set -euo pipefail
bin=${1:-target/debug/crowd-envelope}
here=$(dirname "$0")
for prediction in "$here"/predictions/*.json; do
  name=$(basename "$prediction" .json)
  echo "== $name: build"
  envelope=$("$bin" build "$prediction")
  echo "$envelope"
  echo "-- decode it back"
  echo "$envelope" | "$bin" decode
done
echo "== a payload from a future producer, and a broken one"
printf '%s\n' '{"schema_version":"2","prediction":{}}' \
  '{"prediction":{"source_type":"fomo2_report","probability":"high","crowd":{"agents":10,"bullish":9,"bearish":9,"neutral":0}},"decision_kind":"polymarket_side"}' \
  | "$bin" decode --lines || echo "(exit status $?: rejected payloads, as expected)"
