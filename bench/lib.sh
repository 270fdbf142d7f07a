# Helpers shared by the benchmark scripts (bench/run.sh, bench/transfer.sh).
# Sourced, not run. The caller sets, before using them:
#   OUT      the folder where `measure` writes its files
#   SQLITE3  the sqlite3 shell (settle_db, q)
#   TIME     GNU time (measure)
#   STARTED  $SECONDS at the start (log)
# shellcheck shell=bash

# ---------------------------------------------------------------- messages

log() { printf '[%s +%3ds] %s\n' "$(date +%H:%M:%S)" $((SECONDS - STARTED)) "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# True when the 1-minute load is above half the cores: the figures are noisy.
is_busy() { awk -v l="$1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; }

# A positive integer setting, or die naming it.
need_int() {
    [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive whole number, got '$2'"
}

# ---------------------------------------------------------------- numbers

# `BENCH key value` lines of a script's output: the last value, or the minimum.
bench_last() { awk -v k="$2" '$1 == "BENCH" && $2 == k { v = $3 } END { if (v == "") exit 1; print v }' "$1"; }
bench_min() { awk -v k="$2" '$1 == "BENCH" && $2 == k && (v == "" || $3 + 0 < v + 0) { v = $3 } END { if (v == "") exit 1; print v }' "$1"; }
# The minimum of the numbers in a file, one a line.
min_of() { sort -g "$1" | head -n1; }
# The maximum of the numbers in a file, one a line.
max_of() { sort -g "$1" | tail -n1; }

# Arithmetic on decimals (awk prints what bash cannot compute).
calc() { awk "BEGIN { printf \"%.10g\", $* }" </dev/null; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }" </dev/null; }

# verdict VALUE OP GOAL: ok or MISSED.
verdict() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { ok = (op == "<" ? v < g : op == "<=" ? v <= g : v >= g); print ok ? "ok" : "MISSED" }'; }
mib() { fmt '%.0f MiB' "$(calc "$1 / 1024")"; }
ms() { fmt '%.2f ms' "$(calc "$1 * 1000")"; }
sec() { fmt '%.3f s' "$1"; }
# A whole number with thousands separators.
thousands() {
    awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }' </dev/null
}
# A rate: a whole number with thousands separators, then " /s".
rate() { printf '%s /s\n' "$(thousands "$1")"; }

# ---------------------------------------------------------------- databases

# Removes a database and its -wal/-shm files.
rm_db() { rm -f -- "$1" "$1-wal" "$1-shm" "$1-journal"; }

# Makes sure the database file alone holds everything: no WAL content left.
settle_db() {
    local db=$1
    if [[ -s $db-wal ]]; then
        "$SQLITE3" "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    fi
    [[ ! -s $db-wal ]] || die "$db still has a non-empty -wal file after a checkpoint (is something else using it?)"
    rm -f -- "$db-wal" "$db-shm"
}

# fresh_copy SRC DST: DST becomes a byte-identical copy of the settled SRC,
# written out to disk so that its writeback does not land in the next measurement.
fresh_copy() {
    settle_db "$1"
    rm_db "$2"
    cp -- "$1" "$2"
    sync -- "$2" 2>/dev/null || sync
}

# q DB SQL: one value from the sqlite3 shell.
q() { "$SQLITE3" -batch -noheader "$1" "$2"; }

# ---------------------------------------------------------------- measuring

# measure NAME CMD...: runs CMD under /usr/bin/time with stdout/stderr in
# out/NAME.out and out/NAME.err. Sets M_WALL (s), M_RSS (max RSS, KiB) and
# M_ANON (peak anonymous RSS, KiB, sampled every 0.1 s from /proc; 0 if the
# process was too short to sample). Dies, showing stderr, if CMD fails.
measure() {
    local name=$1
    shift
    local tf=$OUT/$name.time
    "$TIME" -f '%e %M' -o "$tf" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
    local tpid=$! cpid='' anon=0 key value _
    while kill -0 "$tpid" 2>/dev/null; do
        if [[ -z $cpid ]]; then
            cpid=$(pgrep -P "$tpid" 2>/dev/null | head -n1 || true)
        fi
        if [[ -n $cpid && -r /proc/$cpid/status ]]; then
            while read -r key value _; do
                if [[ $key == RssAnon: ]]; then
                    ((value > anon)) && anon=$value
                    break
                fi
            done 2>/dev/null <"/proc/$cpid/status" || true
        fi
        sleep 0.1
    done
    local rc=0
    wait "$tpid" || rc=$?
    if ((rc != 0)); then
        printf '\nbench: %s failed (exit %d): %s\n--- stderr (%s) ---\n' "$name" "$rc" "$*" "$OUT/$name.err" >&2
        tail -n 30 "$OUT/$name.err" >&2
        exit 1
    fi
    # The last line: GNU time writes "Command exited..." lines before it on failure.
    read -r M_WALL M_RSS < <(tail -n1 "$tf")
    M_ANON=$anon
    [[ $M_WALL =~ ^[0-9.]+$ && $M_RSS =~ ^[0-9]+$ ]] || die "cannot read the time of $name from $tf"
}

# ---------------------------------------------------------------- the binary

# build_binary DEST: unless BENCH_NO_BUILD=1, `cargo build --release` in ROOT;
# then copies the release binary to DEST (others build in the same target dir:
# measure a private copy, not a moving file). Sets BIN, VERSION and REV (the
# commit, marked when the working tree differs).
build_binary() {
    local dest=$1 target_dir
    if [[ ${BENCH_NO_BUILD:-} != 1 ]]; then
        log "cargo build --release (waits if another build holds the target dir)"
        (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
    fi
    target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [[ -n $target_dir ]] || target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
    [[ -x $target_dir/release/rollcall ]] || die "no release binary at $target_dir/release/rollcall"
    BIN=$dest
    cp -- "$target_dir/release/rollcall" "$BIN"
    VERSION=$("$BIN" --version)
    # Read-only: no index refresh.
    REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ $REV != unknown && -n $(cd "$ROOT" && git --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null) ]]; then
        REV="$REV + uncommitted changes"
    fi
    log "binary: $VERSION ($REV), copied to $BIN"
}
