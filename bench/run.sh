#!/usr/bin/env bash
# Benchmarks of rollcall, run by hand (never as timed tests):
#
#   bench/run.sh
#
# Builds the release binary, makes one demo academy of 1,000,000 members
# (seed 42) and measures, on copies of it:
#   1. `init --demo` wall time and peak RSS            goal < 30 s
#   2. members().country("NL").suspended().count()     goal < 50 ms (best of 5)
#   3. closure filters over every member               goal >= 1,000,000 members/s
#   4. peak RSS of the query run (2 and 3)
#   5. baseline A: members().country("NL").suspend() with audit rows, against the
#      bare UPDATE in the sqlite3 shell on an identical copy     goal <= 3x
#   6. baseline B: reset_access_code() over 100,000 anonymous members   goal < 2 s
# and prints a summary table, also written to bench/out/summary.txt.
#
# Everything it writes goes under bench/out/ (gitignored); each run starts by
# clearing it. The machine may be shared: the 1-minute load average is recorded
# with every step, read the figures with it.
#
# Settings (environment):
#   BENCH_MEMBERS      members of the demo academy (default 1000000)
#   BENCH_SEED         demo seed (default 42)
#   BENCH_ANON         anonymous members for baseline B (default 100000)
#   BENCH_REPS         tries of the indexed count (default 5)
#   BENCH_FILTER_REPS  tries of each closure filter (default 3)
#   BENCH_ACTION_REPS  tries of each side of baseline A (default 5)
#   BENCH_RESET_REPS   tries of baseline B (default 2)
#   BENCH_NO_BUILD=1   skip `cargo build --release` (use the built binary)

set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
OUT=$BENCH/out

MEMBERS=${BENCH_MEMBERS:-1000000}
SEED=${BENCH_SEED:-42}
ANON=${BENCH_ANON:-100000}
REPS=${BENCH_REPS:-5}
FILTER_REPS=${BENCH_FILTER_REPS:-3}
ACTION_REPS=${BENCH_ACTION_REPS:-5}
RESET_REPS=${BENCH_RESET_REPS:-2}
SQLITE3=${SQLITE3:-/usr/bin/sqlite3}
TIME=/usr/bin/time

STARTED=$SECONDS

# ---------------------------------------------------------------- helpers

# log, die, measure, fresh_copy, build_binary ...: shared with bench/transfer.sh.
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# ---------------------------------------------------------------- checks

need_int BENCH_MEMBERS "$MEMBERS"
need_int BENCH_SEED "$SEED"
need_int BENCH_ANON "$ANON"
need_int BENCH_REPS "$REPS"
need_int BENCH_FILTER_REPS "$FILTER_REPS"
need_int BENCH_ACTION_REPS "$ACTION_REPS"
need_int BENCH_RESET_REPS "$RESET_REPS"
((ANON <= MEMBERS)) || die "BENCH_ANON ($ANON) cannot exceed BENCH_MEMBERS ($MEMBERS)"
[[ -x $TIME ]] || die "$TIME is missing (GNU time; apt-get install time)"
[[ -x $SQLITE3 ]] || die "$SQLITE3 is missing (apt-get install sqlite3), or set SQLITE3"
for tool in cargo awk pgrep sort cp sync; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
for script in queries.rhai suspend.rhai reset.rhai; do
    [[ -r $BENCH/$script ]] || die "missing $BENCH/$script"
done

mkdir -p "$OUT"
# Idempotent: every run starts from an empty out/ (only what this script writes:
# bench/transfer.sh keeps its files under out/transfer*).
find "$OUT" -mindepth 1 -maxdepth 1 ! -name 'transfer*' -exec rm -rf -- {} +

exec > >(tee "$OUT/bench.log") 2>&1
TEE_PID=$!
# Let tee write its last lines before the shell returns.
trap 'exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT

LOAD_START=$(load1)
log "rollcall benchmarks: $MEMBERS members, seed $SEED, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "note: the machine is busy (load $LOAD_START on $(nproc) cores): expect noisy figures"
fi

# ---------------------------------------------------------------- build

build_binary "$OUT/rollcall"

# ---------------------------------------------------------------- 1. init

