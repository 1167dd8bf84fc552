#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kernel/check.sh -- the patch series in kernel/patches/*/ against the trees
# they are for (each folder's SOURCE: Debian's linux-source package and
# version), as KTAP:
#   - every patch applies in order (git apply --check, then git apply);
#   - scripts/checkpatch.pl --strict from that tree: 0 errors, 0 warnings,
#     0 checks, for each patch.
# Ends with "# kernel: N passed, N failed" (.ci/run reads it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SNP_LOG_PREFIX=kernel-check
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"

field() { sed -n "s/^$1=//p" "$2" | head -n 1; }

series=()
for d in "$here"/patches/*/; do [ -f "$d/SOURCE" ] && series+=("${d%/}"); done
n=0
for d in "${series[@]}"; do n=$((n + 1 + $(ls "$d"/*.patch | wc -l))); done
echo "KTAP version 1"
echo "1..$n"
i=0 passed=0 failed=0
result() {	# result OK|FAIL NAME [why]
	i=$((i + 1))
	if [ "$1" = OK ]; then echo "ok $i $2"; passed=$((passed + 1))
	else echo "not ok $i $2${3:+ # $3}"; failed=$((failed + 1)); fi
}

for d in "${series[@]}"; do
	s=$(basename "$d")
	pkg=$(field package "$d/SOURCE") ver=$(field version "$d/SOURCE") suite=$(field suite "$d/SOURCE")
	opts=()
	case $suite in
	bookworm-backports) snp_backports ;;
	unstable) snp_unstable_apt; opts=("${SNP_UNSTABLE_APT[@]}") ;;
	*) snp_apt_update ;;
	esac
	if ! apt-cache "${opts[@]}" show "$pkg=$ver" >/dev/null 2>&1; then
		newest=$(apt-cache "${opts[@]}" show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
		echo "# $s: $pkg $ver is gone from Debian's $suite; checking $newest instead"
		ver=$newest
	fi
	src=$( [ -n "$ver" ] && snp_linux_source "${pkg#linux-source-}" "$ver" "${opts[@]}" ) || src=""
	w=$SNP_CACHE/kernel-check/$s
	rm -rf "$w" && mkdir -p "$w/arch/x86"
	why=""
	if [ -z "$src" ]; then
		why="no $pkg source"
	else
		cp -a "$src/arch/x86/kvm" "$w/arch/x86/kvm"
		for p in "$d"/*.patch; do
			# Outside any repository (see kernel/build.sh).
			out=$(cd "$w" && export GIT_CEILING_DIRECTORIES=$(dirname "$w") &&
				git apply --check "$p" 2>&1 && git apply "$p" 2>&1) ||
				{ why="$(basename "$p"): $(echo "$out" | head -n 1)"; break; }
		done
	fi
	# What the series touches must differ from the source after it applied.
	if [ -z "$why" ]; then
		for f in $(cat "$d"/*.patch | sed -n 's#^+++ b/##p' | sort -u); do
			cmp -s "$src/$f" "$w/$f" && { why="$f unchanged after the series applied"; break; }
		done
	fi
	echo "# $s: $(ls "$d"/*.patch | wc -l) patches against $pkg $ver"
	[ -z "$why" ] && result OK "applies_$s" || result FAIL "applies_$s" "$why"
	for p in "$d"/*.patch; do
		name="checkpatch_strict_${s}_$(basename "$p" .patch | cut -c1-4)"
		if [ -z "$src" ]; then result FAIL "$name" "no source tree"; continue; fi
		out=$(cd "$src" && perl scripts/checkpatch.pl --strict --no-color "$p" 2>&1)
		tot=$(echo "$out" | sed -n 's/^total: //p' | head -n 1)
		echo "# $(basename "$p"): ${tot:-no total line}"
		if [ "$tot" = "${tot#0 errors, 0 warnings, 0 checks,}" ]; then
			echo "$out" | grep -E '^(ERROR|WARNING|CHECK)' | head -n 5 | sed 's/^/# /'
			result FAIL "$name" "${tot:-checkpatch printed no total}"
		else
			result OK "$name"
		fi
	done
done
echo "# kernel: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
