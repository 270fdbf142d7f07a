#!/usr/bin/env bash
# Benchmarks of rollcall's bulk transfers, run by hand (never as timed tests):
#
#   bench/transfer.sh
#
# Builds the release binary and measures, in one run:
#   4. certificates: export_certificates() of 10,000 passed participants to one
#      ZIP, against `zip -q -r` of the same PDFs already on disk (the rollcall
#      ZIP unzipped)                                                goal <= 2x
#   5. a 1,000,000-row member CSV (`rollcall export` of a demo academy), then on
#      fresh databases:
#      a. `rollcall import` (upsert) into an empty academy: wall time and peak
#         RSS                                                 goal: peak < 100 MiB
#      b. baseline 1: the sqlite3 shell's `.import` into a flat table with a
#         unique index on username                goal: rollcall/.import <= 1.0
#      c. baseline 2: bench/baseline_import.py, Python's csv + sqlite3 doing the
#         same upsert into a normalised schema    goal: rollcall >= 5x faster
#      d. re-import of the unchanged file into the database of (a)
#                                                 goal: >= 3x faster than (a)
#      e. the floor of the schema: the rows (a) wrote, copied by the sqlite3
#         shell into a fresh academy with INSERT ... SELECT: SQLite's own work,
#         with no parsing and no per-row statements (for reference, no goal)
#   When an import misses a goal, one more import runs under `perf record -g`
#   (BENCH_PERF) and the hot spots go into the summary.
# and prints a summary table, also written to bench/out/transfer-summary.txt.
#
# Its files go under bench/out/transfer/ (gitignored; cleared at every start),
# the log to bench/out/transfer.log. The machine may be shared: the 1-minute
# load is recorded before every try (the `load` column gives the range over
# the tries of a row), and `uptime` is logged at every step.
#
# Settings (environment):
#   BENCH_CERTS         certificates in the ZIP (default 10000)
#   BENCH_CERT_MEMBERS  members of the demo academy for them (default 1.2 x BENCH_CERTS)
#   BENCH_CERT_REPS     tries of each side of 4 (default 3)
#   BENCH_ROWS          rows of the member CSV (default 1000000)
#   BENCH_IMPORT_REPS   tries of each import, 5a-5d (default 3)
#   BENCH_SEED          demo seed (default 42)
#   BENCH_TODAY         the date the certificates are issued on (default 2026-11-21)
#   BENCH_PERF          auto (default: profile an import that misses a goal), 1 (always), 0 (never)
#   BENCH_NO_BUILD=1    skip `cargo build --release` (use the built binary)
#   SQLITE3, PYTHON     the sqlite3 shell (default /usr/bin/sqlite3), python3

set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
OUT=$BENCH/out/transfer
SUMMARY=$BENCH/out/transfer-summary.txt
LOG=$BENCH/out/transfer.log

CERTS=${BENCH_CERTS:-10000}
CERT_MEMBERS=${BENCH_CERT_MEMBERS:-$((CERTS + CERTS / 5))}
CERT_REPS=${BENCH_CERT_REPS:-3}
ROWS=${BENCH_ROWS:-1000000}
IMPORT_REPS=${BENCH_IMPORT_REPS:-3}
SEED=${BENCH_SEED:-42}
TODAY=${BENCH_TODAY:-2026-11-21}
PERF=${BENCH_PERF:-auto}
SQLITE3=${SQLITE3:-/usr/bin/sqlite3}
PYTHON=${PYTHON:-python3}
TIME=/usr/bin/time
COURSE=BENCH-CERT

STARTED=$SECONDS

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

# ---------------------------------------------------------------- helpers

# Logs a step with the machine's uptime line.
step() { log "$* | $(uptime | sed 's/^ *//')"; }

# Flushes dirty pages, so that the writeback of a step does not land in the next one.
settle_disk() { sync; }

