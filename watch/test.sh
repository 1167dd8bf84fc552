#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/test.sh -- `make watch-test`: watch real kvm_amd on Debian's 6.1 and
# 6.12 with a small workload that keeps every VM for the whole run (no
# churn, no nested guests), and assert what can be known exactly:
#   - the run finished and its trace reads back;
#   - distinct VMCBs == VMs x vCPUs == vCPUs that ran or were kicked out of a stuck
#     in-kernel loop (the workload's own count)
#     == svm_vcpu_create calls (the watched kernel's own kprobe count);
#   - distinct host save areas == the guest's CPU count (one per CPU, svm_cpu_init);
#   - the plugin saw the kernel's direct-map stores;
#   - provenance: on 6.12 (run with --host-snp, so the allocator's order-1 path is
#     the one at work) every VMCB and both save areas came from
#     snp_safe_alloc_page_node, with no event lost; on 6.1 "no SNP-safe
#     allocator", and every page named with its call site in kvm_amd;
#   - kvm_amd unloaded, and the free pages before its load and after its unload
#     were measured (the difference is printed, not judged: it moves by tens of
#     pages from run to run);
#   - the trace, read record by record here (an oracle apart from the C reader):
#     on every CPU the VMRUNs and #VMEXITs alternate and their counts match; a
#     VMRUN's page records follow it directly (one lock hold in the plugin); the
#     header's filter is inguest; and every kept store touches a 2MB region
#     that a VMRUN page or save area of a CPU then in guest mode marks, at its
#     place in the file (a store recorded after the exit that unmarked it is the
#     race watch/snpsafe_plugin.c closes);
#   - snpsafe replay of the trace refused no record.
# A kernel is 6.1, 6.12 or either with "+host-snp" (SNPSAFE_WATCH_KERNELS).
# Prints KTAP and "# watch: N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SNP_LOG_PREFIX=watch-test
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"
snp_install python3	# reads snpsafe watch's JSON below
bin=$top/build/snpsafe
VMS=${SNPSAFE_WATCH_VMS:-3}
VCPUS=${SNPSAFE_WATCH_VCPUS:-2}
CPUS=2
kernels=(${SNPSAFE_WATCH_KERNELS:-6.1 6.12+host-snp})