PRISTINE=$OUT/pristine.db
WORK=$OUT/work.db
log "1. init --demo $MEMBERS --seed $SEED (load $(load1))"
LOAD_INIT=$(load1)
rm_db "$PRISTINE"
measure init "$BIN" --db "$PRISTINE" init --demo "$MEMBERS" --seed "$SEED"
INIT_WALL=$M_WALL INIT_RSS=$M_RSS INIT_ANON=$M_ANON
settle_db "$PRISTINE"
DB_BYTES=$(stat -c %s "$PRISTINE")
N_MEMBERS=$(q "$PRISTINE" "SELECT count(*) FROM members")
N_NL=$(q "$PRISTINE" "SELECT count(*) FROM members WHERE country = 'NL'")
N_NL_ACTIVE=$(q "$PRISTINE" "SELECT count(*) FROM members WHERE country = 'NL' AND status != 'suspended'")
N_ANON=$(q "$PRISTINE" "SELECT count(*) FROM members WHERE anonymous = 1")
((N_MEMBERS == MEMBERS)) || die "the demo has $N_MEMBERS members, expected $MEMBERS"
log "   $INIT_WALL s, max RSS $((INIT_RSS / 1024)) MiB; $(fmt '%.0f' "$(calc "$DB_BYTES / 1048576")") MiB file;" \
    "NL $N_NL ($N_NL_ACTIVE not suspended), anonymous $N_ANON"

# ---------------------------------------------------------------- 2-4. queries

log "2-4. query run: indexed count x$REPS, closure filters x$FILTER_REPS (load $(load1))"
LOAD_QUERY=$(load1)
fresh_copy "$PRISTINE" "$WORK"
measure queries "$BIN" -q --db "$WORK" run "$BENCH/queries.rhai" --arg "reps=$REPS" --arg "filter_reps=$FILTER_REPS"
Q_WALL=$M_WALL Q_RSS=$M_RSS Q_ANON=$M_ANON
QO=$OUT/queries.out
COUNT_BEST=$(bench_min "$QO" nl_suspended_try)
COUNT_FIRST=$(awk '$2 == "nl_suspended_try" { print $3; exit }' "$QO")
COUNT_N=$(bench_last "$QO" nl_suspended_count)
FILTER_NL_BEST=$(bench_min "$QO" filter_nl_try)
FILTER_TRUE_BEST=$(bench_min "$QO" filter_true_try)
FILTER_NL_N=$(bench_last "$QO" filter_nl_count)
FILTER_TRUE_N=$(bench_last "$QO" filter_true_count)
SCANNED=$(bench_last "$QO" members)
((FILTER_NL_N == N_NL)) || die "filter(|m| m.country == \"NL\") counted $FILTER_NL_N, SQL says $N_NL"
((FILTER_TRUE_N == N_MEMBERS)) || die "filter(|m| true) counted $FILTER_TRUE_N, expected $N_MEMBERS"
RATE_NL=$(calc "$SCANNED / $FILTER_NL_BEST")
RATE_TRUE=$(calc "$SCANNED / $FILTER_TRUE_BEST")
log "   count: best $(fmt '%.1f' "$(calc "$COUNT_BEST * 1000")") ms (first $(fmt '%.1f' "$(calc "$COUNT_FIRST * 1000")") ms), = $COUNT_N;" \
    "filters: NL $(fmt '%.0f' "$RATE_NL")/s, true $(fmt '%.0f' "$RATE_TRUE")/s; max RSS $((Q_RSS / 1024)) MiB"

# ---------------------------------------------------------------- 5. baseline A

log "5. baseline A: suspend NL, rollcall vs sqlite3, $ACTION_REPS tries each (load $(load1))"
LOAD_A=$(load1)
A_DB=$OUT/a.db
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)
UPDATE_SQL="UPDATE members SET status = 'suspended', updated_at = '$STAMP' WHERE country = 'NL' AND status != 'suspended';"
: >"$OUT/a_rollcall_action.s"
: >"$OUT/a_rollcall_process.s"
: >"$OUT/a_sqlite_stmt.s"
: >"$OUT/a_sqlite_process.s"
for ((i = 1; i <= ACTION_REPS; i++)); do
    # Alternate which side goes first, so a drift in load does not favour one.
    for side in $( ((i % 2)) && echo "rollcall sqlite" || echo "sqlite rollcall"); do
        fresh_copy "$PRISTINE" "$A_DB"
        if [[ $side == rollcall ]]; then
            measure "a_rollcall_$i" "$BIN" -q --yes --db "$A_DB" run "$BENCH/suspend.rhai"
            s=$(bench_last "$OUT/a_rollcall_$i.out" suspend_s)
            changed=$(bench_last "$OUT/a_rollcall_$i.out" suspend_changed)
            audited=$(q "$A_DB" "SELECT count(*) FROM audit WHERE action = 'suspend'")
            ((changed == N_NL_ACTIVE && audited == changed)) ||
                die "rollcall suspended $changed with $audited audit rows, expected $N_NL_ACTIVE"
            echo "$s" >>"$OUT/a_rollcall_action.s"
            echo "$M_WALL" >>"$OUT/a_rollcall_process.s"
            A_RSS=$M_RSS
            log "   try $i rollcall: action $(fmt '%.3f' "$s") s, process $M_WALL s"
        else
            printf '.timer on\n%s\nSELECT changes();\n' "$UPDATE_SQL" >"$OUT/a_sqlite.sql"
            measure "a_sqlite_$i" "$SQLITE3" -batch -init /dev/null "$A_DB" ".read '$OUT/a_sqlite.sql'"
            s=$(awk '/^Run Time:/ { print $4; exit }' "$OUT/a_sqlite_$i.out")
            changed=$(grep -v '^Run Time:' "$OUT/a_sqlite_$i.out" | tail -n1)
            ((changed == N_NL_ACTIVE)) || die "sqlite3 changed $changed rows, expected $N_NL_ACTIVE"
            echo "$s" >>"$OUT/a_sqlite_stmt.s"
            echo "$M_WALL" >>"$OUT/a_sqlite_process.s"
            log "   try $i sqlite3:  statement $s s, process $M_WALL s"
        fi
    done
