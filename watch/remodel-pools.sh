#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/remodel-pools.sh SRC OUT -- every recorded watch run of SRC judged
# again by this build's model, and pooled: for each folder D of SRC
# holding runs named SET-N.json (SET: 6.12-fresh, 6.1-fresh, 6.12-aged,
# 6.1-aged), `snpsafe watch --remodel` of each into OUT/D/SET-N.json, then
# `snpsafe merge` of a set's runs into OUT/D/pool-SET.txt.  The runs' boot
# folders are not needed (docs/WATCH.md "Every boot judged again").  A run
# whose model started from a boot dump names the dump's path on the
# machine that judged it; where that is not here, the same file under this
# tree's docs/data is given (--boot-dump; its bytes are checked).
# Environment: SNPSAFE_BIN (default the tree's build/snpsafe).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "remodel-pools: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: remodel-pools.sh SRC OUT"
src=$1 out=$2
bin=${SNPSAFE_BIN:-$here/../build/snpsafe}
[ -x "$bin" ] || die "no snpsafe binary at $bin (make, or set SNPSAFE_BIN)"
[ -d "$src" ] || die "no folder $src"
found=0
for d in "$src"/*/; do
	d=${d%/}
	sub=$out/$(basename "$d")
	for set in 6.12-fresh 6.1-fresh 6.12-aged 6.1-aged; do
		runs=("$d/$set"-[0-9]*.json)
		[ -e "${runs[0]}" ] || continue
		mkdir -p "$sub"
		for f in "${runs[@]}"; do
			dump=()
			rec=$(grep -o '"boot_dump":"[^"]*"' "$f" | head -n 1 | sed 's/^"boot_dump":"//; s/"$//' || true)
			if [ -n "$rec" ] && [ ! -r "$rec" ] && [ -r "$here/../docs/data/${rec##*/docs/data/}" ]; then
				dump=(--boot-dump "$here/../docs/data/${rec##*/docs/data/}")
			fi
			"$bin" watch --remodel "$f" "${dump[@]}" > "$sub/$(basename "$f")" ||
				die "remodeling $f failed"
		done
		(cd "$sub" && "$bin" merge "$set"-[0-9]*.json > "pool-$set.txt") || die "merging $sub/$set failed"
		found=$((found + 1))
	done
done
[ "$found" -gt 0 ] || die "no SET-N.json runs under $src/*/"