# The recorded trace against what the plugin promises, and replay's refusals
# (docs/TRACE.md; format in include/snpsafe/trace.h).  Prints what is wrong, or
# nothing.
check_trace() { # JSON of snpsafe watch
	local trace refused
	trace=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trace"])' "$1" 2>/dev/null) ||
		{ echo "no trace named in the JSON"; return; }
	refused=$("$bin" replay "$trace" --json | python3 -c 'import json, sys
e = json.load(sys.stdin)["events"]
print("" if e["refused"] == 0 else "replay refused %d record(s), first: %s" % (e["refused"], e["first_refusal"]))') ||
		refused="snpsafe replay failed on $trace"
	[ -n "$refused" ] && echo "$refused"
	python3 - "$trace" <<-'EOF'
	import struct, sys
	data = open(sys.argv[1], "rb").read()
	_, _, hsize, ncpu, filt = struct.unpack_from("<8sIIII", data, 0)
	PA_MASK, SHIFT = 0x000FFFFFFFFFF000, 21
	runs, exits = [0] * ncpu, [0] * ncpu
	in_guest, marked, hsave = [False] * ncpu, [[] for _ in range(ncpu)], [0] * ncpu
	hot, bad, stores, unmarked = {}, [], 0, 0
	run_cpu = None          # the CPU whose VMRUN the last records were
	off, n = hsize, 0
	def mark(pages, d):
	    for p in pages:
	        if p:
	            hot[p >> SHIFT] = hot.get(p >> SHIFT, 0) + d
	while off + 40 <= len(data):
	    t, cpu, arg, _, ln, _, pa, va, pc = struct.unpack_from("<BBBBIQQQQ", data, off)
	    off, n = off + 40, n + 1
	    if t in (7, 8):     # SYM, STR: a payload padded to 8
	        off += (ln + 7) & ~7
	    if t == 1:          # VMRUN
	        runs[cpu] += 1
	        if in_guest[cpu]:
	            bad.append(f"record {n}: VMRUN on CPU {cpu} in guest mode")
	        in_guest[cpu], marked[cpu] = True, [pa & PA_MASK, hsave[cpu]]
	        mark(marked[cpu], +1)
	        run_cpu = cpu
	        continue
	    if t == 2:          # VMRUN_PAGE
	        if run_cpu != cpu:
	            bad.append(f"record {n}: VMRUN page of CPU {cpu} apart from its VMRUN")
	        marked[cpu].append(pa & PA_MASK)
	        mark([pa & PA_MASK], +1)
	        continue
	    run_cpu = None
	    if t == 3:          # VMEXIT
	        exits[cpu] += 1
	        if not in_guest[cpu]:
	            bad.append(f"record {n}: #VMEXIT on CPU {cpu} in host mode")
	        mark(marked[cpu], -1)
	        in_guest[cpu], marked[cpu] = False, []
	    elif t == 4:        # HSAVE
	        hsave[cpu] = pa & PA_MASK
	    elif t == 5:        # STORE
	        stores += 1
	        if not any(hot.get(r, 0) > 0 for r in {pa >> SHIFT, (pa + arg - 1) >> SHIFT}):
	            unmarked += 1
	            if unmarked == 1:
	                bad.append(f"record {n}: store by CPU {cpu} at 0x{pa:x} to a region no CPU in guest mode marks")
	    elif t == 9:
	        break
	if filt != 0:
	    bad.append(f"the trace's filter is {filt}, not 0 (inguest)")
	for c in range(ncpu):
	    if runs[c] != exits[c]:
	        bad.append(f"CPU {c}: {runs[c]} VMRUNs, {exits[c]} #VMEXITs")
	if unmarked > 1:
	    bad.append(f"{unmarked} stores to unmarked regions in all")
	print("; ".join(bad))
	print(f"# trace: VMRUN/#VMEXIT per CPU {list(zip(runs, exits))}; {stores} stores, "
	      f"{unmarked} to unmarked regions", file=sys.stderr)
	EOF
}

echo "KTAP version 1"
echo "1..${#kernels[@]}"
passed=0; failed=0; i=0
for k in "${kernels[@]}"; do
	i=$((i + 1))
	out=$top/.cache/watch-test/$k
	json=$out.json
	flags=()
	[ "${k#*+}" = host-snp ] && flags=(--host-snp)
	mkdir -p "$out"
	t0=$(date +%s)
	SNPSAFE_WATCH_TIMEOUT=${SNPSAFE_WATCH_TIMEOUT:-420} \
	"$bin" watch --kernel "${k%%+*}" "${flags[@]}" --vms "$VMS" --vcpus "$VCPUS" --cpus "$CPUS" \
		--seconds 3 --out "$out" --json > "$json" 2> "$out.log"
	rc=$?
	t1=$(date +%s)
	echo "    # $k: snpsafe watch exited $rc in $((t1 - t0)) s"
	sed 's/^/    # /' "$out.log" | tail -n 4
	why=$(python3 - "$json" "$rc" "$VMS" "$VCPUS" "$CPUS" "${k%%+*}" <<-'EOF'
	import json, sys
	path, rc, vms, vcpus, cpus = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
	kernel = sys.argv[6]
	if rc != 0:
	    print(f"snpsafe watch exited {rc}"); sys.exit()
	try:
	    j = json.load(open(path))
	except Exception as e:
	    print(f"no JSON: {e}"); sys.exit()
	w = j["workload"]
	checks = [
	    (j["vmcb"]["distinct"] == vms * vcpus, f"distinct VMCBs {j['vmcb']['distinct']} != VMs x vCPUs {vms * vcpus}"),
	    # Under TCG a vCPU can get stuck in the kernel (KVM re-entering the guest
	    # on an exit it handles itself, never back in user space); the workload
	    # kicks it and counts it as stuck.  It did run VMRUN, so its VMCB counts.
	    (w["vcpus_ran"] + w["vcpus_stuck"] == vms * vcpus,
	     f"the workload ran {w['vcpus_ran']} vCPUs (+{w['vcpus_stuck']} stuck), not {vms * vcpus}"),
	    (j["vmruns"] >= vms * vcpus, f"{j['vmruns']} VMRUNs for {vms * vcpus} vCPUs"),
	    (j["hsave"]["distinct"] == cpus, f"{j['hsave']['distinct']} host save areas for {cpus} CPUs"),
	    (j["stores_seen"] > 0, "no direct-map store seen"),
	    # The kernel's own count: kprobe hits on svm_vcpu_create (svm.c), one per vCPU.
	    (j["kprobe_hits"].get("svm_vcpu_create") == w["vcpus_created"],
	     f"kprobe svm_vcpu_create {j['kprobe_hits'].get('svm_vcpu_create')} != vCPUs created {w['vcpus_created']}"),
	    (j["records"] > 0, "empty trace"),
	]
	p, fp = j["provenance"], j.get("free_pages", {})
	pages = p.get("pages", {})
	if kernel == "6.1":
	    # No allocator; the page allocator's returns to kvm_amd name every page.
	    checks += [
	        (p.get("verdict") == "no_allocator", f"provenance {p.get('verdict')}, not no_allocator"),
	        (len(p.get("not_from_allocator", [])) == vms * vcpus + cpus,
	         f"{len(p.get('not_from_allocator', []))} pages named, not {vms * vcpus + cpus}"),
	        (all(m.get("site", "").endswith("[kvm_amd]") for m in p.get("not_from_allocator", [])),
	         "a page without its call site in kvm_amd"),
	    ]
	else:
	    checks += [
	        (p.get("verdict") == "yes", f"provenance {p.get('verdict')} ({p.get('why')}), not yes"),
	        (pages.get("vmcb", {}).get("from_allocator") == vms * vcpus,
	         f"{pages.get('vmcb')} VMCBs from the allocator"),
	        (pages.get("hsave", {}).get("from_allocator") == cpus,
	         f"{pages.get('hsave')} save areas from the allocator"),
	        (p.get("lost_events") == 0, f"{p.get('lost_events')} allocator events lost"),
	    ]
	checks += [
	    (fp.get("kvm_amd_unloaded") is True, "rmmod kvm_amd failed"),
	    ("difference" in fp, "free pages not measured before the load and after the unload"),
	]
	bad = [m for ok, m in checks if not ok]
	print("; ".join(bad))
	if w["vcpus_stuck"]:
	    print(f"# {w['vcpus_stuck']} vCPU(s) stuck in the kernel under TCG and kicked", file=sys.stderr)
	for k in ("kernel", "vmruns", "vmcb", "hsave", "stores_recorded", "stores_seen", "trace_bytes", "qemu_seconds"):
	    print(f"# {k}: {j[k]}", file=sys.stderr)
	print(f"# provenance: {p.get('verdict')}, pages {pages}; free pages {fp.get('difference')} after unload"
	      f" (slab pages {fp.get('slab_difference')})", file=sys.stderr)
	EOF
	)
	why2=$(check_trace "$json")
	why2=${why2//$'\n'/; }
	[ -n "$why2" ] && why=${why:+$why; }$why2
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("    # kernel %s: VMRUNs %d, VMCBs %d (%d aligned), save areas %d, stores %d of %d, %.1f s, provenance %s" % (j["kernel"], j["vmruns"], j["vmcb"]["distinct"], j["vmcb"]["aligned_2m"], j["hsave"]["distinct"], j["stores_recorded"], j["stores_seen"], j["qemu_seconds"], j["provenance"].get("verdict")))' "$json" 2>/dev/null
	if [ -z "$why" ]; then
		echo "ok $i watch_$k"; passed=$((passed + 1))
	else
		echo "not ok $i watch_$k # $why"; failed=$((failed + 1))
	fi
done
echo "# watch: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
