#!/usr/bin/env bash
# Real servers on loopback for the integration tests, without Docker: Kafka (KRaft, jars from Maven
# Central), Elasticsearch 8.19 (integ-test-zip from Maven Central, run as a non-root user on Java 17),
# an OpenTelemetry Collector (built with the collector builder from Go modules: OTLP/HTTP in, JSON lines
# out) and Redis (Debian's redis-server, port 6390).
#
#   scripts/servers.sh start   [--keep-data] [NAME...]   install what is missing, fetch/build into the
#                                                        cache, start (fresh data unless --keep-data),
#                                                        wait until usable; a server already up is left as is
#   scripts/servers.sh stop    [NAME...]                 SIGTERM (clean shutdown), SIGKILL after a timeout
#   scripts/servers.sh restart [--keep-data] NAME...     stop then start
#   scripts/servers.sh status  [NAME...]                 one line each: up/down; exit 1 if one is down
#   scripts/servers.sh env                               the exports the tests read
#   scripts/servers.sh logs    NAME [LINES]              tail of the server's log
#
# NAME: kafka, elasticsearch (es), otelcol (otel), redis; default: all four.
# Environment: PEREGRINE_SERVERS_DIR (cache, data and logs; default /opt/peregrine-test-servers),
# PEREGRINE_ES_VERSION (default 8.19.21), PEREGRINE_KAFKA_VERSION (default 4.1.1),
# PEREGRINE_REDIS_APPENDONLY (yes|no, default yes), PEREGRINE_SERVERS_TIMEOUT (seconds to wait for one
# server to become usable, default 180). Maven uses ~/.m2, Go its default GOPATH and GOCACHE: all
# outside the repo and kept between runs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$ROOT/test/servers
S=${PEREGRINE_SERVERS_DIR:-/opt/peregrine-test-servers}

