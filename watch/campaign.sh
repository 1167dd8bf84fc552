#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/campaign.sh -- B boots of one kernel and one configuration under
# `snpsafe watch`, each into a folder of its own that is kept (docs/WATCH.md
# "A campaign: several boots per kernel"):
#   OUT/<kernel>-<fresh|aged>-<i>        the run folder (raw and finished trace, console,
#                                        kvm_exits, alloc.log, result)
#   OUT/<kernel>-<fresh|aged>-<i>.json   its `snpsafe watch --again ... --json`
#   OUT/<kernel>-<fresh|aged>-<i>.log    the boot's and the judging's progress
#   OUT/campaign.log                     one line per boot: folder, seed, exit status, QEMU time
#
# Each boot is watch/run.sh, the script `snpsafe watch` runs; the judging
# (trace finish, replay, provenance, model estimate) is `snpsafe watch
# --again` on the folder, run in the background at low priority so that the
# next boot starts at once (QEMU has the machine; the judging only reads).
# A boot whose .json exists is skipped, so a campaign can be resumed.
#
# Usage: campaign.sh OUT KERNEL BOOTS [--first I] [--vms N] [--vcpus N] [--seconds S]
#                    [--lifetime S] [--age-rounds N] [--seed S]
#   KERNEL 6.1 or 6.12; boots are numbered I..I+BOOTS-1 (default I = 1).
#   --age-rounds N > 0 ages the guest first (`snpsafe watch --age-rounds`); boot i then
#   gets the ageing seed S + i (default S = 1), recorded in its JSON (config.age_seed).
#   The fresh workload takes no seed: fresh boots differ by timing alone.
# Environment: SNPSAFE_BIN (default the tree's build/snpsafe), SNP_CACHE (scripts/debian.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
die() { echo "campaign: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: campaign.sh OUT KERNEL BOOTS [--first I] [--vms N] [--vcpus N] [--seconds S] [--lifetime S] [--age-rounds N] [--seed S]"
out=$1 kernel=$2 boots=$3
shift 3
first=1 vms=8 vcpus=2 seconds=120 lifetime=0.2 rounds=0 seed=1
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case $1 in
	--first) first=$2 ;; --vms) vms=$2 ;; --vcpus) vcpus=$2 ;; --seconds) seconds=$2 ;;
	--lifetime) lifetime=$2 ;; --age-rounds) rounds=$2 ;; --seed) seed=$2 ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
case $kernel in 6.1|6.12) ;; *) die "KERNEL must be 6.1 or 6.12, not '$kernel'" ;; esac
for v in "$boots" "$first" "$rounds" "$seed"; do
	case $v in '' | *[!0-9]*) die "BOOTS, --first, --age-rounds and --seed take whole numbers, not '$v'" ;; esac
done
[ "$boots" -ge 1 ] || die "BOOTS must be at least 1"
bin=${SNPSAFE_BIN:-$top/build/snpsafe}
[ -x "$bin" ] || die "no snpsafe binary at $bin (make, or set SNPSAFE_BIN)"
state=fresh
[ "$rounds" -eq 0 ] || state=aged
mkdir -p "$out"

# `snpsafe watch` with this campaign's configuration; the ageing flags only
# when ageing, so a fresh campaign judges with today's command line.
flags=(--kernel "$kernel" --vms "$vms" --vcpus "$vcpus" --seconds "$seconds" --lifetime "$lifetime")

judge() {	# judge DIR SEED: the folder's JSON, written whole or not at all
	local d=$1 s=$2 age=()
	[ "$rounds" -eq 0 ] || age=(--age-rounds "$rounds" --age-seed "$s")
	if nice -n 15 "$bin" watch --again --out "$d" "${flags[@]}" "${age[@]}" --json > "$d.json.part" 2>> "$d.log"; then
		mv "$d.json.part" "$d.json"
	else
		echo "campaign: judging $d failed (see $d.log)" >&2
	fi
}

pids=()
for ((i = first; i < first + boots; i++)); do
	d=$out/$kernel-$state-$i
	s=$((seed + i))
	[ "$rounds" -gt 0 ] || s=none
	if [ -f "$d.json" ]; then
		echo "campaign: $d.json exists, boot $i skipped" >&2
		continue
	fi
	echo "campaign: boot $i of $kernel $state -> $d ($(date -u +%H:%M:%S))" >&2
	rc=0
	SNPSAFE_WATCH_AGE_ROUNDS=$rounds SNPSAFE_WATCH_AGE_SEED=${s/none/0} \
		bash "$here/run.sh" "$d" "$kernel" "$vms" "$vcpus" "$seconds" "$lifetime" 2 1024 inguest 1 \
		> "$d.log" 2>&1 || rc=$?
	qs=$(sed -n 's/^qemu_s=//p' "$d/result" 2>/dev/null || true)
	echo "$d seed=$s rc=$rc qemu_s=${qs:-none} at $(date -u +%H:%M:%S)" >> "$out/campaign.log"
	if [ "$rc" -ne 0 ]; then
		echo "campaign: boot $i failed (exit $rc, see $d.log)" >&2
		continue
	fi
	judge "$d" "$s" &
	pids+=($!)
done
for p in "${pids[@]:-}"; do
	[ -z "$p" ] || wait "$p" || true
done
