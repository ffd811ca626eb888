#!/bin/sh
# Run `complearn compare` end to end on the traces of the "End-to-end studies" section
# of docs/benchmarks.md and merge their results into one Table-4-style report.
#
# Usage (from the repository root, after `make install`):
#   benchmarks/compare_studies.sh [OUT_DIR]
# Writes OUT_DIR/example (the no-argument study, timed), one folder per other trace,
# OUT_DIR/times.txt (wall and CPU seconds per study) and OUT_DIR/table.md.
# The real data is read from $COMPLEARN_SHARED_DATA (default ../shared/data).
set -eu

OUT=${1:-/tmp/complearn-compare-studies}
DATA=${COMPLEARN_SHARED_DATA:-../shared/data}
COMPLEARN=${COMPLEARN:-.venv/bin/complearn}
mkdir -p "$OUT/traces"
: > "$OUT/times.txt"

timed() {
    # timed NAME COMMAND...: run COMMAND, append "NAME wall_s user_s sys_s" to times.txt
    name=$1
    shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$@"
}

# 1. The bundled example, exactly what `make run` runs.
timed example "$COMPLEARN" compare --out "$OUT/example"

# 2. Two real log sequences (LogHub 2k samples, EventId column).
"$COMPLEARN" import --format csv -o "$OUT/traces/windows-log.trace" \
    "$DATA/loghub/Windows/Windows_2k.log_structured.csv"
"$COMPLEARN" import --format csv -o "$OUT/traces/thunderbird-log.trace" \
    "$DATA/loghub/Thunderbird/Thunderbird_2k.log_structured.csv"

# 3. perl's calls (perl and its libraries) while it runs a small hashing loop,
#    after its start-up calls.
"$COMPLEARN" trace --kind calls --images all --skip-events 20000 --max-events 30000 \
    -o "$OUT/traces/perl-calls.trace" -- perl -e \
    'sub f { my ($n) = @_; my %h; $h{$_ % 17} += $_ for 1..$n; return scalar keys %h }
     my $s = 0; $s += f(50) for 1..4000; print "$s\n"'

# 4. A real memory trace: the first 30,000 accesses of SPEC CPU2006 libquantum (DPC-2).
gzip -dc "$DATA/dpc2/dpc2_libquantum_blocks64.txt.gz" | head -n 30000 \
    > "$OUT/traces/libquantum-mem.txt"
"$COMPLEARN" import --format text --kind mem -o "$OUT/traces/libquantum-mem.trace" \
    "$OUT/traces/libquantum-mem.txt"

for name in perl-calls libquantum-mem windows-log thunderbird-log; do
    timed "$name" "$COMPLEARN" compare "$OUT/traces/$name.trace" --out "$OUT/$name" --quiet
done

"$COMPLEARN" report "$OUT/example/calls" "$OUT/example/mem" "$OUT/perl-calls" \
    "$OUT/libquantum-mem" "$OUT/windows-log" "$OUT/thunderbird-log" \
    --title "complearn compare: end-to-end studies" -o "$OUT/table.md"
cat "$OUT/times.txt"
