#!/usr/bin/env bash
# `make demo`: the codec on the sample predictions, then a live stream on a
# local redis-server: sample predictions published a few per second (with
# the odd bad entry), the dashboard served, and the stream tailed here.
# Ctrl-C stops everything.
#
# Settings (environment):
#   DEMO_ADDR=HOST:PORT   where the dashboard listens (127.0.0.1:8080)
#   DEMO_REDIS_PORT=N     the port of the demo's own redis-server (6399); a
#                         port something already listens on is refused: the
#                         demo never uses, or stops, a Redis it did not start
#   DEMO_SECONDS=N        stop after N seconds instead of at Ctrl-C
#   CROWD_STREAM=KEY      the stream (maf:arena:crowd_simulation:output)
set -euo pipefail
bin=${1:-target/debug/crowd-envelope}
here=$(dirname "$0")
port=${DEMO_REDIS_PORT:-6399}
addr=${DEMO_ADDR:-127.0.0.1:8080}
stream=${CROWD_STREAM:-maf:arena:crowd_simulation:output}
work=target/demo
mkdir -p "$work"

echo "== the codec: one envelope per consumer, decoded back"
for prediction in "$here"/predictions/*.json; do
  envelope=$("$bin" build "$prediction")
  echo "$envelope" | "$bin" decode | cut -c1-160
done
echo "== a payload from a future producer, and a broken one: rejected with reasons"
printf '%s\n' '{"schema_version":"2","prediction":{}}' \
  '{"prediction":{"source_type":"fomo2_report","probability":"high","crowd":{"agents":10,"bullish":9,"bearish":9,"neutral":0}},"decision_kind":"polymarket_side"}' \
  | "$bin" decode --lines || true

fail() { echo "make demo: $*" >&2; exit 1; }
# Bash's /dev/tcp: does anything accept connections on HOST PORT?
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

echo "== a live stream: redis-server on 127.0.0.1:$port"
if listening 127.0.0.1 "$port"; then
  fail "something already listens on 127.0.0.1:$port; the demo starts its own Redis" \
    "and never touches another: set DEMO_REDIS_PORT to a free port"
fi
pids=()
redis_pid=
cleanup() {
  for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  # Only the server this run started, by its process id.
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi
  # Reaped quietly: no "Terminated" from the shell.
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$PWD/$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
export CROWD_REDIS_URL="redis://127.0.0.1:$port" CROWD_STREAM="$stream"
until redis-cli -p "$port" ping >/dev/null 2>&1; do
  kill -0 "$redis_pid" 2>/dev/null || { redis_pid=; fail "redis-server did not start: $(tail -n 3 "$work/redis.log")"; }
  sleep 0.1
done

# Sample predictions, a few per second, each kind, with an occasional payload
# a consumer must reject (so the dashboard's rejected panel has something).
questions=("Will BTC close above 100k this week?" "Will the Fed cut rates in December?"
  "Over 2.5 goals in Arsenal v Spurs?" "Will ETH outperform BTC over the next 7 days?"
  "Will it rain in London tomorrow?" "Will the home side win by two or more?")
kinds=(fomo2_report polymarket_bet oddsoddy_strategy)
predict() {
  local kind=${kinds[RANDOM % 3]} bull=$((RANDOM % 101)) bear market
  bear=$((RANDOM % (101 - bull)))
  market=$([ "$kind" = fomo2_report ] && echo null || printf '0.%02d' $((5 + RANDOM % 90)))
  printf '{"source_type":"%s","source_id":"%s-%d","question":"%s","probability":0.%02d,"confidence":0.%02d,"market_probability":%s,"crowd":{"agents":100,"bullish":%d,"bearish":%d,"neutral":%d},"rationale":"Sampled by make demo.","drivers":["sample"],"generated_at":"%s"}\n' \
    "$kind" "$kind" $((RANDOM % 50)) "${questions[RANDOM % ${#questions[@]}]}" $((RANDOM % 100)) \
    $((40 + RANDOM % 60)) "$market" "$bull" "$bear" $((100 - bull - bear)) "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
(
  n=0
  while true; do
    predict
    n=$((n + 1))
    if [ $((n % 25)) = 0 ]; then
      redis-cli -p "$port" XADD "$stream" '*' data '{"schema_version":"2","from":"the future"}' >/dev/null
    fi
    sleep 0.3
  done | "$bin" publish --lines --max-len 10000 >/dev/null
) &
pids+=($!)

# A Python producer too, on the same stream (the crowd_envelope package).
if [ -n "${DEMO_PYTHON:-}" ]; then
  "$DEMO_PYTHON" "$here/python_producer.py" 2>"$work/python-producer.log" &
  pids+=($!)
fi

"$bin" serve --addr "$addr" 2>"$work/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
until grep -q "dashboard at" "$work/serve.log" 2>/dev/null; do
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    fail "the dashboard did not start: $(tail -n 3 "$work/serve.log")" \
      "(set DEMO_ADDR=127.0.0.1:PORT to use another port)"
  fi
  sleep 0.1
done
banner() {
  echo "   dashboard: http://$addr/   (live traffic is flowing into it)"
}
echo
banner
echo "   stream:    $stream on $CROWD_REDIS_URL"
echo "   producers: the shell (sample predictions) and Python (examples/python_producer.py, source ids python-producer-N)"
echo "   Ctrl-C to stop."
echo
echo "== crowd-envelope tail --follow"
color=never
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] && color=always
# The dashboard's address again every 20 rows, so it never scrolls away.
follow() {
  "$bin" tail --follow --count 5 --color "$color" |
    while IFS= read -r row; do
      printf '%s\n' "$row"
      n=$((${n:-0} + 1))
      if [ $((n % 20)) = 0 ]; then banner; fi
    done
}
follow &
pids+=($!)
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else wait $!; fi
