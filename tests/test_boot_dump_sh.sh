#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_boot_dump_sh.sh -- watch/boot-dump.sh on hand-made run folders:
# it keeps the first whole one (from pfn 0) of the two dumps busybox's insmod
# leaves on the console
# (pageblock lines without their prefix, carriage returns dropped), adds a
# "4k R" line per 4K region of the plugin's first-VMRUN dump and "aged N" for
# a boot aged first (its result's age_rounds), and refuses a
# folder without a dump or without the plugin's lines, with one line and
# exit 1; each committed dump of docs/data/boot-dump-2026-12-06 is one
# `snpsafe simulate --boot-dump` takes (when SNPSAFE_BIN is given).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 passed=0 failed=0
check() {   # NAME GOT WANT
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n $1"; passed=$((passed + 1))
	else
		echo "# got '$2', want '$3'"
		echo "not ok $n $1"; failed=$((failed + 1))
	fi
}
echo "KTAP version 1"
mkdir "$tmp/run"
printf 'snpsafe-watch: meminfo total_kb=1\r\nsnpsafe-pbdump: # end_pfn 1024: 2 pageblocks\r\nsnpsafe-pbdump: 0 mt 0 buddy 0 pcp 0\r\nsnpsafe-pbdump: 200 mt 1 buddy 512 pcp 0\r\nsnpsafe-pbdump: 0 mt 0 buddy 1 pcp 0\r\nsnpsafe-pbdump: 200 mt 1 buddy 511 pcp 0\r\n' > "$tmp/run/console.log"
printf 'snpsafe plugin: directmap region 0 pa 0x0 4K: read-only 3 executable 2 not-present 0\nsnpsafe plugin: directmap region 1 pa 0x200000 4K: read-only 1 executable 0 not-present 0\nsnpsafe plugin: directmap module-space va 0xffffffffc0000000 pa 0x200000 region 1 ro x\n' > "$tmp/run/qemu.out"
out=$(bash "$root/watch/boot-dump.sh" "$tmp/run" 2> "$tmp/err"); rc=$?
check "a run folder: exit 0" "$rc" 0
check "the first dump's pageblocks, no prefix, no CR" "$(printf '%s\n' "$out" | grep -v '^#' | grep -v '^4k')" "$(printf '0 mt 0 buddy 0 pcp 0\n200 mt 1 buddy 512 pcp 0')"
check "a 4k line per 4K region" "$(printf '%s\n' "$out" | grep '^4k' | tr '\n' ' ')" "4k 0 4k 1 "
check "nothing on stderr" "$(cat "$tmp/err")" ""
# the kernel's log buffer lost the first dump's head: the second, whole, is taken
printf 'snpsafe-pbdump: 200 mt 1 buddy 0 pcp 0\nsnpsafe-pbdump: 0 mt 0 buddy 7 pcp 0\nsnpsafe-pbdump: 200 mt 1 buddy 3 pcp 0\n' > "$tmp/c"
cp "$tmp/run/console.log" "$tmp/keep"; cp "$tmp/c" "$tmp/run/console.log"
check "a dump without its head skipped" "$(bash "$root/watch/boot-dump.sh" "$tmp/run" | grep -v '^#' | grep -v '^4k' | tr '\n' '|')" "0 mt 0 buddy 7 pcp 0|200 mt 1 buddy 3 pcp 0|"
cp "$tmp/keep" "$tmp/run/console.log"
check "a fresh boot: no aged line" "$(printf '%s\n' "$out" | grep -c '^aged')" 0
printf 'kernel=6.12\nage_rounds=8\n' > "$tmp/run/result"
check "an aged boot: aged 8" "$(bash "$root/watch/boot-dump.sh" "$tmp/run" | grep '^aged')" "aged 8"
: > "$tmp/run/qemu.out"
bash "$root/watch/boot-dump.sh" "$tmp/run" > /dev/null 2> "$tmp/err"; rc=$?
check "no plugin lines: exit 1" "$rc" 1
check "no plugin lines: one line saying so" "$(grep -c 'no 4K region line' "$tmp/err")" 1
grep -v pbdump "$tmp/run/console.log" > "$tmp/c" && mv "$tmp/c" "$tmp/run/console.log"
bash "$root/watch/boot-dump.sh" "$tmp/run" > /dev/null 2> "$tmp/err"; rc=$?
check "no dump: exit 1" "$rc" 1
check "no dump: one line naming the hook" "$(grep -c 'guest-pbdump.sh' "$tmp/err")" 1
bash "$root/watch/boot-dump.sh" "$tmp/none" > /dev/null 2> "$tmp/err"; rc=$?
check "no folder: exit 1" "$rc" 1
bin=${SNPSAFE_BIN:-}
for d in "$root"/docs/data/boot-dump-2026-12-06/*.dump; do
	[ -f "$d" ] && [ -x "$bin" ] || continue
	k=6.12
	case $(basename "$d") in 6.1-*) k=6.1 ;; esac
	"$bin" simulate --age 0 --mem 1024M --cpus 2 --vms 1 --vcpus 1 --ticks 1 --trials 1 --threads 1 --strategy naive --layout qemu-pc --kernel $k --boot-dump "$d" > /dev/null 2> "$tmp/err"
	check "$(basename "$d"): simulate --boot-dump takes it" "$?" 0
done
echo "1..$n"
echo "# totals: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
