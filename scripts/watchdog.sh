#!/usr/bin/env bash
# Runs a command with a time limit. If it is still running at the limit, prints which Swift
# Testing tests had started but not finished, the stacks of the test process's threads (gdb),
# then kills the command's whole process group and exits 124 — so a hang in CI is a failure
# that names itself instead of a silent timeout of the whole job.
# Usage: scripts/watchdog.sh SECONDS COMMAND [ARGS...]
set -uo pipefail
limit="$1"; shift
log="$(mktemp /tmp/twill-watchdog.XXXXXX)"
trap 'rm -f "$log"' EXIT
setsid "$@" > >(tee "$log") 2>&1 &
pid=$!
(
  end=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      touch "$log.fired"
      echo "watchdog: '$*' still running after ${limit}s; tests started but not finished:" >&2
      grep -oE '◇ Test [^ ]+\(.*\) started\.' "$log" | sed -E 's/^◇ Test (.*) started\.$/\1/' | sort -u > "$log.started"
      grep -oE '[✔✘] Test [^ ]+\([^)]*\)' "$log" | sed -E 's/^[✔✘] Test //' | sort -u > "$log.done"
      comm -23 "$log.started" "$log.done" | sed 's/^/watchdog:   /' >&2
      for p in $(pgrep -g "$pid"); do
        case "$(cat /proc/"$p"/comm 2>/dev/null)" in
          *xctest*|*PackageTests*|TwillPackageTes*)
            echo "watchdog: threads of pid $p ($(tr '\0' ' ' < /proc/"$p"/cmdline | cut -c1-120)):" >&2
            timeout 180 gdb -p "$p" -batch -ex 'set pagination off' -ex 'thread apply all bt 25' 2>/dev/null \
              | grep -E '^(Thread|#)' | cut -c1-220 | head -1500 >&2 ;;
        esac
      done
      kill -TERM -- "-$pid" 2>/dev/null; sleep 5; kill -KILL -- "-$pid" 2>/dev/null
      rm -f "$log.started" "$log.done"
      exit 0
    fi
    sleep 5
  done
) &
guard=$!
wait "$pid"; rc=$?
if [ -e "$log.fired" ]; then
  wait "$guard" 2>/dev/null; rc=124; rm -f "$log.fired"
else
  kill "$guard" 2>/dev/null; wait "$guard" 2>/dev/null
fi
exit "$rc"
