#!/usr/bin/env bash
# Runs the bragg-io fuzz targets one after the other (see README.md).
#
#   fuzz/run.sh                 # every target, default durations (text 180 s, binary 600 s)
#   fuzz/run.sh xye ndax        # only these targets
#   FUZZ_SECS=30 fuzz/run.sh    # override the duration of every target
#   FUZZ_NO_CMIN=1 ...          # skip the corpus minimisation afterwards
#   FUZZ_EXTRA='-fork=1 -ignore_crashes=1' fuzz/run.sh bruker_raw   # keep going past known crashes
#   fuzz/run.sh --prune xye     # only prune the committed corpus (shared-data copies, size)
#   BRAGG_SHARED_DATA=DIR       # real data (default ../shared/data next to the repository)
#   BRAGG_FUZZ_DIR=DIR          # the fuzz/ directory, when running a copy of this script
#
# For each target it assembles a seed corpus in fuzz/work/<target>/seeds from
#   (a) the committed minimised corpus fuzz/corpus/<target>/,
#   (b) hand-written seeds fuzz/seeds/<target>/,
#   (c) real files of the right format from ../shared/data (skipped with a note if absent),
#       test fixtures from fixtures/, and inputs derived from them at run time (gzip-compressed
#       copies, zip members extracted),
# runs `cargo +nightly fuzz run` under `nice -n 10` with -print_final_stats=1, logs to
# fuzz/logs/<target>.log, appends a result line to fuzz/logs/results.tsv, then minimises
# (`cargo fuzz cmin`) the union of the new corpus and the seeds into fuzz/corpus/<target>/ and
# removes from it every file byte-identical to a real file of ../shared/data or to an input
# derived from one (those are re-added at run time, never committed), and any file > 32 KB (mutated near-copies of
# the real files; the fuzzer regrows them from the seeds in seconds), then the largest files
# until the target's corpus is at most 100 KB.
set -uo pipefail

FUZZ="${BRAGG_FUZZ_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
ROOT="$(cd "$FUZZ/.." && pwd)"
SHARED="${BRAGG_SHARED_DATA:-$ROOT/../shared/data}"
FIX="$ROOT/fixtures"
TRIPLE="x86_64-unknown-linux-gnu"
MAX_KEEP=$((32 * 1024))
BUDGET=$((100 * 1024)) # committed corpus per target, bytes: the largest files go first

TEXT_TARGETS="xye xye_stream gsas_raw gsas_prm instprm fullprof uxd xrdml ras chi pdcif cif model powder
  mpt arbin maccor generic_csv scan_times brml_xml rasx_members ndax_ndc"
BIN_TARGETS="bruker_raw brml rasx mpr ndax powder_gz"
ALL="$TEXT_TARGETS $BIN_TARGETS"

is_binary() { case " $BIN_TARGETS " in *" $1 "*) return 0 ;; esac; return 1; }

max_len() {
  case "$1" in
    brml | rasx | ndax | brml_xml | rasx_members | ndax_ndc | powder_gz) echo $((4 * 1024 * 1024)) ;;
    *) echo $((1024 * 1024)) ;;
  esac
}

# Real files (paths relative to ../shared/data) seeding each target.
shared_files() {
  case "$1" in
    xye) echo operando-coincell/xrd_data/1355639_summed_mythen3.xye ;;
    gsas_raw) echo lab-lab6-660/NIST660CBI.gsas pbso4-roundrobin/PBSO4.XRA pbso4-roundrobin/PBSO4.CWN seq-cucr2o4-11bm/OH_00.fxye ;;
    gsas_prm) echo pbso4-roundrobin/INST_XRY.PRM pbso4-roundrobin/inst_d1a.prm seq-cucr2o4-11bm/OH_00.prm ;;
    fullprof) echo pbso4-roundrobin/pbsox.dat ;;
    uxd) echo licoo2-bruker/LiCoO2.UXD ;;
    bruker_raw) echo licoo2-bruker/LiCoO2.RAW ;;
    xrdml) echo nio-xrdml/NiO_0p6007-Bi2O3_0p4008--8min.xrdml nio-xrdml/NiO_0p7028-LaOH3_0p1010-ZnO_0p2000--8min.xrdml ;;
    cif) echo licoo2-bruker/LiCoO2-COD-1533825.cif nio-xrdml/NiO_225_sym.cif pbso4-roundrobin/PbSO4-Wyckoff.cif seq-cucr2o4-11bm/CuCr2O4.cif seq-cucr2o4-11bm/CuO.cif ;;
    powder | powder_gz) echo licoo2-bruker/LiCoO2.RAW licoo2-bruker/LiCoO2.UXD lab-lab6-660/NIST660CBI.gsas pbso4-roundrobin/PBSO4.XRA pbso4-roundrobin/pbsox.dat nio-xrdml/NiO_0p6007-Bi2O3_0p4008--8min.xrdml ;;
    ndax) echo operando-coincell/Echem/cc8.ndax ;;
    scan_times) echo operando-coincell/Log/log_operando_coincell8_LDE2_reduced.csv ;;
    *) ;;
  esac
}

