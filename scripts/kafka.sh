#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker + controller in one JVM) for tests,
# benchmarks and CI. No Docker: the broker's jars come from Maven Central (test/kafka/pom.xml)
# and run on the machine's Java 17.
#
#   bash scripts/kafka.sh fetch [mvn args...]  resolve the jars into test/kafka/lib/ (skipped when complete)
#   bash scripts/kafka.sh start                start (or reuse) the broker; prints VCP_TEST_KAFKA_BROKERS=...
#   bash scripts/kafka.sh stop                 stop it and delete its data dir
#   bash scripts/kafka.sh status               exit 0 and print the address when running, else exit 1
#   bash scripts/kafka.sh logs [n]             last n lines (default 50) of the broker's log
#
# Typical use:  export "$(bash scripts/kafka.sh start)"; npx vitest run test/kafka; bash scripts/kafka.sh stop
#
# Only the address goes to stdout; progress and errors go to stderr.
# Environment: VCP_KAFKA_PORT (19092), VCP_KAFKA_CONTROLLER_PORT (19093), KAFKA_HEAP_OPTS
# ("-Xmx512m -Xms128m"), VCP_KAFKA_START_TIMEOUT seconds (60), VCP_KAFKA_STATE (state file,
# ${TMPDIR:-/tmp}/vcp-kafka.state), TMPDIR (where the data dir is made).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kafka_dir="$root/test/kafka"
lib="$kafka_dir/lib"
tmp_base="${TMPDIR:-/tmp}"
tmp_base="${tmp_base%/}"
state_file="${VCP_KAFKA_STATE:-$tmp_base/vcp-kafka.state}"
port="${VCP_KAFKA_PORT:-19092}"
cport="${VCP_KAFKA_CONTROLLER_PORT:-19093}"
start_timeout="${VCP_KAFKA_START_TIMEOUT:-60}"
heap_opts="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"

log() { echo "kafka.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- fetch ------------------------------------------------------------------------------------

# lib/ is complete when its stamp holds the hash of the pom it was resolved from, so a changed
# pom (new Kafka version) refetches and an unchanged one never touches the network.
pom_hash() { sha256sum "$kafka_dir/pom.xml" | cut -d' ' -f1; }
lib_complete() { [ -f "$lib/.complete" ] && [ "$(cat "$lib/.complete")" = "$(pom_hash)" ]; }

has_jars() { [ -n "$(find "$lib" -name '*.jar' 2>/dev/null | head -n1)" ]; }

# Show the end of mvn's output, leave no partial lib/ behind, and stop.
fetch_failed() {
  tail -n 60 "$1" >&2
  rm -f "$1"
  rm -rf "$lib"
  die "$2"
}

cmd_fetch() {
  if lib_complete; then
    log "jars already in $lib ($(find "$lib" -name '*.jar' | wc -l) jars)"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "resolving Kafka jars from Maven Central into $lib"
  rm -rf "$lib"
  local mvn_log attempt
  mvn_log=$(mktemp "$tmp_base/vcp-kafka-mvn.XXXXXX")
  # Two attempts: seen once on a machine whose local Maven repository was new, mvn exited 0 and copied
  # nothing; a second run (the plugin and artifacts are local by then) copies them. A failed mvn, or a
  # second run without jars, is an error.
  for attempt in 1 2; do
    if ! (cd "$kafka_dir" && mvn -B -Dstyle.color=never "$@" \
      dependency:copy-dependencies -DoutputDirectory="$lib") >"$mvn_log" 2>&1; then
      fetch_failed "$mvn_log" "mvn dependency:copy-dependencies failed (output above)"
    fi
    has_jars && break
    [ "$attempt" = 2 ] && fetch_failed "$mvn_log" "mvn dependency:copy-dependencies copied no jars into $lib (output above)"
    log "mvn copied no jars; running it once more"
  done
  rm -f "$mvn_log"
  pom_hash >"$lib/.complete"
  log "fetched $(find "$lib" -name '*.jar' | wc -l) jars ($(du -sh "$lib" | cut -f1))"
}

# --- state ------------------------------------------------------------------------------------

state_get() { [ -f "$state_file" ] && sed -n "s/^$1=//p" "$state_file" | head -n1 || true; }

# The recorded pid is ours only while it is still a kafka.Kafka JVM reading our data dir
# (guards against a reused pid after a reboot or a crash).
broker_alive() {
  local pid=$1 dir=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  local cmd
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ $cmd == *kafka.Kafka* && $cmd == *"$dir"* ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Deletes a data dir only if it is one this script made.
remove_data_dir() {
  local dir=$1
  case "$dir" in
  "$tmp_base"/vcp-kafka.*) rm -rf "$dir" ;;
  *) [ -z "$dir" ] || log "not deleting unexpected data dir '$dir'" ;;
  esac
}

# --- readiness probe --------------------------------------------------------------------------

