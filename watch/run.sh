#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# watch/run.sh -- the machinery behind `snpsafe watch` (which checks the
# arguments, runs this, then reads the trace): boot an unmodified Debian
# kernel under QEMU TCG with snpsafe's plugin, load the real kvm_amd, run
# the workload, and leave in OUT:
#   raw.trace      what the plugin recorded
#   kallsyms       the watched kernel's text symbols (System.map + its modules' from
#                  the guest's second serial port)
#   alloc.log      the allocation log from the third serial port: the SNP-safe
#                  allocator's calls and the page allocator's returns to modules
#                  (tracefs probes), the pool, free pages around kvm_amd's life
#                  (docs/WATCH.md "Provenance")
#   console.log    the serial console
#   kvm_exits      KVM's kvm_exit tracepoint as histograms per task: exit code and guest
#                  RIP, exit code's EXITINFO1/2 (watch/init.sh)
#   buddyinfo, pagetypeinfo  with SNPSAFE_WATCH_AGE_ROUNDS: the guest's free lists at the
#                  end of the ageing
#   result         key=value lines: kernel, workload, wall_s, qemu_rc, age_rounds, age_seed,
#                  age (the ager's line)
#
# Usage: run.sh OUT KERNEL VMS VCPUS SECONDS LIFETIME CPUS MEM_MIB FILTER PLUGIN(0|1) [BZIMAGE MODDIR]
#   KERNEL: 6.1 | 6.12 | a Debian version (6.1.0-56-amd64) | "path" (then BZIMAGE and MODDIR).
# Installs go through snp_consent (scripts/debian.sh): done without asking only with
#   SNPSAFE_INSTALL=1 (watch --install) or CI=true; asked on a terminal; else the run stops.
# Knobs: SNPSAFE_WATCH_TIMEOUT (seconds QEMU may run, default 900), SNPSAFE_KERNEL_ARGS,
#   SNPSAFE_WATCH_GUEST_HOOK (a script the guest runs at stages pre, loaded, done),
#   SNPSAFE_WATCH_HOST_SNP=1: build watch/hostsnp against the kernel's headers and load it
#   before kvm_amd, so that kvm_amd believes the host has SNP (--host-snp).
#   SNPSAFE_WATCH_KVM_AMD_KO=FILE: load this kvm-amd.ko (.ko, .ko.xz or .ko.zst) in place
#   of the kernel's own; its dependencies are still read from the shipped module
#   (--kvm-build).
#   SNPSAFE_WATCH_AGE_ROUNDS=N, SNPSAFE_WATCH_AGE_SEED=S: age the guest first, N rounds
#   from seed S (--age-rounds; docs/WATCH.md "An aged host"); OUT then has buddyinfo and
#   pagetypeinfo at the end of the ageing.
#   SNPSAFE_WATCH_PROBES=0: arm no tracefs probe in the guest (neither the provenance
#   probes nor the counting kprobes), to measure what they change (docs/WATCH.md "What
#   watching changes"); then there is no alloc.log and no kprobe_ counts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SNP_LOG_PREFIX=watch
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"

