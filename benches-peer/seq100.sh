#!/usr/bin/env bash
# Sequential benchmark, bragg vs PhaseSmith 0.7 (README "Sequential: 100 chained synchrotron
# scans"): 100 LTNO synchrotron scans (38,001 points, a = 4.10 → 4.16 Å), fitted chained by
# `bragg sequential` and by `seq_phasesmith`, whole process to whole process.
#
#   cd benches-peer && ./seq100.sh            # ROUNDS=3 interleaved rounds (default)
#   ROUNDS=5 ./seq100.sh                      # more rounds
#   BRAGG=/path/to/bragg ./seq100.sh          # another bragg binary (skips its build)
#
# Each round runs, one after the other: bragg (all cores), bragg with RAYON_NUM_THREADS=1,
# seq_phasesmith (all cores); wall, user, sys and peak RSS from /usr/bin/time, the 1-minute
# load average before each run. Results: out/seq100/timings.csv, the fitted tables in
# out/seq100/run/, and a summary (medians, ratio, accuracy against truth.csv) on stdout.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
DATA=$HERE/out/seq100
RUN=$DATA/run
ROUNDS=${ROUNDS:-3}

# 1. Data (if missing): 100 scans + truth + start CIF + f′/f″ table.
if [ ! -f "$DATA/truth.csv" ] || [ "$(ls "$DATA"/scans/*.xye 2>/dev/null | wc -l)" -ne 100 ]; then
    cargo run --release --features bragg --bin make_series -- "$DATA" 100
fi

# 2. Builds.
if [ -z "${BRAGG:-}" ]; then
    (cd .. && cargo build --release -p bragg)
    BRAGG=$HERE/../target/release/bragg
fi
cargo build --release --bin seq_phasesmith
PS=$HERE/target/release/seq_phasesmith

# 3. Interleaved timing.
mkdir -p "$RUN"
TIMINGS=$DATA/timings.csv
echo "round,program,wall_s,user_s,sys_s,max_rss_kb,load1" > "$TIMINGS"
load1() { cut -d' ' -f1 /proc/loadavg; }
timed() { # name, command...
    local name=$1; shift
    local l; l=$(load1)
    /usr/bin/time -f "%e,%U,%S,%M" -o "$RUN/time.txt" "$@" > "$RUN/$name.stdout" 2> "$RUN/$name.stderr"
    echo "$r,$name,$(cat "$RUN/time.txt"),$l" >> "$TIMINGS"
    echo "round $r $name: $(cat "$RUN/time.txt") (wall,user,sys,KB) load $l"
}
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$RUN/bragg" "$RUN/bragg_1t"
    timed bragg "$BRAGG" sequential "$DATA/scans/" --phase "LTNO=$DATA/LTNO.cif" \
        --wavelength 0.458 --no-progress -o "$RUN/bragg"
    timed bragg_1t env RAYON_NUM_THREADS=1 "$BRAGG" sequential "$DATA/scans/" \
        --phase "LTNO=$DATA/LTNO.cif" --wavelength 0.458 --no-progress -o "$RUN/bragg_1t"
    timed phasesmith "$PS" "$DATA" "$RUN/phasesmith.csv"
done

# 4. Summary: medians, ratio, accuracy against the truth.
python3 - "$DATA" <<'EOF'
import csv, statistics, sys
data = sys.argv[1]
rows = list(csv.DictReader(open(f"{data}/timings.csv")))
med = {}
print("\nprogram      runs  median wall  median user+sys  peak RSS  load1 (min-max)")
for p in ["bragg", "bragg_1t", "phasesmith"]:
    r = [x for x in rows if x["program"] == p]
    wall = statistics.median(float(x["wall_s"]) for x in r)
    cpu = statistics.median(float(x["user_s"]) + float(x["sys_s"]) for x in r)
    rss = max(int(x["max_rss_kb"]) for x in r) / 1024
    loads = [float(x["load1"]) for x in r]
    med[p] = (wall, cpu)
    print(f"{p:<12} {len(r):>4}  {wall:9.2f} s  {cpu:13.2f} s  {rss:6.1f} MB  {min(loads):.2f}-{max(loads):.2f}")
for p in ["bragg", "bragg_1t"]:
    print(f"ratio phasesmith / {p}: wall {med['phasesmith'][0] / med[p][0]:.1f}x, "
          f"cpu {med['phasesmith'][1] / med[p][1]:.1f}x")

truth = {int(r["scan"]): float(r["a_true"]) for r in csv.DictReader(open(f"{data}/truth.csv"))}
def report(name, pairs):
    d = [a - truth[s] for s, a, _ in pairs]
    z = [(a - truth[s]) / e for s, a, e in pairs if e]
    print(f"{name}: {len(pairs)} scans, max |a - a_true| = {max(map(abs, d)):.2e} A, "
          f"mean {statistics.mean(d):+.2e} A; |z| max {max(map(abs, z)):.2f}, "
          f"{sum(abs(x) > 3 for x in z)} beyond 3 esd")
b = list(csv.DictReader(open(f"{data}/run/bragg/sequential.csv")))
report("bragg (esd)", [(int(r["scan"]), float(r["LTNO.cell.a"]), float(r["LTNO.cell.a_esd"])) for r in b])
report("bragg (esd_stat)", [(int(r["scan"]), float(r["LTNO.cell.a"]), float(r["LTNO.cell.a_esd_stat"])) for r in b])
print("bragg flagged scans:", sum(1 for r in b if r["flags"]))
p = list(csv.DictReader(open(f"{data}/run/phasesmith.csv")))
report("phasesmith (per-scan esd)", [(int(r["scan"]), float(r["a"]), float(r["a_esd"] or 0)) for r in p])
term = {}
for r in p:
    term[r["termination"]] = term.get(r["termination"], 0) + 1
print("phasesmith terminations:", term)
EOF