done
rm_db "$A_DB"
A_ACTION=$(min_of "$OUT/a_rollcall_action.s")
A_PROC=$(min_of "$OUT/a_rollcall_process.s")
A_SQL_STMT=$(min_of "$OUT/a_sqlite_stmt.s")
A_SQL_PROC=$(min_of "$OUT/a_sqlite_process.s")
# The shell's timer counts whole milliseconds: never divide by zero.
A_RATIO_PROC=$(calc "$A_PROC / ($A_SQL_PROC > 0 ? $A_SQL_PROC : 0.01)")
A_RATIO_STMT=$(calc "$A_ACTION / ($A_SQL_STMT > 0 ? $A_SQL_STMT : 0.001)")

# ---------------------------------------------------------------- 6. baseline B

log "6. baseline B: reset_access_code() over $ANON anonymous members, $RESET_REPS tries (load $(load1))"
LOAD_B=$(load1)
ANON_BASE=$OUT/anon.db
B_DB=$OUT/b.db
fresh_copy "$PRISTINE" "$ANON_BASE"
q "$ANON_BASE" "UPDATE members SET anonymous = 1 WHERE id <= $ANON" >/dev/null
settle_db "$ANON_BASE"
N_ANON_B=$(q "$ANON_BASE" "SELECT count(*) FROM members WHERE anonymous = 1")
((N_ANON_B >= ANON)) || die "the copy for baseline B has only $N_ANON_B anonymous members"
: >"$OUT/b_action.s"
: >"$OUT/b_process.s"
B_RSS=0
for ((i = 1; i <= RESET_REPS; i++)); do
    fresh_copy "$ANON_BASE" "$B_DB"
    measure "b_$i" "$BIN" -q --yes --db "$B_DB" run "$BENCH/reset.rhai" --arg "n=$ANON"
    s=$(bench_last "$OUT/b_$i.out" reset_s)
    changed=$(bench_last "$OUT/b_$i.out" reset_changed)
    codes=$(bench_last "$OUT/b_$i.out" reset_codes)
    ((changed == ANON && codes == ANON)) || die "reset_access_code changed $changed and gave $codes codes, expected $ANON"
    echo "$s" >>"$OUT/b_action.s"
    echo "$M_WALL" >>"$OUT/b_process.s"
    ((M_RSS > B_RSS)) && B_RSS=$M_RSS
    log "   try $i: action $(fmt '%.3f' "$s") s, process $M_WALL s, max RSS $((M_RSS / 1024)) MiB"
done
rm_db "$B_DB"
rm_db "$ANON_BASE"
rm_db "$WORK"
B_ACTION=$(min_of "$OUT/b_action.s")
B_PROC=$(min_of "$OUT/b_process.s")

# ---------------------------------------------------------------- summary

