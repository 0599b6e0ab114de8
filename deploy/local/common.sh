# Shared by up.sh and down.sh (sourced, not run): where things are, and how to tell whether a
# recorded pid is still the process we started.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy_dir="$(dirname "$here")"
repo="$(dirname "$deploy_dir")"
run_dir="${TAIZHANG_LOCAL_RUN_DIR:-$repo/run/local}"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"

# The portal last: it owns no store and calls the others through nginx (ADR 27).
services=(intake dispatch tracking notify insight portal)
# The processes that hold PostgreSQL connections (the portal holds none).
stores=(intake dispatch tracking notify insight)
# Every service's relay may run in a process of its own, "<service>-relay" (ADR 48; up.sh
# starts those TAIZHANG_LOCAL_RELAYS_APART names); down.sh stops whichever is running.
relays=()
for store in "${stores[@]}"; do relays+=("$store-relay"); done

say() { printf '%s\n' "$*" >&2; }

# A pid is alive while it exists and is not a zombie (an orphan whose reaper has not
# collected it yet has already stopped).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# What the process of a pid file must look like: a pid reused by an unrelated process after
# a reboot or crash is never signalled.
expected_args() {
  case "$1" in
    nginx) printf '%s' "-c $run_dir/nginx.conf" ;;
    *-relay) printf '%s' "relay run ${1%-relay} " ;;
    *) printf '%s' "serve $1 " ;;
  esac
}

# The pid recorded for a component, if that process is still ours and alive.
owned_pid() {
  local pid_file="$run_dir/$1.pid" pid args
  [ -s "$pid_file" ] || return 1
  pid="$(tr -dc '0-9' <"$pid_file")"
  [ -n "$pid" ] && alive "$pid" || return 1
  # -ww: never cut the command line at the terminal width (COLUMNS), or no pid would match.
  args="$(ps -ww -o args= -p "$pid" 2>/dev/null || true)"
  case "$args" in
    *"$(expected_args "$1")"*) printf '%s' "$pid" ;;
    *) return 1 ;;
  esac
}
