#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kernel/test.sh -- `make kvm-patch-test`: the sieve patch, checked and then
# proven inside the real kvm_amd.
#   1. kernel/check.sh: each series applies to its Debian tree and is
#      checkpatch --strict clean (6.12.95 and unstable's 7.2).
#   2. sieve: kvm-amd.ko built from Debian's 6.12.95 source with the patch
#      (snpsafe watch --kvm-build sieve), booted with CC_ATTR_HOST_SEV_SNP set,
#      VMs churned until at least SNPSAFE_KVM_PATCH_VCPUS (500) vCPUs ran;
#      asserts: that many vCPUs, no 2MB-aligned page among the VMCBs VMRUN
#      used or the host save areas, provenance yes (every one of them came
#      from snp_safe_alloc_page_node, no event lost), the pools consistent
#      (parked <= peak <= 32 per node; the shrinker empties them:
#      kernel/guest-pool.sh), kvm_amd unloaded and the free pages after its
#      unload within SNPSAFE_KVM_PATCH_TOLERANCE (256) of before its load,
#      slab's growth set aside.
#   3. forgot-hsave: the same module with the host save area allocated
#      without the SNP-safe allocator: provenance must say no and name the
#      save areas with their call site (the check can fail).
# Prints KTAP and "# kvm-patch: N passed, N failed" (.ci/run reads it).
# What it installs is asked for first unless SNPSAFE_INSTALL=1 (`make
# kvm-patch-test` passes it) or CI=true (scripts/debian.sh, snp_consent).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SNP_LOG_PREFIX=kvm-patch-test
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"
snp_install python3	# reads snpsafe watch's JSON below
bin=$top/build/snpsafe
MIN_VCPUS=${SNPSAFE_KVM_PATCH_VCPUS:-500}
TOL=${SNPSAFE_KVM_PATCH_TOLERANCE:-256}
SECONDS_RUN=${SNPSAFE_KVM_PATCH_SECONDS:-75}
out=$top/.cache/kvm-patch-test
rm -rf "$out" && mkdir -p "$out"

echo "KTAP version 1"
echo "1..3"
passed=0 failed=0
result() {	# result N OK|FAIL NAME [why]
	if [ "$2" = OK ]; then echo "ok $1 $3"; passed=$((passed + 1))
	else echo "not ok $1 $3${4:+ # $4}"; failed=$((failed + 1)); fi
}

bash "$top/kernel/check.sh" > "$out/check.log" 2>&1
crc=$?
sed 's/^/    /' "$out/check.log"
[ $crc -eq 0 ] && result 1 OK patch_series_apply_and_checkpatch_clean ||
	result 1 FAIL patch_series_apply_and_checkpatch_clean "$(grep -c '^not ok' "$out/check.log") of kernel/check.sh's cases failed"

run() {	# run NAME VARIANT SECONDS: snpsafe watch's JSON in $out/NAME.json
	local name=$1 variant=$2 secs=$3 rc
	SNPSAFE_WATCH_TIMEOUT=${SNPSAFE_WATCH_TIMEOUT:-900} SNPSAFE_WATCH_GUEST_HOOK=$top/kernel/guest-pool.sh \
	"$bin" watch --kernel 6.12 --host-snp --kvm-build "$variant" --vms 4 --vcpus 2 --cpus 2 \
		--seconds "$secs" --lifetime 0.2 --out "$out/$name" --json > "$out/$name.json" 2> "$out/$name.log"
	rc=$?
	echo "    # $name: snpsafe watch --kvm-build $variant exited $rc"
	tail -n 3 "$out/$name.log" | sed 's/^/    # /'
	return $rc
}