SUMMARY=$OUT/summary.txt
{
    echo "rollcall benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), $VERSION ($REV)"
    echo "$(nproc) cores, $(hostname); demo: $MEMBERS members, seed $SEED, $(fmt '%.0f' "$(calc "$DB_BYTES / 1048576")") MiB database;" \
        "NL $N_NL ($N_NL_ACTIVE not suspended); load 1-min at each step in the last column"
    LOAD_MAX=$(printf '%s\n' "$LOAD_START" "$LOAD_INIT" "$LOAD_QUERY" "$LOAD_A" "$LOAD_B" | sort -g | tail -n1)
    if awk -v l="$LOAD_MAX" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
        echo "NOTE: busy machine (load up to $LOAD_MAX on $(nproc) cores): the figures are noisy, compare best-of values only."
    fi
    echo
    printf '%-44s %-22s %-16s %-16s %-8s %-7s %s\n' measure value goal baseline ratio verdict load
    printf '%-44s %-22s %-16s %-16s %-8s %-7s %s\n' "$(printf '%.0s-' {1..44})" "$(printf '%.0s-' {1..22})" \
        "$(printf '%.0s-' {1..16})" "$(printf '%.0s-' {1..16})" "--------" "-------" "----"
    row() { printf '%-44s %-22s %-16s %-16s %-8s %-7s %s\n' "$@"; }
    row "1. init --demo $MEMBERS: wall time" "$(sec "$INIT_WALL")" "< 30 s" "" "" "$(verdict "$INIT_WALL" '<' 30)" "$LOAD_INIT"
    row "1. init --demo: peak RSS (anon)" "$(mib "$INIT_RSS") ($(mib "$INIT_ANON"))" "" "" "" "" "$LOAD_INIT"
    row "2. country(NL).suspended().count() best/$REPS" "$(ms "$COUNT_BEST")" "< 50 ms" "" "" "$(verdict "$COUNT_BEST" '<' 0.05)" "$LOAD_QUERY"
    row "   (first try; = $COUNT_N members)" "$(ms "$COUNT_FIRST")" "" "" "" "" ""
    row "3. filter(|m| m.country == \"NL\") best/$FILTER_REPS" "$(rate "$RATE_NL")" ">= 1,000,000 /s" "" "" "$(verdict "$RATE_NL" '>=' 1000000)" "$LOAD_QUERY"
    row "   (one pass over $SCANNED members)" "$(sec "$FILTER_NL_BEST")" "" "" "" "" ""
    row "3. filter(|m| true) best/$FILTER_REPS" "$(rate "$RATE_TRUE")" ">= 1,000,000 /s" "" "" "$(verdict "$RATE_TRUE" '>=' 1000000)" "$LOAD_QUERY"
    row "   (one pass over $SCANNED members)" "$(sec "$FILTER_TRUE_BEST")" "" "" "" "" ""
    row "4. query run: peak RSS (anon)" "$(mib "$Q_RSS") ($(mib "$Q_ANON"))" "" "" "" "" "$LOAD_QUERY"
    row "   query run: wall time" "$(sec "$Q_WALL")" "" "" "" "" ""
    row "5. suspend NL ($N_NL_ACTIVE rows): process" "$(sec "$A_PROC")" "<= 3x sqlite3" "$(sec "$A_SQL_PROC")" "$(fmt '%.2fx' "$A_RATIO_PROC")" "$(verdict "$A_RATIO_PROC" '<=' 3)" "$LOAD_A"
    row "5. suspend NL: in Rhai (no COMMIT) vs stmt" "$(sec "$A_ACTION")" "<= 3x sqlite3" "$(sec "$A_SQL_STMT")" "$(fmt '%.2fx' "$A_RATIO_STMT")" "$(verdict "$A_RATIO_STMT" '<=' 3)" "$LOAD_A"
    row "5. suspend NL: rollcall peak RSS" "$(mib "$A_RSS")" "" "" "" "" ""
    row "6. reset_access_code() x $ANON, in Rhai" "$(sec "$B_ACTION")" "< 2 s" "" "" "$(verdict "$B_ACTION" '<' 2)" "$LOAD_B"
    row "6. reset_access_code(): process" "$(sec "$B_PROC")" "" "" "" "" "$LOAD_B"
    row "6. reset_access_code(): peak RSS" "$(mib "$B_RSS")" "" "" "" "" ""
    echo
    echo "Best of the tries; all tries: bench/out/*.s and bench/out/*.out. Process times and RSS from"
    echo "/usr/bin/time -f '%e %M'; 'anon' is the peak RssAnon (heap, SQLite's page cache included) sampled"
    echo "every 0.1 s; the rest of RSS is file pages (the binary, a memory-mapped database). Baseline A: sqlite3 $("$SQLITE3" --version | cut -d' ' -f1)"
    echo "shell with its defaults, '.timer on' (millisecond resolution), on a fresh copy of the same file;"
    echo "the process rows compare like with like (open, update, commit, checkpoint at close); the in-Rhai"
    echo "time leaves out rollcall's COMMIT, which the shell's autocommit statement includes."
    echo "Load at end: $(cut -d' ' -f1-3 /proc/loadavg); total bench time $((SECONDS - STARTED)) s."
} >"$SUMMARY"

echo
cat "$SUMMARY"
log "done; the demo database stays at $PRISTINE for inspection (the next run replaces it)"
