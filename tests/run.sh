#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/run.sh PATTERN DIR... - run every test binary in each DIR (those whose
# name contains PATTERN, all when it is empty; an executable test_* script is
# one too: `make test` passes tests/ for tests/test_deps.sh), nest their KTAP
# output one level down, and end with the single line "N passed, N failed".  A binary
# that crashes or exits non-zero without reporting a failed case counts as
# one failed case, so a crash can never pass silently; so does one that runs
# past SNPSAFE_TEST_TIMEOUT seconds (default 600).  Inside a binary each
# case has its own bound as well (tests/ktap.h: KTAP_TIMEOUT, default 120 s):
# a livelocked case is reported "not ok ... # TIMEOUT" and the others still run.
set -u
pattern=$1; shift
limit=${SNPSAFE_TEST_TIMEOUT:-600}	# seconds per test binary
bins=()
for dir in "$@"; do
	for b in "$dir"/test_*; do
		[ -x "$b" ] && [ ! -d "$b" ] || continue
		case "$b" in *.o|*.d) continue ;; esac
		[ -z "$pattern" ] || [[ "$(basename "$b")" == *"$pattern"* ]] || continue
		bins+=("$b")
	done
done
echo "KTAP version 1"
echo "1..${#bins[@]}"
passed=0; failed=0; skipped=0; i=0
for b in "${bins[@]}"; do
	i=$((i + 1))
	out=$(mktemp)
	# A bound per binary: a livelock (say, an allocator loop that never
	# ends) fails the run instead of hanging it.
	timeout --kill-after=10 "$limit" "$b" >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "# $b: killed after its ${limit}s time limit" >>"$out"
	fi
	sed 's/^/    /' "$out"
	line=$(grep '^# totals: ' "$out" | tail -n 1)
	if [ -n "$line" ]; then
		set -- $line
		p=$3; f=$5; s=$7
	else
		# No totals: the test never reached its end, or is not a KTAP
		# test at all.  Either way nothing was proven.
		echo "    # $b printed no '# totals:' line: counted as one failure"
		p=0; f=1; s=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "    # $b exited with status $rc without a failed case: counted as one failure"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	name="${b#./}"
	if [ "$f" -eq 0 ]; then echo "ok $i $name"; else echo "not ok $i $name"; fi
	rm -f "$out"
done
if [ "${#bins[@]}" -eq 0 ]; then
	if [ -n "$pattern" ]; then echo "# no test matched '$pattern'"; else echo "# no test binaries found"; fi
	failed=1
fi
echo "# skipped: $skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
