#!/usr/bin/env bash
# Stop exactly what deploy/local/up.sh started in the same run directory: the processes named
# by its pid files, and only while they still are those processes. Never the machine's
# PostgreSQL or NATS. Waits until every one is gone. Data (schema, streams) is kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

grace_seconds="${TAIZHANG_LOCAL_STOP_SECONDS:-45}"

# nginx first, so no new request reaches a service that is shutting down.
declare -A stopping=()
for name in nginx "${services[@]}" "${relays[@]}"; do
  pid="$(owned_pid "$name")" || continue
  say "stopping $name (pid $pid)"
  stopping[$name]="$pid"
  if [ "$name" = nginx ]; then
    # Its workers too, in case the master has to be killed and cannot take them along.
    for worker in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
      stopping[nginx-worker-$worker]="$worker"
    done
    kill -QUIT "$pid"  # finish requests in flight, then exit
  else
    kill -TERM "$pid"  # drain HTTP, relays and consumers (see services/cli.py)
  fi
done

# Wait for all of them; what is still there after the grace period is killed.
deadline=$((SECONDS + grace_seconds))
for name in "${!stopping[@]}"; do
  pid="${stopping[$name]}"
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if alive "$pid"; then
    say "$name (pid $pid) did not stop within ${grace_seconds}s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
done

for name in nginx "${services[@]}" "${relays[@]}"; do rm -f "$run_dir/$name.pid"; done
say "stopped ${#stopping[@]} process(es) started from $run_dir"