[ $# -ge 10 ] || snp_die "usage: run.sh OUT KERNEL VMS VCPUS SECONDS LIFETIME CPUS MEM_MIB FILTER PLUGIN [BZIMAGE MODDIR]"
out=$1 kernel=$2 vms=$3 vcpus=$4 seconds=$5 lifetime=$6 cpus=$7 mem_mib=$8 filter=$9 plugin=${10}
bzimage=${11:-} moddir=${12:-}
timeout_s=${SNPSAFE_WATCH_TIMEOUT:-900}
mkdir -p "$out"
t0=$(date +%s.%N)

# ---- 1. what is missing, from Debian's archive (with consent) ----------------------------
snp_install busybox-static cpio xz-utils zstd libglib2.0-dev pkg-config dpkg-dev binutils
snp_install_qemu
if [ "$kernel" = path ]; then
	[ -f "$bzimage" ] || snp_die "no kernel image $bzimage"
	[ -d "$moddir" ] || snp_die "no module folder $moddir"
	kver=$(basename "$moddir")
	vmlinuz=$bzimage
else
	kver=$(snp_kernel_resolve "$kernel")
	snp_kernel_fetch "$kver"
	vmlinuz=$(snp_kernel_dir "$kver")/boot/vmlinuz-$kver
	moddir=$(snp_kernel_dir "$kver")/lib/modules/$kver
fi
inc=$(snp_qemu_plugin_header)
host_snp=${SNPSAFE_WATCH_HOST_SNP:-0}
kvm_amd_ko=${SNPSAFE_WATCH_KVM_AMD_KO:-}
if [ -n "$kvm_amd_ko" ]; then
	[ -f "$kvm_amd_ko" ] || snp_die "SNPSAFE_WATCH_KVM_AMD_KO: no file $kvm_amd_ko"
fi
if [ "$host_snp" = 1 ]; then
	[ "$kernel" != path ] || snp_die "--host-snp needs a Debian kernel (6.12)"
	hdr=$(snp_headers_fetch "$kver")
	hb=$SNP_CACHE/hostsnp-$kver
	rm -rf "$hb" && mkdir -p "$hb"
	cp "$here"/hostsnp/Kbuild "$here"/hostsnp/*.c "$hb"/
	snp_log "building snpsafe_hostsnp.ko against $hdr"
	make -C "$hdr" M="$hb" modules > "$hb/build.log" 2>&1 || { cat "$hb/build.log" >&2; snp_die "building snpsafe_hostsnp.ko failed"; }
	! grep -qiE 'warning:|error:' "$hb/build.log" || { cat "$hb/build.log" >&2; snp_die "snpsafe_hostsnp.ko built with warnings"; }
fi

# ---- 2. build the plugin and the workload ------------------------------------------------
snp_log "building the plugin and the workload"
make -C "$top" --no-print-directory -s watch-build QEMU_PLUGIN_INC="$inc" >&2 ||
	snp_die "building the plugin or the workload failed"
plugin_so=$top/build/watch/snpsafe_plugin.so
workload=$top/build/watch/snpsafe-workload

# ---- 3. initramfs: busybox, the workload, kvm_amd and what it needs ------------------------
ird=$out/initramfs
rm -rf "$ird"
mkdir -p "$ird"/{bin,dev,proc,sys,tmp,lib/modules}
cp /bin/busybox "$ird/bin/busybox"
cp "$here/init.sh" "$ird/init"
cp "$workload" "$ird/workload"
chmod 755 "$ird/init" "$ird/bin/busybox" "$ird/workload"
# Core kernel symbols come from a real System.map when there is one (the
# guest boots nokaslr, so they are the run-time addresses) and the guest
# prints only its modules' symbols; Debian's image ships a stub System.map
# (the real one is in -dbg), so then the guest prints them all.
sysmap=""
[ "$kernel" = path ] || sysmap=$(snp_kernel_dir "$kver")/boot/System.map-$kver
if [ -z "$sysmap" ] || [ "$(grep -c ' [tT] ' "$sysmap" 2>/dev/null)" -lt 1000 ]; then
	sysmap=""
	touch "$ird/full-kallsyms"
fi
echo "--vms $vms --vcpus $vcpus --seconds $seconds --lifetime $lifetime --host-threads 1" > "$ird/workload.args"
age_rounds=${SNPSAFE_WATCH_AGE_ROUNDS:-0} age_seed=${SNPSAFE_WATCH_AGE_SEED:-0}
case $age_rounds$age_seed in *[!0-9]*) snp_die "SNPSAFE_WATCH_AGE_ROUNDS and _SEED take whole numbers" ;; esac
[ "$age_rounds" -eq 0 ] || echo "--vcpus $vcpus --age-rounds $age_rounds --age-seed $age_seed" > "$ird/age.args"

modfile() {	# the file of module $1 in $moddir
	find "$moddir" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n 1
}
modinfo_field() {	# modinfo_field FILE FIELD
	case $1 in
	*.xz) xz -dc "$1" ;; *.zst) zstd -dcq "$1" ;; *) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n "s/^$2=//p" | head -n 1
}
order=()
add_module() {	# dependencies first, each once
	local m=$1 f d
	for d in "${order[@]:-}"; do [ "$d" = "$m" ] && return 0; done
	f=$(modfile "$m")
	[ -n "$f" ] || snp_die "module $m not found under $moddir"
	for d in $(modinfo_field "$f" depends | tr ',' ' '); do add_module "$d"; done
	if [ "$m" = kvm-amd ] && [ -n "$kvm_amd_ko" ]; then
		# A module built for another kernel would be refused by insmod in the guest.
		local vm
		vm=$(modinfo_field "$kvm_amd_ko" vermagic)
		[ "${vm%% *}" = "$kver" ] ||
			snp_die "$kvm_amd_ko is built for '${vm%% *}', not $kver"
		snp_log "kvm-amd: $kvm_amd_ko in place of $(basename "$f")"
		f=$kvm_amd_ko
	fi
	case $f in
	*.xz) xz -dc "$f" > "$ird/lib/modules/$m.ko" ;;
	*.zst) zstd -dcq "$f" > "$ird/lib/modules/$m.ko" ;;
	*) cp "$f" "$ird/lib/modules/$m.ko" ;;
	esac
	order+=("$m")
}
add_module kvm-amd
# SNPSAFE_WATCH_EXTRA_FILE="SRC:NAME ...": more files in the guest's root,
# each as /NAME (paths without spaces).
for extra in ${SNPSAFE_WATCH_EXTRA_FILE:-}; do
	case $extra in
	*:?*) ;;
	*) snp_die "SNPSAFE_WATCH_EXTRA_FILE: '$extra' is not SRC:NAME" ;;
	esac
	cp "${extra%%:*}" "$ird/${extra##*:}" ||
		snp_die "SNPSAFE_WATCH_EXTRA_FILE: no ${extra%%:*}"
	chmod 755 "$ird/${extra##*:}"
done
# SNPSAFE_WATCH_GUEST_HOOK: a busybox script the guest runs at each stage
# (init.sh: pre, loaded, done), e.g. kernel/guest-measure.sh.
if [ -n "${SNPSAFE_WATCH_GUEST_HOOK:-}" ]; then
	cp "$SNPSAFE_WATCH_GUEST_HOOK" "$ird/hook" && chmod 755 "$ird/hook"
fi
printf '%s\n' "${order[@]}" > "$ird/modules.order"
probes=${SNPSAFE_WATCH_PROBES:-1}
case $probes in 0) touch "$ird/no-probes" ;; 1) ;; *) snp_die "SNPSAFE_WATCH_PROBES must be 0 or 1, not '$probes'" ;; esac
[ "$host_snp" = 1 ] && cp "$hb/snpsafe_hostsnp.ko" "$ird/hostsnp.ko"
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
rm -rf "$ird"

# ---- 4. boot under TCG ----------------------------------------------------------------------
mem_bytes=$((mem_mib * 1024 * 1024))
plug=()
if [ "$plugin" = 1 ]; then
	plug=(-plugin "$plugin_so,trace=$out/raw.trace,mem=$mem_bytes,filter=$filter")
fi
rm -f "$out/console.log" "$out/kallsyms" "$out/raw.trace" "$out/alloc.gz" "$out/alloc.log"
snp_log "booting $kver under QEMU TCG ($cpus CPUs, $mem_mib MiB), $vms VMs x $vcpus vCPUs for ${seconds}s$([ "$plugin" = 1 ] && echo ', watched' || echo ', not watched')"
qt0=$(date +%s.%N)
rc=0
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
	-smp "$cpus" -m "$mem_mib" -kernel "$vmlinuz" -initrd "$out/initrd.gz" \
	-append "console=ttyS0 nokaslr no5lvl panic=-1 printk.time=0 loglevel=4 rdinit=/init ${SNPSAFE_KERNEL_ARGS:-}" \
	-nographic -monitor none -serial "file:$out/console.log" -serial "file:$out/kallsyms" \
	-serial "file:$out/alloc.gz" \
	-no-reboot "${plug[@]}" < /dev/null > "$out/qemu.out" 2>&1 || rc=$?
qt1=$(date +%s.%N)
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || { tail -n 20 "$out/console.log" >&2; snp_die "QEMU overran its ${timeout_s}s limit"; }
[ "$rc" -eq 0 ] || { cat "$out/qemu.out" >&2; tail -n 20 "$out/console.log" >&2; snp_die "QEMU exited with status $rc"; }

# ---- 5. what the guest said ----------------------------------------------------------------
tr -d '\r' < "$out/console.log" > "$out/console.txt"
wl=$(sed -n 's/^snpsafe-watch: snpsafe-workload: //p' "$out/console.txt" | tail -n 1)
release=$(sed -n 's/^snpsafe-watch: start \([^ ]*\).*/\1/p' "$out/console.txt" | head -n 1)
if [ "$host_snp" = 1 ] && ! grep -q 'snpsafe-hostsnp: CC_ATTR_HOST_SEV_SNP set' "$out/console.txt"; then
	grep 'snpsafe' "$out/console.txt" >&2
	snp_die "--host-snp: the attribute was not set in the watched kernel"
fi
grep -q '^snpsafe-watch: done' "$out/console.txt" || { tail -n 30 "$out/console.txt" >&2; snp_die "the watched guest did not finish (see $out/console.txt)"; }
[ -n "$wl" ] || { grep '^snpsafe-watch' "$out/console.txt" >&2; snp_die "the workload did not report"; }
if grep -qE 'BUG:|Oops|Kernel panic|general protection' "$out/console.txt"; then
	grep -E -A5 'BUG:|Oops|Kernel panic|general protection' "$out/console.txt" | head -n 20 >&2
	snp_die "the watched kernel oopsed"
fi
# KVM's kvm_exit histograms (watch/init.sh): why each #VMEXIT happened, per task.
sed -n 's/^snpsafe-watch: kvm_exit: //p' "$out/console.txt" > "$out/kvm_exits"
# An aged host's free lists at the end of the ageing (init.sh).
if [ "$age_rounds" -gt 0 ]; then
	grep -q '^snpsafe-watch: snpsafe-age: ' "$out/console.txt" ||
		{ grep '^snpsafe-watch' "$out/console.txt" >&2; snp_die "the ager did not report"; }
	sed -n 's/^snpsafe-watch: buddyinfo: //p' "$out/console.txt" > "$out/buddyinfo"
	sed -n 's/^snpsafe-watch: pagetypeinfo: //p' "$out/console.txt" > "$out/pagetypeinfo"
fi
{ [ -z "$sysmap" ] || grep ' [tT] ' "$sysmap"; gzip -dc < "$out/kallsyms"; } > "$out/kallsyms.txt" ||
	snp_die "the guest's symbol dump is damaged"
mv "$out/kallsyms.txt" "$out/kallsyms"
if [ "$probes" = 0 ]; then
	rm -f "$out/alloc.gz"	# no probes, no allocation log
else
	gzip -dc < "$out/alloc.gz" > "$out/alloc.log" && rm -f "$out/alloc.gz" ||
		snp_die "the guest's allocation log is damaged ($out/alloc.gz)"
fi
{
	echo "kernel=${release:-$kver}"
	echo "workload=$wl"
	echo "qemu_s=$(awk "BEGIN { printf \"%.3f\", $qt1 - $qt0 }")"
	echo "total_s=$(awk "BEGIN { print $(date +%s.%N) - $t0 }")"
	echo "watched=$plugin"
	echo "host_snp=$host_snp"
	echo "kvm_amd_ko=$kvm_amd_ko"
	echo "probes=$probes"
	echo "age_rounds=$age_rounds"
	echo "age_seed=$age_seed"
	sed -n 's/^snpsafe-watch: snpsafe-age: /age=/p' "$out/console.txt" | tail -n 1
	sed -n 's/^snpsafe-watch: meminfo total_kb=\([0-9]*\) free_kb=\([0-9]*\)$/mem_total_kb=\1\nmem_free_kb=\2/p' "$out/console.txt"
	sed -n 's/^snpsafe-watch: kprobe \([a-z_0-9]*\) \([0-9]*\)$/kprobe_\1=\2/p' "$out/console.txt"
} > "$out/result"
snp_log "guest done in $(awk "BEGIN { printf \"%.1f\", $qt1 - $qt0 }")s: $wl"