# Test fixtures (paths relative to fixtures/) seeding each target.
fixture_files() {
  case "$1" in
    instprm) echo data/pbso4_xry.instprm data/two_banks.instprm ;;
    bruker_raw) echo data/sample_raw4.raw ;;
    brml) echo data/sample.brml ;;
    ras) echo data/sample.ras ;;
    rasx) echo data/sample.rasx ;;
    chi) echo data/sample_2theta.chi data/sample_q.chi data/sample_q_pyfai.dat ;;
    pdcif) echo data/sample_pdcif.cif ;;
    cif) echo cif/LTNO_pymatgen.cif cif/no_cell.cif cif/rutile_vesta.cif cif/two_blocks.cif cif/unknown_element.cif data/sample_pdcif.cif ;;
    model) echo models/lco-r3m-cuka.toml models/ltno-11bm.toml models/ltno-al-cuka.toml ;;
    powder | powder_gz) echo data/sample.brml data/sample.ras data/sample.rasx data/sample_2theta.chi data/sample_q.chi data/sample_q_pyfai.dat data/sample_pdcif.cif data/sample_raw4.raw ;;
    mpt) echo echem/small.mpt ;;
    mpr) echo echem/small.mpr echem/bad_truncated.mpr echem/bad_unknown_column.mpr ;;
    ndax) echo echem/bad_ndc_v17.ndax echem/bad_truncated.ndax ;;
    arbin) echo echem/arbin.csv ;;
    maccor) echo echem/maccor.txt ;;
    generic_csv) echo echem/generic.csv echem/bad_missing_column.csv echem/bad_non_monotonic.csv ;;
    scan_times) echo echem/scan_times_seconds.csv echem/scan_times_zoned.csv ;;
    *) ;;
  esac
}

