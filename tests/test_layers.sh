#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/test_layers.sh -- in `make test`: calls go downward only
# (docs/ARCHITECTURE.md).  Each folder of src/ and each public header in
# include/snpsafe/ may include only the public headers of the layers below
# it, and its own folder's private headers; a new #include that reaches up
# or sideways fails here, naming the file and the header.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

# Which layer owns each public header.  common.h is the base every layer
# uses (errors, SNP_MUST_CHECK).
owner_of() {
	case "$1" in
	common) echo base ;;
	profile | rmp | mmu | vmrun) echo hw ;;
	mm) echo mm ;;
	kvm | snp_alloc) echo kvm ;;
	trace | provenance | replay) echo trace ;;
	host) echo host ;;
	guest_vmsa) echo guest ;;
	sim | cluster) echo sim ;;
	*) echo unknown ;;
	esac
}

# The layers each layer may call (itself and base are always allowed).
allowed() {
	case "$1" in
	hw | mm | host) echo "" ;;
	kvm) echo "mm hw" ;;
	trace) echo "hw" ;;
	guest) echo "kvm mm hw" ;;
	sim) echo "kvm mm hw" ;;
	cli) echo "sim trace host guest kvm mm hw" ;;
	esac
}

layers="hw mm kvm trace host guest sim cli"
n=0 fail=0
echo "KTAP version 1"
echo "1..$(($(echo $layers | wc -w) + 1))"

report() { # n description offending-lines
	if [ -z "$3" ]; then
		echo "ok $1 $2"
	else
		echo "$3" | sed 's/^/# /'
		echo "not ok $1 $2"
		fail=$((fail + 1))
	fi
}

check_file() { # layer file -> prints offending includes
	local layer=$1 f=$2 h o ok
	for h in $(sed -n 's/^#include <snpsafe\/\([a-z_]*\)\.h>.*/\1/p' "$f"); do
		o=$(owner_of "$h")
		ok=0
		[ "$o" = base ] || [ "$o" = "$layer" ] && ok=1
		for a in $(allowed "$layer"); do [ "$o" = "$a" ] && ok=1; done
		[ $ok = 1 ] || echo "$f includes <snpsafe/$h.h> (layer $o)"
	done
	for h in $(sed -n 's/^#include "\([a-z_]*\)\/[a-z_]*\.h".*/\1/p' "$f"); do
		[ "$h" = "$layer" ] || echo "$f includes a private header of src/$h"
	done
}

for layer in $layers; do
	n=$((n + 1))
	bad=""
	for f in src/"$layer"/*.[ch]; do
		[ -e "$f" ] || { bad="src/$layer is empty"; break; }
		bad+=$(check_file "$layer" "$f")
	done
	report $n "src/$layer calls only downward" "$bad"
done

n=$((n + 1))
bad=""
for f in include/snpsafe/*.h; do
	o=$(owner_of "$(basename "$f" .h)")
	[ "$o" = unknown ] && { bad+="$f has no layer in tests/test_layers.sh"$'\n'; continue; }
	[ "$o" = base ] && o=hw
	bad+=$(check_file "$o" "$f")
done
report $n "public headers include only downward" "$bad"
echo "# totals: $((n - fail)) passed, $fail failed, 0 skipped"
echo "$((n - fail)) passed, $fail failed"
[ $fail = 0 ]