ALL=(redis kafka elasticsearch otelcol)
KAFKA_VERSION=${PEREGRINE_KAFKA_VERSION:-4.1.1}
ES_VERSION=${PEREGRINE_ES_VERSION:-8.19.21}
OTELCOL_VERSION=$(sed -n 's#.*collector/receiver/otlpreceiver v\([0-9.]*\).*#\1#p' "$CONF/otelcol/builder.yaml")
REDIS_AOF=${PEREGRINE_REDIS_APPENDONLY:-yes}
WAIT=${PEREGRINE_SERVERS_TIMEOUT:-180}
JAVA_HOME17=/usr/lib/jvm/java-17-openjdk-amd64
MVN_DEP=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
ES_USER=estest

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\033[1m'; RED=$'\033[31m'; R=$'\033[0m'; else B=; RED=; R=; fi
TAG=servers
T0=$EPOCHREALTIME
say() { printf '%s[%6.1fs] %-16s%s %s\n' "$B" "$(elapsed "$T0")" "[$TAG]" "$R" "$*" >&2; }
err() { printf '%s[%6.1fs] %-16s %s%s\n' "$RED" "$(elapsed "$T0")" "[$TAG]" "$*" "$R" >&2; }
die() { err "$*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit "${1:-2}"; }

canon() {
  case "$1" in
    kafka) echo kafka ;; elasticsearch | es) echo elasticsearch ;; otelcol | otel | collector) echo otelcol ;;
    redis) echo redis ;; *) return 1 ;;
  esac
}
port_of() { case "$1" in kafka) echo 9092 ;; elasticsearch) echo 9200 ;; otelcol) echo 4318 ;; redis) echo 6390 ;; esac; }
# every port the server binds (all must be free before a start)
ports_of() { case "$1" in kafka) echo 9092 9093 ;; elasticsearch) echo 9200 9300 ;; otelcol) echo 4318 ;; redis) echo 6390 ;; esac; }
# a word of the server's command line: a pid file pointing at a recycled pid is not taken for the server
cmd_of() {
  case "$1" in kafka) echo kafka.Kafka ;; elasticsearch) echo org.elasticsearch.bootstrap.Elasticsearch ;;
    otelcol) echo otelcol-sinktest ;; redis) echo redis-server ;; esac
}
url_of() {
  case "$1" in kafka) echo 127.0.0.1:9092 ;; elasticsearch) echo http://127.0.0.1:9200 ;;
    otelcol) echo http://127.0.0.1:4318 ;; redis) echo redis://127.0.0.1:6390 ;; esac
}
stop_timeout() { case "$1" in kafka | elasticsearch) echo 60 ;; *) echo 20 ;; esac; }
pidfile() { echo "$S/$1/$1.pid"; }
logfile() { echo "$S/$1/$1.log"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pid of the running server (pid file alive and its command line is the server's), or nothing
server_pid() {
  local f pid c
  f=$(pidfile "$1")
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  c=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $c == *"$(cmd_of "$1")"* ]] || return 1
  echo "$pid"
}
# the pid in the pid file is alive (during startup, before the command line is the server's own)
pid_alive() { local pid; pid=$(tr -dc 0-9 <"$(pidfile "$1")" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
is_up() { server_pid "$1" >/dev/null && port_open "$(port_of "$1")"; }

# start a new log, keeping the previous run's as FILE.prev
fresh_log() { if [ -s "$1" ]; then mv -f "$1" "$1.prev"; fi; : >"$1"; }

tail_log() { # FILE [LINES]
  [ -s "$1" ] || return 0
  printf -- '----- last %s lines of %s -----\n' "${2:-40}" "$1" >&2
  tail -n "${2:-40}" "$1" >&2
  printf -- '-----\n' >&2
}

# run a long command with its output in LOG, printing a heartbeat (with the log's last line) every 15 s
run_logged() { # LOG DESCRIPTION CMD...
  local log=$1 desc=$2 t pid rc=0 n=0 last
  shift 2
  t=$EPOCHREALTIME
  say "$desc (log: $log)"
  "$@" >>"$log" 2>&1 9>&- &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
    if [ $((n % 15)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      last=$(tail -n 1 "$log" 2>/dev/null | cut -c1-110 || true)
      say "  … ${desc%% *} still running, $(elapsed "$t")s${last:+: $last}"
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    err "$desc failed (exit $rc)"
    tail_log "$log" 40
    return "$rc"
  fi
  say "  done in $(elapsed "$t")s"
}

# wait until CHECK succeeds, failing at once if the server's process is gone
wait_for() { # NAME DESCRIPTION CHECK...
  local name=$1 desc=$2 t n=0
  shift 2
  t=$EPOCHREALTIME
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$name"; then
      err "$name exited while waiting for $desc"
      return 1
    fi
    n=$((n + 1))
    if [ "$n" -ge $((WAIT * 2)) ]; then
      err "$name: no $desc after ${WAIT}s"
      return 1
    fi
    [ $((n % 20)) -ne 0 ] || say "  … waiting for $desc, $(elapsed "$t")s"
    sleep 0.5
  done
}

check_ports_free() { # NAME
  local p
  for p in $(ports_of "$1"); do
    if port_open "$p"; then
      err "port $p is already in use by another process (not this script's $1):"
      ss -ltnp "sport = :$p" >&2 || true
      return 1
    fi
  done
}

# ---------------------------------------------------------------------------------------------- setup

apt_updated=0
apt_install() { # PKG...
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}: run as root (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -q >&2
    apt_updated=1
  fi
  say "apt: installing ${missing[*]}"
  # Keep the packages' own services (redis-server on 6379) from starting: tests use their own instances.
  local rcd=/usr/sbin/policy-rc.d made=0
  if [ ! -e "$rcd" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$rcd" && chmod 755 "$rcd" && made=1
  fi
  local rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=$?
  [ "$made" = 0 ] || rm -f "$rcd"
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
}

find_go() {
  local g
  for g in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -n "$g" ] && [ -x "$g" ] && { echo "$g"; return 0; }
  done
  return 1
}
go_ok() { # GO: the collector v0.16x modules need Go >= 1.24
  local v
  v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//')
  [ "$(printf '%s\n1.24\n' "$v" | sort -V | head -1)" = 1.24 ]
}

install_prereqs() { # NAME...
  local pkgs=() n
  for n in "$@"; do
    case $n in
      redis) pkgs+=(redis-server) ;;
      kafka) pkgs+=(openjdk-17-jre-headless maven) ;;
      elasticsearch) pkgs+=(openjdk-17-jre-headless maven unzip curl) ;;
      otelcol) pkgs+=(curl) ;;
    esac
  done
  if [ ${#pkgs[@]} -gt 0 ]; then
    mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
    apt_install "${pkgs[@]}"
  fi
  if printf '%s\n' "$@" | grep -qx otelcol; then
    if ! GO=$(find_go) || ! go_ok "$GO"; then
      apt_install golang-go
      GO=$(find_go) || die "no Go toolchain after installing golang-go"
      go_ok "$GO" || die "$GO is $("$GO" env GOVERSION): the collector needs Go >= 1.24 (put a newer go on PATH)"
    fi
    export GO
  fi
  if printf '%s\n' "$@" | grep -qE '^(kafka|elasticsearch)$'; then
    [ -x "$JAVA_HOME17/bin/java" ] || die "no Java 17 at $JAVA_HOME17"
  fi
}

# one Maven at a time on ~/.m2 (the jobs below run in parallel)
mvn_locked() { flock "$S/.mvn.lock" mvn "$@"; }

# ---------------------------------------------------------------------------------------------- redis

start_redis() {
  local d=$S/redis
  mkdir -p "$d"
  if [ "$KEEP" = 0 ]; then rm -rf "$d/data"; fi
  mkdir -p "$d/data"
  rm -f "$d/redis.pid"
  fresh_log "$d/redis.log"
  say "starting redis-server on 127.0.0.1:6390 (appendonly $REDIS_AOF, $([ "$KEEP" = 1 ] && echo 'keeping data' || echo 'fresh data'))"
  # (daemonizes; its early errors, before the log file is open, go to redis-start.log)
  redis-server "$CONF/redis/redis.conf" --dir "$d/data" --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
    --appendonly "$REDIS_AOF" 9>&- </dev/null >"$d/redis-start.log" 2>&1 ||
    { tail_log "$d/redis-start.log"; tail_log "$d/redis.log"; return 1; }
  local n=0
  until [ -s "$d/redis.pid" ]; do
    n=$((n + 1)); [ $n -lt 100 ] || { err "redis wrote no pid file"; tail_log "$d/redis.log"; return 1; }
    sleep 0.1
  done
  wait_for redis "PING → PONG" redis_ping || { tail_log "$d/redis.log"; return 1; }
}
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p 6390 ping 2>/dev/null)" = PONG ]; }

# ---------------------------------------------------------------------------------------------- kafka

fetch_kafka() {
  K=$S/dist/kafka-$KAFKA_VERSION
  local stamp
  stamp=$(cat "$CONF/kafka/pom.xml" | sha256sum | cut -c1-16)
  if [ -f "$K/.stamp" ] && [ "$(cat "$K/.stamp")" = "$stamp" ]; then
    say "kafka $KAFKA_VERSION jars cached in $K/libs"
    return 0
  fi
  rm -rf "$K"
  mkdir -p "$K"
  run_logged "$S/kafka/fetch.log" "mvn: resolving kafka_2.13 $KAFKA_VERSION jars from Maven Central" \
    mvn_locked -B -ntp -f "$CONF/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" "$MVN_DEP:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$K/libs" || return 1
  unzip -l "$K/libs/kafka_2.13-$KAFKA_VERSION.jar" kafka/tools/StorageTool.class >/dev/null 2>&1 ||
    { err "kafka.tools.StorageTool is not in kafka_2.13-$KAFKA_VERSION.jar"; return 1; }
  echo "$stamp" >"$K/.stamp"
  say "  $(ls "$K/libs" | wc -l) jars, $(du -sh "$K/libs" | cut -f1)"
}

start_kafka() {
  local d=$S/kafka java=$JAVA_HOME17/bin/java
  mkdir -p "$d"
  fetch_kafka || return 1
  local cp="$K/libs/*"
  sed "s#@DATA@#$d/data#" "$CONF/kafka/server.properties" >"$d/server.properties"
  if [ "$KEEP" = 1 ] && [ -f "$d/data/meta.properties" ]; then
    say "keeping the log dir $d/data"
  else
    rm -rf "$d/data"
    mkdir -p "$d/data"
    local cid=-
    # = kafka-storage random-uuid (Uuid.randomUuid: 16 random bytes, base64url without padding, never
    # starting with '-'), without a JVM start
    while [[ $cid == -* ]]; do cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
    say "formatting a fresh KRaft log dir (cluster $cid)"
    "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" >"$d/format.log" 2>&1 ||
      { err "kafka-storage format failed"; tail_log "$d/format.log"; return 1; }
  fi
  fresh_log "$d/kafka.log"
  say "starting the broker+controller on 127.0.0.1:9092/9093 (-Xmx512m)"
  setsid "$java" -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
    -cp "$cp" kafka.Kafka "$d/server.properties" </dev/null >>"$d/kafka.log" 2>&1 9>&- &
  echo $! >"$d/kafka.pid"
  wait_for kafka "TCP 127.0.0.1:9092" port_open 9092 || { tail_log "$d/kafka.log"; return 1; }
  local out rc=0 n=0
  while :; do
    rc=0
    out=$(node "$CONF/kafka/ready.mjs" 127.0.0.1:9092 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || { say "  metadata: $out"; break; }
    if [ "$rc" = 2 ]; then say "  $out"; break; fi
    pid_alive kafka || { err "kafka exited"; tail_log "$d/kafka.log"; return 1; }
    n=$((n + 1))
    [ "$n" -lt "$WAIT" ] || { err "kafka: $out"; tail_log "$d/kafka.log"; return 1; }
    sleep 1
  done
}

# ------------------------------------------------------------------------------------- elasticsearch

fetch_elasticsearch() {
  E=$S/dist/elasticsearch-$ES_VERSION
  if [ -x "$E/bin/elasticsearch" ]; then
    say "elasticsearch $ES_VERSION cached in $E"
    return 0
  fi
  local zip=$S/dist/elasticsearch-$ES_VERSION.zip
  if [ ! -s "$zip" ]; then
    run_logged "$S/elasticsearch/fetch.log" \
      "mvn: fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip from Maven Central" \
      mvn_locked -B -ntp "$MVN_DEP:copy" -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$S/dist" || return 1
  fi
  say "unpacking $(du -h "$zip" | cut -f1) zip"
  rm -rf "$S/dist/.es-unzip" "$E"
  mkdir -p "$S/dist/.es-unzip"
  unzip -q "$zip" -d "$S/dist/.es-unzip" || { err "unzip $zip failed"; return 1; }
  mv "$S/dist/.es-unzip/elasticsearch-$ES_VERSION" "$E"
  rm -rf "$S/dist/.es-unzip" "$zip"
}

start_elasticsearch() {
  local d=$S/elasticsearch
  mkdir -p "$d"
  fetch_elasticsearch || return 1
  id -u "$ES_USER" >/dev/null 2>&1 || {
    say "adding the system user $ES_USER (Elasticsearch refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  }
  if [ "$KEEP" = 0 ]; then rm -rf "$d/data"; fi
  mkdir -p "$d/data" "$d/logs"
  sed -e "s#@DATA@#$d/data#" -e "s#@LOGS@#$d/logs#" "$CONF/elasticsearch/elasticsearch.yml" >"$E/config/elasticsearch.yml"
  rm -f "$d/elasticsearch.pid"
  fresh_log "$d/elasticsearch.log"
  chown -R "$ES_USER:" "$E" "$d"
  say "starting elasticsearch $ES_VERSION on 127.0.0.1:9200 as $ES_USER (Java 17, -Xms512m -Xmx512m)"
  # -d: the launcher forks the server JVM (its pid in the pid file) and returns once it has started
  setsid runuser -u "$ES_USER" -- env ES_JAVA_HOME="$JAVA_HOME17" ES_JAVA_OPTS="-Xms512m -Xmx512m" \
    "$E/bin/elasticsearch" -d -p "$d/elasticsearch.pid" </dev/null >>"$d/elasticsearch.log" 2>&1 9>&- &
  local launcher=$! n=0
  until [ -s "$d/elasticsearch.pid" ]; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      [ -s "$d/elasticsearch.pid" ] && break
      err "the elasticsearch launcher exited without starting the node"
      tail_log "$d/elasticsearch.log"; tail_log "$d/logs/peregrine-test.log"; return 1
    fi
    n=$((n + 1))
    [ $((n % 20)) -ne 0 ] || say "  … waiting for the node to boot, $((n / 2))s"
    [ "$n" -lt $((WAIT * 2)) ] || { err "no pid file after ${WAIT}s"; tail_log "$d/logs/peregrine-test.log"; return 1; }
    sleep 0.5
  done
  wait_for elasticsearch "cluster health yellow" es_healthy ||
    { tail_log "$d/elasticsearch.log"; tail_log "$d/logs/peregrine-test.log"; return 1; }
  local h
  h=$(curl -sS -D - -o /dev/null 'http://127.0.0.1:9200/_cluster/health' | tr -d '\r')
  grep -qix 'x-elastic-product: Elasticsearch' <<<"$h" ||
    { err "no X-Elastic-Product: Elasticsearch header on GET /_cluster/health"; return 1; }
  # (GET / and HEAD / answer 405 here: the rest-root module is not in the integ-test-zip)
  say "  version $(curl -sS 'http://127.0.0.1:9200/_nodes/_local?filter_path=nodes.*.version' | sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p')," \
    "health $(curl -sS 'http://127.0.0.1:9200/_cluster/health' | sed 's/.*"status":"\([a-z]*\)".*/\1/')"
}
es_healthy() { curl -fsS 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=2s' >/dev/null; }

# -------------------------------------------------------------------------------------------- otelcol

build_otelcol() {
  O=$S/dist/otelcol-$OTELCOL_VERSION
  BIN=$O/otelcol-build/otelcol-sinktest
  local stamp
  stamp=$(sha256sum <"$CONF/otelcol/builder.yaml" | cut -c1-16)
  if [ -x "$BIN" ] && [ -f "$O/.stamp" ] && [ "$(cat "$O/.stamp")" = "$stamp" ]; then
    say "collector binary cached: $BIN"
    return 0
  fi
  mkdir -p "$O"
  rm -f "$O/.stamp"
  if [ ! -x "$O/builder" ]; then
    run_logged "$S/otelcol/build.log" "go install go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" \
      env GOBIN="$O" GOFLAGS="${GOFLAGS:--buildvcs=false}" "$GO" install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" || return 1
  fi
  # output_path is made absolute: the build stays in the cache, never in the repo
  sed "s#^\(  output_path:\).*#\1 $O/otelcol-build#" "$CONF/otelcol/builder.yaml" >"$O/builder.yaml"
  run_logged "$S/otelcol/build.log" "builder: generating the collector's sources, resolving its Go modules" \
    env -C "$O" PATH="$(dirname "$GO"):$PATH" GOFLAGS="${GOFLAGS:--buildvcs=false}" ./builder --skip-compilation --config="$O/builder.yaml" || return 1
  # the builder's own compile step (same command and environment: CGO off, -trimpath, -s -w; the same
  # binary), with -v so that the heartbeat shows the package being compiled
  run_logged "$S/otelcol/build.log" "go build of the collector (~300 packages: minutes when cold)" \
    env -C "$O/otelcol-build" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    "$GO" build -v -trimpath -o otelcol-sinktest -ldflags='-s -w' -gcflags= . || return 1
  [ -x "$BIN" ] || { err "the builder made no $BIN"; return 1; }
  echo "$stamp" >"$O/.stamp"
  say "  $(du -h "$BIN" | cut -f1) binary"
}

start_otelcol() {
  local d=$S/otelcol
  mkdir -p "$d"
  build_otelcol || return 1
  if [ "$KEEP" = 0 ]; then rm -f "$d/logs.jsonl"; fi
  cp "$CONF/otelcol/config.yaml" "$d/config.yaml"
  fresh_log "$d/otelcol.log"
  say "starting the collector on 127.0.0.1:4318 → $d/logs.jsonl"
  OTEL_SINK_FILE=$d/logs.jsonl setsid "$BIN" --config="$d/config.yaml" </dev/null >>"$d/otelcol.log" 2>&1 9>&- &
  echo $! >"$d/otelcol.pid"
  wait_for otelcol "TCP 127.0.0.1:4318" port_open 4318 || { tail_log "$d/otelcol.log"; return 1; }
  wait_for otelcol "an OTLP/HTTP JSON POST /v1/logs answered 200" otlp_post || { tail_log "$d/otelcol.log"; return 1; }
}
# an empty export request: accepted (200) but writes no line to the output file
otlp_post() {
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"resourceLogs":[]}' http://127.0.0.1:4318/v1/logs)" = 200 ]
}

# ------------------------------------------------------------------------------------------ commands

start_one() { # NAME: runs in its own subshell (jobs run in parallel); takes the server's lock
  local name=$1 t pid
  TAG=$name
  t=$EPOCHREALTIME
  mkdir -p "$S/$name"
  exec 9>"$S/$name/.lock"
  flock -n 9 || { say "another servers.sh holds $S/$name/.lock: waiting"; flock 9; }
  if pid=$(server_pid "$name"); then
    if port_open "$(port_of "$name")"; then
      say "already running (pid $pid, $(url_of "$name")): left as is"
      return 0
    fi
    err "pid $pid is alive but port $(port_of "$name") does not answer: stopping it first"
    stop_one "$name" || return 1
  fi
  check_ports_free "$name" || return 1
  if ! "start_$name"; then
    err "FAILED after $(elapsed "$t")s (log: $(logfile "$name"))"
    if pid_alive "$name"; then stop_one "$name" || true; fi
    return 1
  fi
  say "up in $(elapsed "$t")s: $(url_of "$name") (pid $(server_pid "$name"))"
}

stop_one() { # NAME
  local name=$1 pid n=0 t lim
  TAG=$name
  t=$EPOCHREALTIME
  if ! pid=$(server_pid "$name"); then
    rm -f "$(pidfile "$name")"
    say "not running"
    return 0
  fi
  lim=$(stop_timeout "$name")
  say "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -ge $((lim * 10)) ]; then
      err "still alive after ${lim}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "$(pidfile "$name")"
  say "stopped in $(elapsed "$t")s"
}

cmd_start() { # NAME...
  local n names=("$@") todo=() pids=() failed=() t
  mkdir -p "$S/dist"
  chmod 755 "$S"
  for n in "${names[@]}"; do
    if is_up "$n"; then TAG=$n say "already running (pid $(server_pid "$n"), $(url_of "$n")): left as is"; else todo+=("$n"); fi
  done
  [ ${#todo[@]} -gt 0 ] || return 0
  install_prereqs "${todo[@]}"
  # Redis first (under a second), then the rest in parallel: the collector builds while Kafka and
  # Elasticsearch boot; Maven downloads are serialized by a lock.
  if printf '%s\n' "${todo[@]}" | grep -qx redis; then
    (start_one redis) || failed+=(redis)
  fi
  for n in kafka elasticsearch otelcol; do
    printf '%s\n' "${todo[@]}" | grep -qx "$n" || continue
    (start_one "$n") &
    pids+=("$n:$!")
  done
  for p in "${pids[@]}"; do
    wait "${p#*:}" || failed+=("${p%%:*}")
  done
  TAG=servers
  if [ ${#failed[@]} -gt 0 ]; then
    err "FAILED: ${failed[*]}"
    cmd_status "${names[@]}" || true
    return 1
  fi
  say "all up in $(elapsed "$T0")s: ${names[*]}"
}

cmd_stop() { # NAME...
  local n
  for n in "$@"; do
    (
      mkdir -p "$S/$n"
      exec 9>"$S/$n/.lock"
      flock 9
      stop_one "$n"
    ) &
  done
  wait
}

cmd_status() { # NAME...
  local n pid rc=0 state
  for n in "$@"; do
    if pid=$(server_pid "$n") && port_open "$(port_of "$n")"; then
      printf '%-14s up    pid %-8s %s\n' "$n" "$pid" "$(url_of "$n")"
    else
      state=down
      if [ -n "${pid:-}" ]; then state="down  (pid $pid alive, port $(port_of "$n") not answering yet)"
      elif port_open "$(port_of "$n")"; then state="down  (port $(port_of "$n") held by another process)"; fi
      printf '%-14s %s\n' "$n" "$state"
      rc=1
    fi
    pid=
  done
  return "$rc"
}

cmd_env() {
  cat <<EOF
export PEREGRINE_TEST_SERVERS=1
export PEREGRINE_KAFKA_BROKERS=127.0.0.1:9092
export PEREGRINE_ES_URL=http://127.0.0.1:9200
export PEREGRINE_OTLP_URL=http://127.0.0.1:4318
export PEREGRINE_OTLP_FILE=$S/otelcol/logs.jsonl
export PEREGRINE_REDIS_URL=redis://127.0.0.1:6390
EOF
}

# ----------------------------------------------------------------------------------------------- main

cmd=${1:-}
[ $# -eq 0 ] || shift
KEEP=0
LINES=60
names=()
for a in "$@"; do
  case $a in
    --keep-data) KEEP=1 ;;
    -h | --help) usage 0 ;;
    [0-9]*) LINES=$a ;;
    *) n=$(canon "$a") || { printf 'unknown server: %s (kafka, elasticsearch, otelcol, redis)\n' "$a" >&2; exit 2; }
      printf '%s\n' "${names[@]}" | grep -qx "$n" || names+=("$n") ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
export KEEP

case $cmd in
  start) cmd_start "${names[@]}" ;;
  stop) cmd_stop "${names[@]}" ;;
  restart)
    [ $# -gt 0 ] || usage
    cmd_stop "${names[@]}"
    cmd_start "${names[@]}"
    ;;
  status) cmd_status "${names[@]}" ;;
  env) cmd_env ;;
  logs)
    if [ ${#names[@]} -ne 1 ] || [ $# -lt 1 ]; then usage; fi
    for f in "$(logfile "${names[0]}")" "$S/${names[0]}/logs/peregrine-test.log"; do
      [ ! -f "$f" ] || tail_log "$f" "$LINES" 2>&1
    done
    ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