judge() {	# judge NAME KIND: prints why it failed, or nothing
	python3 - "$out/$1.json" "$out/$1/console.txt" "$2" "$MIN_VCPUS" "$TOL" <<-'PYEOF'
	import json, re, sys
	path, console, kind, min_vcpus, tol = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
	try:
	    j = json.load(open(path))
	except Exception as e:
	    print(f"no JSON: {e}"); sys.exit()
	w, p, fp = j["workload"], j["provenance"], j.get("free_pages", {})
	pages = p.get("pages", {})
	bad = []
	def need(ok, why):
	    if not ok:
	        bad.append(why)
	if kind == "sieve":
	    need(w["vcpus_created"] >= min_vcpus, f"{w['vcpus_created']} vCPUs created, fewer than {min_vcpus}")
	    need(j["vmcb"]["aligned_2m"] == 0, f"{j['vmcb']['aligned_2m']} 2MB-aligned VMCBs")
	    need(j["hsave"]["aligned_2m"] == 0, f"{j['hsave']['aligned_2m']} 2MB-aligned host save areas")
	    need(p.get("verdict") == "yes", f"provenance {p.get('verdict')} ({p.get('why')})")
	    need(pages.get("vmcb", {}).get("from_allocator") == j["vmcb"]["distinct"],
	         f"VMCBs from the allocator {pages.get('vmcb')} of {j['vmcb']['distinct']}")
	    need(pages.get("hsave", {}).get("from_allocator") == 2, f"save areas from the allocator {pages.get('hsave')}")
	    need(p.get("lost_events") == 0, f"{p.get('lost_events')} events lost")
	    pool = {}
	    for line in open(console, errors="replace"):
	        m = re.match(r"snpsafe-pool: (before|after-shrink) node (\d+) parked (\d+) peak (\d+) given_back (\d+) fallbacks (\d+)", line.strip())
	        if m:
	            pool.setdefault(m.group(1), []).append(tuple(map(int, m.groups()[1:])))
	    need("before" in pool and "after-shrink" in pool, "no pool lines from debugfs")
	    for (n, parked, peak, back, fb), (_, parked2, peak2, back2, fb2) in zip(pool.get("before", []), pool.get("after-shrink", [])):
	        need(parked <= peak <= 32, f"node {n}: parked {parked}, peak {peak}")
	        need(parked2 == 0, f"node {n}: {parked2} pages still parked after the shrinker")
	        need(back2 - back == parked, f"node {n}: the shrinker gave back {back2 - back}, {parked} were parked")
	        print(f"# pool node {n}: parked {parked} (peak {peak}, fallbacks {fb}); the shrinker gave back {back2 - back}", file=sys.stderr)
	    need(fp.get("kvm_amd_unloaded") is True, "rmmod kvm_amd failed")
	    d = fp.get("difference_besides_slab")
	    need(d is not None and abs(d) <= tol, f"free pages after the unload differ by {d} (slab aside), tolerance {tol}")
	    print(f"# {w['vcpus_created']} vCPUs, {j['vmcb']['distinct']} distinct VMCBs ({j['vmcb']['aligned_2m']} aligned), "
	          f"{j['vmruns']} VMRUNs, provenance {p.get('verdict')}, free pages {fp.get('difference')} "
	          f"({d} besides slab)", file=sys.stderr)
	else:
	    need(p.get("verdict") == "no", f"provenance {p.get('verdict')}, not no")
	    miss = [m for m in p.get("not_from_allocator", []) if m.get("kind") == "hsave"]
	    need(len(miss) == 2, f"{len(miss)} save areas named as not from the allocator, not 2")
	    need(all("svm" in m.get("site", "") for m in miss), "a save area without its call site")
	    need(pages.get("vmcb", {}).get("from_allocator") == j["vmcb"]["distinct"], "a VMCB not from the allocator")
	    for m in miss:
	        print(f"# not from the allocator: {m.get('kind')} pfn {m.get('pfn')} at {m.get('site')}", file=sys.stderr)
	print("; ".join(bad))
	PYEOF
}

if run sieve sieve "$SECONDS_RUN"; then why=$(judge sieve sieve); else why="snpsafe watch failed (see $out/sieve.log)"; fi
[ -z "$why" ] && result 2 OK sieve_in_real_kvm_amd_no_aligned_vmrun_page || result 2 FAIL sieve_in_real_kvm_amd_no_aligned_vmrun_page "$why"
if run forgot forgot-hsave 5; then why=$(judge forgot forgot); else why="snpsafe watch failed (see $out/forgot.log)"; fi
[ -z "$why" ] && result 3 OK provenance_catches_a_forgotten_call_site || result 3 FAIL provenance_catches_a_forgotten_call_site "$why"
echo "# kvm-patch: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