# try SERIES NAME CMD...: measures CMD (see `measure`) with the load before it,
# and appends "wall rss anon load" to out/SERIES.tries.
try() {
    local series=$1 name=$2 load
    shift 2
    settle_disk
    load=$(load1)
    measure "$name" "$@"
    echo "$M_WALL $M_RSS $M_ANON $load" >>"$OUT/$series.tries"
}
# Over the tries of a series: the best wall time, the highest RSS and anon RSS,
# the load range.
best_wall() { awk 'NR == 1 || $1 + 0 < v + 0 { v = $1 } END { print v }' "$OUT/$1.tries"; }
peak_rss() { awk '$2 + 0 > v + 0 { v = $2 } END { print v + 0 }' "$OUT/$1.tries"; }
peak_anon() { awk '$3 + 0 > v + 0 { v = $3 } END { print v + 0 }' "$OUT/$1.tries"; }
load_range() {
    awk 'NR == 1 { lo = hi = $4 } { if ($4 + 0 < lo + 0) lo = $4; if ($4 + 0 > hi + 0) hi = $4 }
         END { print (lo == hi ? lo : lo "-" hi) }' "$OUT/$1.tries"
}
all_walls() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 } END { print "" }' "$OUT/$1.tries"; }

# A count in `rollcall --json import` output: "key": N.
json_count() { sed -n "s/^ *\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n1; }

# The entries of a ZIP.
zip_entries() { unzip -Z1 "$1" | wc -l; }

# KiB as "N MiB (M MB)": the decimal figure too, since goals are written in MB.
mib_mb() { printf '%s (%s MB)' "$(fmt '%.1f MiB' "$(calc "$1 / 1024")")" "$(fmt '%.1f' "$(calc "$1 * 1024 / 1000000")")"; }

# ---------------------------------------------------------------- checks

need_int BENCH_CERTS "$CERTS"
need_int BENCH_CERT_MEMBERS "$CERT_MEMBERS"
need_int BENCH_CERT_REPS "$CERT_REPS"
need_int BENCH_ROWS "$ROWS"
need_int BENCH_IMPORT_REPS "$IMPORT_REPS"
need_int BENCH_SEED "$SEED"
((CERTS <= CERT_MEMBERS)) || die "BENCH_CERTS ($CERTS) cannot exceed BENCH_CERT_MEMBERS ($CERT_MEMBERS)"
[[ $TODAY =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "BENCH_TODAY must be YYYY-MM-DD, got '$TODAY'"
[[ $PERF =~ ^(auto|0|1)$ ]] || die "BENCH_PERF must be auto, 0 or 1, got '$PERF'"
[[ -x $TIME ]] || die "$TIME is missing (GNU time; apt-get install time)"
[[ -x $SQLITE3 ]] || die "$SQLITE3 is missing (apt-get install sqlite3), or set SQLITE3"
command -v "$PYTHON" >/dev/null || die "$PYTHON is missing, or set PYTHON"
for tool in cargo awk sed pgrep sort cp sync env uptime; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
if ! command -v zip >/dev/null || ! command -v unzip >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "bench: installing zip and unzip (apt-get install -y zip unzip)" >&2
        apt-get install -y zip unzip >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y zip unzip >/dev/null; } ||
            die "cannot install zip and unzip"
    else
        die "zip and unzip are needed: apt-get install -y zip unzip"
    fi
fi
for file in lib.sh certs.rhai baseline_import.py perf_breakdown.py; do
    [[ -r $BENCH/$file ]] || die "missing $BENCH/$file"
done

mkdir -p "$OUT"
# Idempotent: every run starts from an empty out/transfer/.
find "$OUT" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
rm -f -- "$SUMMARY"

exec > >(tee "$LOG") 2>&1
TEE_PID=$!
# Let tee write its last lines before the shell returns.
trap 'exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT

LOAD_START=$(load1)
step "rollcall transfer benchmarks: $CERTS certificates, $ROWS CSV rows, seed $SEED, $(nproc) cores"
if is_busy "$LOAD_START"; then
    log "note: the machine is busy (load $LOAD_START on $(nproc) cores): expect noisy figures"
fi

# ---------------------------------------------------------------- build

build_binary "$OUT/rollcall"

# ---------------------------------------------------------------- 4. certificates

CERT_DB=$OUT/certs.db
CERT_DIR=$OUT/certs
step "4. certificates: demo academy of $CERT_MEMBERS members, $CERTS passed in $COURSE"
measure cert_init "$BIN" -q --db "$CERT_DB" init --demo "$CERT_MEMBERS" --seed "$SEED"
# Through the script API, so the certificates are issued as in real use:
# a serial each, dated BENCH_TODAY.
measure cert_setup "$BIN" -q --yes --today "$TODAY" --db "$CERT_DB" eval \
    "create_course(\"$COURSE\", \"Certificates at Scale\");
     members().limit($CERTS).assign_course(\"$COURSE\");
     course(\"$COURSE\").participants().set_status(\"passed\").changed"
N_CERTS=$(q "$CERT_DB" "SELECT count(*) FROM certificates x JOIN participations p ON p.id = x.participation_id
    JOIN courses c ON c.id = p.course_id WHERE c.code = '$COURSE' AND p.status = 'passed' AND x.current = 1")
((N_CERTS == CERTS)) || die "$COURSE has $N_CERTS current certificates, expected $CERTS"
settle_db "$CERT_DB"

step "4. export_certificates vs zip -q -r, $CERT_REPS tries each"
for ((i = 1; i <= CERT_REPS; i++)); do
    # Alternate which side goes first, so a drift in load does not favour one.
    for side in $( ((i % 2)) && echo "rollcall zip" || echo "zip rollcall"); do
        if [[ $side == rollcall ]]; then
            zip_out=$OUT/rollcall-$i.zip
            rm -f -- "$zip_out"
            try cert_rollcall "cert_rollcall_$i" "$BIN" -q --yes --db "$CERT_DB" run "$BENCH/certs.rhai" \
                --arg "course=$COURSE" --arg "zip=$zip_out"
            s=$(bench_last "$OUT/cert_rollcall_$i.out" export_s)
            changed=$(bench_last "$OUT/cert_rollcall_$i.out" export_changed)
            entries=$(zip_entries "$zip_out")
            ((changed == CERTS && entries == CERTS + 1)) ||
                die "export_certificates wrote $changed certificates, $entries entries; expected $CERTS and a manifest"
            echo "$s" >>"$OUT/cert_rhai.s"
            CERT_ZIP_BYTES=$(stat -c %s "$zip_out")
            log "   try $i rollcall: in Rhai $(fmt '%.3f' "$s") s, process $M_WALL s, max RSS $((M_RSS / 1024)) MiB"
            if [[ ! -d $CERT_DIR ]]; then
                # The same files on disk: the PDFs and the manifest of the first ZIP.
                unzip -q "$zip_out" -d "$CERT_DIR"
                n_files=$(find "$CERT_DIR" -type f | wc -l)
                ((n_files == CERTS + 1)) || die "unzip gave $n_files files, expected $((CERTS + 1))"
                PDF_BYTES=$(du -sb "$CERT_DIR" | cut -f1)
            fi
        else
            zip_out=$OUT/zip-$i.zip
            rm -f -- "$zip_out"
            # zip adds to an existing archive: it starts from none each time.
            try cert_zip "cert_zip_$i" env -C "$CERT_DIR" zip -q -r "$zip_out" .
            entries=$(zip_entries "$zip_out")
            ((entries == CERTS + 1)) || die "zip -r archived $entries entries, expected $((CERTS + 1))"
            PLAIN_ZIP_BYTES=$(stat -c %s "$zip_out")
            log "   try $i zip -r:   process $M_WALL s"
        fi
    done
done
CERT_PROC=$(best_wall cert_rollcall)
CERT_RHAI=$(min_of "$OUT/cert_rhai.s")
CERT_ZIP=$(best_wall cert_zip)
CERT_RSS=$(peak_rss cert_rollcall)
# zip reports hundredths: never divide by zero.
CERT_RATIO_PROC=$(calc "$CERT_PROC / ($CERT_ZIP > 0 ? $CERT_ZIP : 0.01)")
CERT_RATIO_RHAI=$(calc "$CERT_RHAI / ($CERT_ZIP > 0 ? $CERT_ZIP : 0.01)")
log "   best: rollcall $CERT_PROC s (in Rhai $(fmt '%.3f' "$CERT_RHAI") s), zip -r $CERT_ZIP s:" \
    "$(fmt '%.2fx' "$CERT_RATIO_PROC") ($(fmt '%.2fx' "$CERT_RATIO_RHAI") in Rhai)"
rm -rf -- "$CERT_DIR"
rm_db "$CERT_DB"

# ---------------------------------------------------------------- 5. the CSV

SOURCE_DB=$OUT/source.db
CSV=$OUT/members.csv
step "5. the CSV: init --demo $ROWS --seed $SEED, then rollcall export"
measure csv_init "$BIN" -q --db "$SOURCE_DB" init --demo "$ROWS" --seed "$SEED"
CSV_INIT_WALL=$M_WALL
settle_db "$SOURCE_DB"
mapfile -t GROUP_NAMES < <(q "$SOURCE_DB" "SELECT name FROM groups ORDER BY name")
((${#GROUP_NAMES[@]} > 0)) || die "the demo academy has no groups"
SRC_MEMBERS=$(q "$SOURCE_DB" "SELECT count(*) FROM members")
SRC_GROUP_ROWS=$(q "$SOURCE_DB" "SELECT count(*) FROM group_members")
SRC_LICENSED=$(q "$SOURCE_DB" "SELECT count(*) FROM members WHERE license = 1")
((SRC_MEMBERS == ROWS)) || die "the demo academy has $SRC_MEMBERS members, expected $ROWS"
settle_disk
measure csv_export "$BIN" -q --db "$SOURCE_DB" export "$CSV"
CSV_EXPORT_WALL=$M_WALL CSV_EXPORT_RSS=$M_RSS
rm_db "$SOURCE_DB"
CSV_BYTES=$(stat -c %s "$CSV")
CSV_LINES=$(wc -l <"$CSV")
log "   $CSV_LINES lines, $(fmt '%.0f' "$(calc "$CSV_BYTES / 1048576")") MiB; $SRC_GROUP_ROWS group memberships," \
    "$SRC_LICENSED licensed; groups: ${GROUP_NAMES[*]}; init $CSV_INIT_WALL s, export $CSV_EXPORT_WALL s"

# The academy an import starts from: the schema, the groups the file names, seats for everyone.
SEATS=$((ROWS * 2 > 2000000 ? ROWS * 2 : 2000000))
GROUP_SCRIPT=""
for g in "${GROUP_NAMES[@]}"; do
    [[ $g =~ ^[A-Za-z0-9_.-]+$ ]] || die "unexpected group name '$g'"
    GROUP_SCRIPT+="create_group(\"$g\"); "
done
GROUP_SCRIPT+="set_license_seats($SEATS);"
fresh_academy() {
    rm_db "$1"
    "$BIN" -q --db "$1" init >/dev/null
    "$BIN" -q --db "$1" eval "$GROUP_SCRIPT" >/dev/null
    settle_db "$1"
}

SQLITE_SQL=$OUT/flat-import.sql
{
    printf 'CREATE TABLE t ('
    for c in username email first_name last_name language country visibility team roles groups \
        anonymous license suspended deleted; do
        printf '%s TEXT%s' "$c" "$([[ $c == deleted ]] || echo ', ')"
    done
    printf ');\nCREATE UNIQUE INDEX t_username ON t (username);\n'
    printf '.mode csv\n.import --skip 1 %s t\nSELECT count(*) FROM t;\n' "$CSV"
} >"$SQLITE_SQL"

# ---------------------------------------------------------------- 5a-d. imports

RC_DB=$OUT/rollcall.db
FLAT_DB=$OUT/flat.db
PY_DB=$OUT/python.db
FLOOR_SRC=$OUT/loaded.db
FLOOR_DB=$OUT/floor.db
step "5a-d. imports of $ROWS rows: rollcall (then again), sqlite3 .import, Python; $IMPORT_REPS tries each"
for ((i = 1; i <= IMPORT_REPS; i++)); do
    for side in $( ((i % 2)) && echo "rollcall sqlite python" || echo "python sqlite rollcall"); do
        case $side in
        rollcall)
            fresh_academy "$RC_DB"
            step "   try $i rollcall import (empty academy)"
            try import_first "import_first_$i" "$BIN" --json -q --db "$RC_DB" import "$CSV"
            out=$OUT/import_first_$i.out
            created=$(json_count "$out" created) rejected=$(json_count "$out" rejected)
            ((created == ROWS && rejected == 0)) || die "the import created $created and rejected $rejected, expected $ROWS and 0"
            n=$(q "$RC_DB" "SELECT count(*) FROM members")
            gm=$(q "$RC_DB" "SELECT count(*) FROM group_members")
            lic=$(q "$RC_DB" "SELECT used FROM license_pool")
            ((n == ROWS && gm == SRC_GROUP_ROWS && lic == SRC_LICENSED)) ||
                die "after the import: $n members, $gm group rows, $lic seats used; expected $ROWS, $SRC_GROUP_ROWS, $SRC_LICENSED"
            log "      $M_WALL s, max RSS $((M_RSS / 1024)) MiB (anon $((M_ANON / 1024)) MiB)"
            RC_DB_BYTES=$(stat -c %s "$RC_DB")
            step "   try $i rollcall re-import (unchanged file)"
            try import_again "import_again_$i" "$BIN" --json -q --db "$RC_DB" import "$CSV"
            out=$OUT/import_again_$i.out
            unchanged=$(json_count "$out" unchanged) rejected=$(json_count "$out" rejected)
            ((unchanged == ROWS && rejected == 0)) || die "the re-import left $unchanged unchanged, rejected $rejected; expected $ROWS and 0"
            log "      $M_WALL s, max RSS $((M_RSS / 1024)) MiB (anon $((M_ANON / 1024)) MiB)"
            # The loaded academy, kept once for the floor (5e).
            [[ -f $FLOOR_SRC ]] || fresh_copy "$RC_DB" "$FLOOR_SRC"
            rm_db "$RC_DB"
            ;;
        sqlite)
            rm_db "$FLAT_DB"
            step "   try $i sqlite3 .import (flat table, unique username)"
            try import_sqlite "import_sqlite_$i" "$SQLITE3" -batch -init /dev/null "$FLAT_DB" ".read '$SQLITE_SQL'"
            n=$(tail -n1 "$OUT/import_sqlite_$i.out")
            ((n == ROWS)) || die "sqlite3 .import loaded $n rows, expected $ROWS"
            log "      $M_WALL s"
            rm_db "$FLAT_DB"
            ;;
        python)
            rm_db "$PY_DB"
            step "   try $i Python csv + sqlite3 upsert"
            try import_python "import_python_$i" "$PYTHON" "$BENCH/baseline_import.py" "$PY_DB" "$CSV"
            n=$(q "$PY_DB" "SELECT count(*) FROM members")
            gm=$(q "$PY_DB" "SELECT count(*) FROM group_members")
            ((n == ROWS && gm == SRC_GROUP_ROWS)) ||
                die "after the Python import: $n members, $gm group rows; expected $ROWS, $SRC_GROUP_ROWS"
            log "      $M_WALL s (in Python $(fmt '%.3f' "$(bench_last "$OUT/import_python_$i.out" upsert_s)") s)"
            rm_db "$PY_DB"
            ;;
        esac
    done
done
# 5e. The floor of the schema: the rows rollcall wrote (members, group rows,
# audit rows), copied by the sqlite3 shell into a fresh academy with
# INSERT ... SELECT under the bulk load's settings: SQLite's own work, no
# parsing, no checks, no per-row statements.
FLOOR_SQL=$OUT/floor.sql
cat >"$FLOOR_SQL" <<SQL
PRAGMA foreign_keys = ON;
PRAGMA synchronous = FULL;
PRAGMA cache_size = -32768;
ATTACH '$FLOOR_SRC' AS src;
BEGIN IMMEDIATE;
INSERT INTO members SELECT * FROM src.members ORDER BY id;
INSERT INTO group_members SELECT * FROM src.group_members ORDER BY member_id;
INSERT INTO audit (run_id, at, action, target, member_id, username, before, after)
    SELECT run_id, at, action, target, member_id, username, before, after
    FROM src.audit WHERE action = 'create' ORDER BY id;
COMMIT;
SELECT count(*) FROM members;
SQL
step "5e. the schema's floor: INSERT ... SELECT of the loaded rows, $IMPORT_REPS tries"
for ((i = 1; i <= IMPORT_REPS; i++)); do
    fresh_academy "$FLOOR_DB"
    q "$FLOOR_DB" "PRAGMA journal_mode = DELETE" >/dev/null
    try import_floor "import_floor_$i" "$SQLITE3" -batch -init /dev/null "$FLOOR_DB" ".read '$FLOOR_SQL'"
    n=$(tail -n1 "$OUT/import_floor_$i.out")
    ((n == ROWS)) || die "the floor copy loaded $n members, expected $ROWS"
    log "      $M_WALL s"
    rm_db "$FLOOR_DB"
done
rm_db "$FLOOR_SRC"
IMP_FLOOR=$(best_wall import_floor)

IMP_FIRST=$(best_wall import_first)
IMP_AGAIN=$(best_wall import_again)
IMP_SQLITE=$(best_wall import_sqlite)
IMP_PYTHON=$(best_wall import_python)
IMP_RSS=$(peak_rss import_first) IMP_ANON=$(peak_anon import_first)
AGAIN_RSS=$(peak_rss import_again) AGAIN_ANON=$(peak_anon import_again)
nz() { calc "($1 > 0 ? $1 : 0.01)"; }
RATIO_SQLITE=$(calc "$IMP_FIRST / $(nz "$IMP_SQLITE")")
RATIO_PYTHON=$(calc "$IMP_PYTHON / $(nz "$IMP_FIRST")")
RATIO_AGAIN=$(calc "$IMP_FIRST / $(nz "$IMP_AGAIN")")
RATIO_FLOOR=$(calc "$IMP_FLOOR / $(nz "$IMP_SQLITE")")
V_RSS=$(verdict "$IMP_RSS" '<' $((100 * 1024)))
V_SQLITE=$(verdict "$RATIO_SQLITE" '<=' 1)
V_PYTHON=$(verdict "$RATIO_PYTHON" '>=' 5)
V_AGAIN=$(verdict "$RATIO_AGAIN" '>=' 3)

# ---------------------------------------------------------------- profiles

# profile NAME DB: one more import under perf; the hot spots in out/perf-NAME-*.txt.
# perf's -g call graphs are unwound with DWARF: the release binary has no frame
# pointers but has line tables (profile.release debug = "line-tables-only").
PROFILED=()
profile() {
    local name=$1 db=$2 data=$OUT/perf-$1.data
    step "   perf record -g: $name"
    settle_disk
    perf record -g --call-graph dwarf,16384 -F 499 -o "$data" -- \
        "$BIN" -q --db "$db" import "$CSV" >"$OUT/perf-$name.out" 2>"$OUT/perf-$name.err" ||
        die "perf record failed: see $OUT/perf-$name.err"
    # Self time by function, and the time under each of rollcall's own functions.
    perf report -i "$data" --no-children --sort symbol -g none --percent-limit 0.8 --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed 's/ \+- \+- *$//; s/ \+$//' >"$OUT/perf-$name-self.txt"
    perf report -i "$data" --children --sort symbol -g none --percent-limit 0.5 --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed 's/ \+- \+- *$//; s/ \+$//' >"$OUT/perf-$name-children.txt"
    perf script -i "$data" -F comm,tid,period,ip,sym --no-inline 2>/dev/null |
        "$PYTHON" "$BENCH/perf_breakdown.py" >"$OUT/perf-$name-breakdown.txt" ||
        die "cannot read the profile $data"
    rm -f -- "$data"
    PROFILED+=("$name")
}
if command -v perf >/dev/null && [[ $PERF == 1 || ($PERF == auto && "$V_RSS$V_SQLITE$V_PYTHON$V_AGAIN" == *MISSED*) ]]; then
    step "profiles (BENCH_PERF=$PERF)"
    fresh_academy "$RC_DB"
    if [[ $PERF == 1 || "$V_RSS$V_SQLITE$V_PYTHON" == *MISSED* ]]; then
        profile import-first "$RC_DB"
    else
        "$BIN" -q --db "$RC_DB" import "$CSV" >/dev/null
    fi
    if [[ $PERF == 1 || $V_AGAIN == MISSED ]]; then
        profile import-again "$RC_DB"
    fi
    rm_db "$RC_DB"
elif [[ $PERF != 0 ]] && ! command -v perf >/dev/null; then
    log "perf is not installed: no profile of the import"
fi

# ---------------------------------------------------------------- summary

# The first lines of a self-time profile, as indented text.
# (perf can list one name twice, as separate symbols: the first, largest, counts.)
hot_self() {
    awk '{ kind = ($2 == "[k]" ? "(kernel) " : ""); name = substr($0, index($0, "] ") + 2)
           if (!seen[name]++) printf "    %7s  %s%s\n", $1, kind, substr(name, 1, 110) }' "$OUT/perf-$1-self.txt" | head -n "$2"
}

row() { printf '%-46s %-26s %-19s %-26s %-8s %-7s %s\n' "$@"; }
{
    echo "rollcall transfer benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), $VERSION ($REV)"
    echo "$(nproc) cores, $(hostname); load 1-min before each try in the last column (range over the tries)"
    LOAD_MAX=$(cat "$OUT"/*.tries | awk '$4 + 0 > v + 0 { v = $4 } END { print v + 0 }')
    if is_busy "$LOAD_MAX"; then
        echo "NOTE: busy machine (load up to $LOAD_MAX on $(nproc) cores): the figures are noisy, compare best-of values only."
    fi
    echo
    row measure value goal baseline ratio verdict load
    row "$(printf '%.0s-' {1..46})" "$(printf '%.0s-' {1..26})" "$(printf '%.0s-' {1..19})" \
        "$(printf '%.0s-' {1..26})" "--------" "-------" "----"
    row "4. export_certificates x $CERTS: process" "$(sec "$CERT_PROC")" "<= 2x zip -r" \
        "zip -q -r $(sec "$CERT_ZIP")" "$(fmt '%.2fx' "$CERT_RATIO_PROC")" "$(verdict "$CERT_RATIO_PROC" '<=' 2)" \
        "$(load_range cert_rollcall) / $(load_range cert_zip)"
    row "4. export_certificates: in Rhai" "$(sec "$CERT_RHAI")" "<= 2x zip -r" \
        "zip -q -r $(sec "$CERT_ZIP")" "$(fmt '%.2fx' "$CERT_RATIO_RHAI")" "$(verdict "$CERT_RATIO_RHAI" '<=' 2)" ""
    row "   ZIP size (the PDFs: $(fmt '%.0f' "$(calc "$PDF_BYTES / 1048576")") MiB)" \
        "$(fmt '%.1f MiB' "$(calc "$CERT_ZIP_BYTES / 1048576")")" "" \
        "$(fmt '%.1f MiB' "$(calc "$PLAIN_ZIP_BYTES / 1048576")")" "" "" ""
    row "   export: peak RSS; rate" "$(mib "$CERT_RSS"); $(rate "$(calc "$CERTS / $(nz "$CERT_PROC")")")" "" "" "" "" ""
    row "5. CSV $(thousands "$ROWS") rows ($(fmt '%.0f' "$(calc "$CSV_BYTES / 1048576")") MiB): export" \
        "$(sec "$CSV_EXPORT_WALL"), $(mib "$CSV_EXPORT_RSS")" "" "" "" "" ""
    row "5a. import (upsert) into an empty academy" "$(sec "$IMP_FIRST")" "" "" "" "" "$(load_range import_first)"
    row "   (rate; all tries)" "$(rate "$(calc "$ROWS / $(nz "$IMP_FIRST")")")" "" "$(all_walls import_first)" "" "" ""
    row "5a. import: peak RSS" "$(mib_mb "$IMP_RSS")" "< 100 MiB" "" "" "$V_RSS" "$(load_range import_first)"
    row "   (peak anonymous RSS, sampled)" "$(mib_mb "$IMP_ANON")" "" "" "" "" ""
    row "5b. import vs sqlite3 .import (flat, unique)" "$(sec "$IMP_FIRST")" "<= 1.0x .import" \
        ".import $(sec "$IMP_SQLITE")" "$(fmt '%.2fx' "$RATIO_SQLITE")" "$V_SQLITE" "$(load_range import_sqlite)"
    row "5c. import vs Python csv+sqlite3 upsert" "$(sec "$IMP_FIRST")" ">= 5x faster" \
        "Python $(sec "$IMP_PYTHON")" "$(fmt '%.2fx' "$RATIO_PYTHON")" "$V_PYTHON" "$(load_range import_python)"
    row "5d. re-import of the unchanged file" "$(sec "$IMP_AGAIN")" ">= 3x faster than 5a" \
        "first import $(sec "$IMP_FIRST")" "$(fmt '%.2fx' "$RATIO_AGAIN")" "$V_AGAIN" "$(load_range import_again)"
    row "5d. re-import: peak RSS (anon)" "$(mib "$AGAIN_RSS") ($(mib "$AGAIN_ANON"))" "" "" "" "" ""
    row "5e. the schema's floor (INSERT ... SELECT)" "$(sec "$IMP_FLOOR")" "" \
        ".import $(sec "$IMP_SQLITE")" "$(fmt '%.2fx' "$RATIO_FLOOR")" "" "$(load_range import_floor)"
    echo
    echo "Best of the tries (4: $CERT_REPS, 5: $IMPORT_REPS); every try: bench/out/transfer/*.tries (wall s, max RSS KiB,"
    echo "peak anon KiB, load), *.out, *.err. Process times and RSS from /usr/bin/time -f '%e %M' (RSS in KiB: 1 MiB"
    echo "= 1,048,576 bytes, 1 MB = 1,000,000). 4: the same course on one database; rollcall's ZIP holds the PDFs"
    echo "and manifest.csv, unzipped once into a folder that \`zip -q -r\` ($(zip -v | sed -n 's/.*This is Zip \([0-9.]*\).*/\1/p' | head -n1), level 6) then archives"
    echo "from the page cache; the process time includes rollcall's start, its run record and the ZIP's fsync."
    echo "5: the file is \`rollcall export\` of \`init --demo $ROWS --seed $SEED\` (groups: ${#GROUP_NAMES[@]} names that exist in the"
    echo "academy, created first; $SEATS license seats). (a) and (d): \`rollcall import FILE\` (upsert), with"
    echo "validation, audit rows, group rows, seat checks; (a) is a bulk load (a rollback journal while it runs),"
    echo "(d) runs in WAL mode. (b): sqlite3 $("$SQLITE3" --version | cut -d' ' -f1)"
    echo "shell defaults, \`.import --skip 1\` into 14 TEXT columns + a unique index on username, one"
    echo "transaction. (c): bench/baseline_import.py, Python $("$PYTHON" -c 'import sys, sqlite3; print(sys.version.split()[0] + " with SQLite " + sqlite3.sqlite_version)'),"
    echo "INSERT ... ON CONFLICT(username) DO UPDATE per row + group rows, rollcall's pragmas, one transaction."
    echo "Every database starts on a fresh file; \`sync\` runs before every try. Ratios: 4 and 5b rollcall/baseline,"
    echo "5c Python/rollcall (how many times faster rollcall is), 5d first import/re-import. Load in 4: rollcall / zip."
    for name in "${PROFILED[@]}"; do
        echo
        echo "perf record -g (DWARF call graphs, 499 Hz) of one more rollcall ${name/-/ }:"
        cat "$OUT/perf-$name-breakdown.txt"
        echo "  self time, top functions:"
        hot_self "$name" 14
        echo "  (commands::transfer::import's SQL is the BEGIN and the COMMIT; all: bench/out/transfer/perf-$name-*.txt)"
    done
    echo
    echo "Load at end: $(cut -d' ' -f1-3 /proc/loadavg); total bench time $((SECONDS - STARTED)) s."
} >"$SUMMARY"

echo
cat "$SUMMARY"
log "done"
