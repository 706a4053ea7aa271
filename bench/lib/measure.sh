# Timing one run: wall clock, client CPU and peak RSS (from /usr/bin/time around every client
# process), server CPU (from /proc, see server_cpu_ticks), and the target's row count.
# Sourced by bench/run.

# Runs a client process under /usr/bin/time (and a time limit), one record per process in
# $TIME_DIR. wait4's rusage covers the process and every descendant it reaped, so tools that fork
# (pgcopydb, timeout) are counted whole; %M is the largest RSS among them, in KiB.
client() {
    local record
    record=$(mktemp "$TIME_DIR/proc.XXXXXX")
    /usr/bin/time -f '%e %U %S %M' -o "$record" \
        timeout --foreground --kill-after=10 "$RUN_TIMEOUT" "$@"
}

# Sums the records of $TIME_DIR: "CPU_SECONDS MAX_RSS_KIB". A failed command's record starts with
# a "Command exited with non-zero status" line, so only each file's last line is read.
client_usage() {
    local file cpu=0 rss=0 line
    for file in "$TIME_DIR"/proc.*; do
        [[ -s $file ]] || continue
        line=$(tail -n 1 "$file")
        read -r _ user sys max_rss <<<"$line"
        cpu=$(awk -v a="$cpu" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", a + u + s }')
        ((max_rss > rss)) && rss=$max_rss
    done
    echo "$cpu $rss"
}

# Why a failed run failed, in one line short enough for the table: the last line of its log that
# names an error (or else the last line), without characters that would break a Markdown table.
failure_reason() {
    local log=$1 rc=$2
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        echo "timed out after ${RUN_TIMEOUT}s"
        return
    fi
    local line
    # Most telling first: pgloader's heap death, then server-style ERROR/FATAL lines, then any.
    line=$(grep -ai 'heap exhausted' "$log" | tail -n 1)
    [[ -n $line ]] || line=$(grep -aE 'ERROR|FATAL' "$log" | tail -n 1)
    [[ -n $line ]] || line=$(grep -aiE 'error|failed|not found|no such|killed|denied' "$log" |
        grep -av '^Command exited' | tail -n 1)
    [[ -n $line ]] || line=$(grep -av '^\s*$' "$log" | tail -n 1)
    line=$(printf '%s' "$line" | tr -d '\r' | tr '|`' '/ ' | sed -E 's/[[:space:]]+/ /g; s/^ //')
    printf 'exit %s: %.110s' "$rc" "$line"
}

# measure NAME TABLE ROWS FUNCTION [ARGS...]: times FUNCTION (which starts its client processes
# through `client`), then checks that dst.TABLE holds ROWS rows. Appends one line to $RESULTS:
# name, status, reason, rows, wall s, client CPU s, server CPU s, peak client RSS KiB.
# A failure is recorded, never fatal.
measure() {
    local name=$1 table=$2 rows=$3
    shift 3
    local run_dir="$RUN_ROOT/$name${RUN_DIR_SUFFIX:-}"
    rm -rf "$run_dir"
    TIME_DIR="$run_dir/time"
    mkdir -p "$TIME_DIR"
    q dst "CHECKPOINT" >/dev/null
    q src "CHECKPOINT" >/dev/null

    local ticks_before ticks_after start end rc=0
    ticks_before=$(server_cpu_ticks)
    start=$(date +%s.%N)
    # errexit is off in any `cmd || ...` context, subshells included: turn it off around the
    # run so that inside it `set -e` holds and a failing step ends the run.
    set +e
    (
        set -e
        cd "$run_dir"
        "$@"
    ) >"$run_dir/log" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    sleep 0.2 # let the backends of the finished clients exit and be reaped
    ticks_after=$(server_cpu_ticks)

    local status=ok reason="" count=""
    if [[ $rc -ne 0 ]]; then
        status=failed
        reason=$(failure_reason "$run_dir/log" "$rc")
    else
        count=$(q dst "SELECT count(*) FROM $table" 2>>"$run_dir/log" || echo "?")
        if [[ $count != "$rows" ]]; then
            status=failed
            reason="target has $count rows, expected $rows"
        fi
    fi
    local wall server usage
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    server=$(awk -v t="$((ticks_after - ticks_before))" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.2f", t / hz }')
    usage=$(client_usage)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$reason" "$rows" "$wall" \
        "${usage% *}" "$server" "${usage#* }" >>"$RESULTS"
    local rate="-"
    [[ $status == ok ]] && rate=$(awk -v r="$rows" -v w="$wall" 'BEGIN { printf "%.0f", r / w }')
    log "$(printf '%-20s %-6s %8s s %9s rows/s  %s' "$name" "$status" "$wall" "$rate" "$reason")"
}