# A Node >= 22 that can load @platformatic/kafka, without installing anything.
pick_node() {
  local c major
  for c in "${VCP_NODE:-}" "$(command -v node || true)" /root/.cache/vcp-node/node-24/bin/node \
    "${XDG_CACHE_HOME:-$HOME/.cache}/vcp-instrument/node-24/bin/node"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    major=$("$c" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -ge 22 ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# Creates and deletes a throwaway topic through the Admin API: proves the controller and the
# broker both answer, not just that a socket is listening.
# shellcheck disable=SC2016 # JavaScript, not shell: the ${...} are template literals.
probe_js='
import { Admin } from "@platformatic/kafka";
const admin = new Admin({ clientId: "vcp-kafka-ready", bootstrapBrokers: [process.argv[1]], timeout: 5000, retries: 0 });
const topic = `__vcp_ready_${process.pid}_${Date.now()}`;
const timer = setTimeout(() => { console.error("admin probe timed out"); process.exit(2); }, 15000);
try {
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  await admin.deleteTopics({ topics: [topic] });
  clearTimeout(timer);
  await admin.close();
} catch (e) {
  console.error(`admin probe: ${e?.message ?? e}`);
  process.exit(1);
}
'

admin_probe() {
  local node=$1
  (cd "$root" && "$node" --input-type=module -e "$probe_js" "127.0.0.1:$port") 2>&1
}

# --- start / stop / status --------------------------------------------------------------------

print_address() { echo "VCP_TEST_KAFKA_BROKERS=127.0.0.1:$(state_get port)"; }

cmd_status() {
  local pid dir
  pid=$(state_get pid)
  dir=$(state_get dir)
  if broker_alive "$pid" "$dir" && port_open "$(state_get port)"; then
    log "running: pid $pid, data dir $dir, log $dir/server.log"
    print_address
    return 0
  fi
  log "not running"
  return 1
}

fail_start() {
  local pid=$1 dir=$2 why=$3
  log "error: $why"
  for f in server.log stdout.log; do
    if [ -s "$dir/$f" ]; then
      echo "----- last 40 lines of $f -----" >&2
      tail -n 40 "$dir/$f" >&2
    fi
  done
  [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
  remove_data_dir "$dir"
  rm -f "$state_file"
  exit 1
}

cmd_start() {
  local pid dir
  pid=$(state_get pid)
  dir=$(state_get dir)
  if broker_alive "$pid" "$dir"; then
    if port_open "$(state_get port)"; then
      log "already running (pid $pid)"
      print_address
      return 0
    fi
    die "a broker (pid $pid) is running but not listening on $(state_get port); run: bash scripts/kafka.sh stop"
  fi
  # A stale state file from a broker that died: clean up after it.
  if [ -f "$state_file" ]; then
    remove_data_dir "$dir"
    rm -f "$state_file"
  fi
  for p in "$port" "$cport"; do
    ! port_open "$p" || die "port $p on 127.0.0.1 is already in use; set VCP_KAFKA_PORT / VCP_KAFKA_CONTROLLER_PORT"
  done
  command -v java >/dev/null || die "java not found (Java 17+ is needed)"
  cmd_fetch

  local started_at
  started_at=$(date +%s%N)
  dir=$(mktemp -d "$tmp_base/vcp-kafka.XXXXXX")
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=false
log.dirs=$dir/data
EOF
  # Kafka 4 logs through log4j2; keep everything in the data dir, nothing on the terminal.
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
EOF
  local heap
  read -ra heap <<<"$heap_opts"
  local jvm=(java "${heap[@]}" -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$lib/*")

  # A cluster id is 16 random bytes in unpadded base64url; made here to spare a JVM start.
  local cluster_id
  # The id is passed as an argument: one starting with '-' would read as an option, so draw again.
  cluster_id=-
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  # The format run is short: C1-only JIT starts it ~0.4 s sooner. The broker keeps full JIT.
  if ! "${jvm[@]}" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    fail_start "" "$dir" "kafka-storage format failed"
  fi

  # setsid: the broker outlives the shell that started it (CI steps, editor terminals).
  setsid nohup "${jvm[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  pid=$!
  disown "$pid" 2>/dev/null || true
  printf 'pid=%s\ndir=%s\nport=%s\ncport=%s\n' "$pid" "$dir" "$port" "$cport" >"$state_file"
  log "starting broker (pid $pid, data dir $dir)"

  local deadline=$((SECONDS + start_timeout)) node="" probed=0 out="" up_ms=""
  node=$(pick_node || true)
  [ -n "$node" ] || log "no Node >= 22 found; readiness is judged from the broker log only"
  while :; do
    broker_alive "$pid" "$dir" || fail_start "" "$dir" "the broker exited during startup"
    if grep -q 'Kafka Server started' "$dir/server.log" 2>/dev/null && port_open "$port"; then
      [ -n "$up_ms" ] || up_ms=$((($(date +%s%N) - started_at) / 1000000))
      if [ -z "$node" ]; then break; fi
      if out=$(admin_probe "$node"); then
        probed=1
        break
      fi
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail_start "$pid" "$dir" \
      "broker not ready after ${start_timeout}s${out:+ (last probe: $out)}"
    sleep 0.2
  done
  local ms=$((($(date +%s%N) - started_at) / 1000000))
  log "ready in ${ms} ms (broker up after ${up_ms} ms$([ "$probed" = 1 ] && echo ', then admin probe passed'))"
  print_address
}

cmd_stop() {
  local pid dir
  pid=$(state_get pid)
  dir=$(state_get dir)
  if [ ! -f "$state_file" ]; then
    log "not running"
    return 0
  fi
  if broker_alive "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      broker_alive "$pid" "$dir" || break
      sleep 0.2
    done
    if broker_alive "$pid" "$dir"; then
      log "broker did not stop within 30 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    log "stopped (pid $pid)"
  else
    log "broker was not running; cleaning up"
  fi
  remove_data_dir "$dir"
  rm -f "$state_file"
}

cmd_logs() {
  local dir
  dir=$(state_get dir)
  [ -n "$dir" ] && [ -f "$dir/server.log" ] || die "no broker log (not running?)"
  tail -n "${1:-50}" "$dir/server.log"
}

case "${1:-}" in
fetch)
  shift
  cmd_fetch "$@"
  ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
logs)
  shift
  cmd_logs "$@"
  ;;
*)
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