# Inputs derived at run time (zip members, gzip copies) into $2; files derived from the
# shared data also go to $3 (never to be committed).
derived_seeds() {
  local t="$1" out="$2" private="$3" f
  case "$t" in
    xye_stream)
      # The xye corpus behind three control bytes (head, chunk, workers).
      for f in "$FUZZ"/corpus/xye/*; do
        [ -f "$f" ] && { printf '\007\003\001'; cat "$f"; } >"$out/s_$(basename "$f")"
      done ;;
    brml_xml)
      unzip -p "$FIX/data/sample.brml" Experiment0/RawData0.xml >"$out/RawData0.xml" 2>/dev/null ;;
    rasx_members)
      { unzip -p "$FIX/data/sample.rasx" Data0/MesurementConditions0.xml; printf '\0'
        unzip -p "$FIX/data/sample.rasx" Data0/Profile0.txt; } >"$out/sample_members" 2>/dev/null
      unzip -p "$FIX/data/sample.rasx" Data0/Profile0.txt >"$out/sample_profile" 2>/dev/null ;;
    ndax_ndc)
      if [ -f "$SHARED/operando-coincell/Echem/cc8.ndax" ]; then
        unzip -p "$SHARED/operando-coincell/Echem/cc8.ndax" data.ndc >"$out/cc8_data.ndc"
        head -c 12288 "$out/cc8_data.ndc" >"$out/cc8_data_3pages.ndc"
        cp "$out/cc8_data.ndc" "$out/cc8_data_3pages.ndc" "$private/"
      fi
      for f in "$FIX"/echem/bad_*.ndax; do
        unzip -p "$f" data.ndc >"$out/$(basename "$f").ndc" 2>/dev/null || true
      done ;;
    powder)
      cp "$FUZZ"/seeds/bruker_raw/* "$FUZZ"/seeds/xye/* "$out/" 2>/dev/null ;;
    powder_gz)
      for f in $(shared_files powder_gz); do
        [ -f "$SHARED/$f" ] && gzip -9nc "$SHARED/$f" >"$out/$(basename "$f").gz" && cp "$out/$(basename "$f").gz" "$private/"
      done
      for f in $(fixture_files powder_gz); do gzip -9nc "$FIX/$f" >"$out/$(basename "$f").gz"; done
      [ -d "$FUZZ/seeds/xye" ] && for f in "$FUZZ"/seeds/xye/*; do gzip -9nc "$f" >"$out/$(basename "$f").gz"; done ;;
  esac
  true
}

build_seeds() {
  local t="$1" w="$FUZZ/work/$1" f
  rm -rf "$w/seeds" "$w/private"
  mkdir -p "$w/seeds" "$w/corpus" "$w/private"
  [ -d "$FUZZ/corpus/$t" ] && cp "$FUZZ/corpus/$t"/* "$w/seeds/" 2>/dev/null
  [ -d "$FUZZ/seeds/$t" ] && cp "$FUZZ/seeds/$t"/* "$w/seeds/" 2>/dev/null
  if [ -d "$SHARED" ]; then
    for f in $(shared_files "$t"); do
      if [ -f "$SHARED/$f" ]; then cp "$SHARED/$f" "$w/seeds/"; else echo "note: $SHARED/$f absent"; fi
    done
  else
    echo "note: $SHARED absent: seeding $t without the real data files"
  fi
  for f in $(fixture_files "$t"); do cp "$FIX/$f" "$w/seeds/" 2>/dev/null || echo "note: fixtures/$f absent"; done
  derived_seeds "$t" "$w/seeds" "$w/private"
  echo "seeds for $t: $(ls "$w/seeds" | wc -l) files"
}

# Removes from $1 files identical to a shared-data file or a derived private seed, and big files.
prune_corpus() {
  local dir="$1" priv="$2" f
  local -A bad=()
  if [ -d "$SHARED" ]; then
    while read -r h _; do bad[$h]=1; done < <(find "$SHARED" -type f -exec sha256sum {} + 2>/dev/null)
  fi
  while read -r h _; do bad[$h]=1; done < <(find "$priv" -type f -exec sha256sum {} + 2>/dev/null)
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    local h
    h=$(sha256sum "$f" | cut -d' ' -f1)
    if [ -n "${bad[$h]:-}" ] || [ "$(stat -c %s "$f")" -gt "$MAX_KEEP" ]; then rm -f "$f"; fi
  done
  # Keep the committed corpus small: drop the largest files until the total fits the budget.
  local total size name
  total=$(find "$dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  while [ "$total" -gt "$BUDGET" ]; do
    read -r size name < <(find "$dir" -type f -printf '%s %p\n' | sort -n -r | head -1)
    rm -f "$name"
    total=$((total - size))
  done
}

corpus_bytes() { find "$FUZZ/corpus/$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

run_one() {
  local t="$1" secs ml log
  if is_binary "$t"; then secs=600; else secs=180; fi
  secs="${FUZZ_SECS:-$secs}"
  ml=$(max_len "$t")
  log="$FUZZ/logs/$t.log"
  mkdir -p "$FUZZ/logs" "$FUZZ/artifacts/$t"
  build_seeds "$t"
  echo "== $t: ${secs}s, max_len $ml, log $log"
  local start end rc
  start=$(date +%s)
  # xye_stream starts worker threads: LeakSanitizer reports std's per-thread channel context
  # (a thread-local freed after the leak check runs) as a leak, so leaks are not checked there.
  local extra="${FUZZ_EXTRA:-}"
  [ "$t" = xye_stream ] && extra="-detect_leaks=0 $extra"
  (cd "$FUZZ" && nice -n 10 cargo +nightly fuzz run -O "$t" "work/$t/corpus" "work/$t/seeds" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len="$ml" \
    -print_final_stats=1 -artifact_prefix="$FUZZ/artifacts/$t/" $extra) >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  local execs eps corp crashes fsecs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
  eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
  fsecs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}')
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | awk '{print $2}')
  if [ -z "$execs" ]; then # fork mode: '#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts'
    local last
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    eps=$(grep -oE 'exec/s [0-9]+' <<<"$last" | awk '{print $2}')
    fsecs=$(grep -oE 'time: [0-9]+s' <<<"$last" | grep -oE '[0-9]+')
    corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | awk '{print $2}')
  fi
  crashes=$(find "$FUZZ/artifacts/$t" -type f | wc -l)
  # target, fuzzing s, wall s (with build), execs, exec/s, corpus at the end, artifacts, rc, date
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${fsecs:-?}" "$((end - start))" "${execs:-?}" \
    "${eps:-?}" "${corp:-?}" "$crashes" "$rc" "$(date -u +%FT%TZ)" >>"$FUZZ/logs/results.tsv"
  echo "== $t done: rc $rc, ${fsecs:-?} s fuzzing, execs ${execs:-?}, exec/s ${eps:-?}, corpus ${corp:-?}, artifacts $crashes"
  if [ -z "${FUZZ_NO_CMIN:-}" ]; then
    mkdir -p "$FUZZ/corpus/$t"
    cp "$FUZZ/work/$t/corpus"/* "$FUZZ/work/$t/seeds"/* "$FUZZ/corpus/$t/" 2>/dev/null
    (cd "$FUZZ" && nice -n 10 cargo +nightly fuzz cmin -O "$t" "corpus/$t" -- \
      -rss_limit_mb=2048 -timeout=10 -max_len="$ml") >"$FUZZ/logs/$t.cmin.log" 2>&1 ||
      echo "cmin of $t failed, see logs/$t.cmin.log"
    prune_corpus "$FUZZ/corpus/$t" "$FUZZ/work/$t/private"
    echo "== $t corpus: $(ls "$FUZZ/corpus/$t" | wc -l) files, $(corpus_bytes "$t") bytes"
  fi
}

prune_only=""
if [ "${1:-}" = "--prune" ]; then prune_only=1; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && read -r -a targets <<<"$(echo $ALL)"
for t in "${targets[@]}"; do
  case " $(echo $ALL) " in *" $t "*) ;; *) echo "unknown target $t (known: $(echo $ALL))"; exit 2 ;; esac
  if [ -n "$prune_only" ]; then
    mkdir -p "$FUZZ/work/$t/private"
    prune_corpus "$FUZZ/corpus/$t" "$FUZZ/work/$t/private"
    echo "$t: $(ls "$FUZZ/corpus/$t" | wc -l) files, $(corpus_bytes "$t") bytes"
  else
    run_one "$t"
  fi
done
