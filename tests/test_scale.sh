#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_scale.sh -- in `make test`: docs/SCALE.md's GNU parallel recipe,
# run as written with the local machine (-S :) in place of the ssh hosts, on
# a small run: the shards merged print what one `simulate` prints, byte for
# byte (issue 26, item 3).  Skipped (KTAP SKIP) where parallel is not
# installed; .ci/run installs it (Debian's parallel package).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SNPSAFE_SAN_BIN:-${SNPSAFE_BIN:-build/snpsafe}}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
echo "KTAP version 1"
echo "1..1"
if ! command -v parallel >/dev/null 2>&1; then
	echo "ok 1 parallel_recipe # SKIP GNU parallel not installed (apt-get install parallel)"
	echo "# totals: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$bin" "$work/bin/snpsafe"
export PATH="$work/bin:$PATH"
cd "$work" || exit 1

# docs/SCALE.md, "GNU parallel over ssh hosts", with hosts -S : (this machine)
FLAGS="--mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 32 --trials 12 --age-share 3 --seed 4 --threads 1"
N=3
seq 1 "$N" | parallel -S : --return shard-{}.json --cleanup \
	"snpsafe simulate $FLAGS --shard {}/$N --json > shard-{}.json" 2>parallel.err
"$bin" merge shard-*.json >merged.txt 2>/dev/null
"$bin" simulate $FLAGS >whole.txt 2>/dev/null

bad=""
shards=(shard-*.json)
[ -e "${shards[0]}" ] && [ "${#shards[@]}" = "$N" ] || bad+="parallel did not leave $N shards: $(<parallel.err)"$'\n'
[ -s whole.txt ] || bad+="the one-machine run printed nothing"$'\n'
cmp -s merged.txt whole.txt || bad+="merge's output differs from the one-machine run's: $(diff merged.txt whole.txt | head -5)"$'\n'
if [ -z "$bad" ]; then
	echo "ok 1 parallel_recipe"
	echo "# totals: 1 passed, 0 failed, 0 skipped"
	exit 0
fi
echo "$bad" | sed 's/^/# /'
echo "not ok 1 parallel_recipe"
echo "# totals: 0 passed, 1 failed, 0 skipped"
exit 1
