#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# kernel/build.sh KVER VARIANT -- build kvm-amd.ko for the Debian kernel KVER
# (e.g. 6.12.95+deb12-amd64) from Debian's own source of that kernel, out of
# tree against its headers, so the booted kernel accepts it (same vermagic,
# same symbol versions).  Prints the .ko's path as the last line of stdout;
# progress on stderr; non-zero on failure.
#
#   stock         the source as Debian ships it (a control: the same build
#                 path without the patch)
#   sieve         with kernel/patches/SERIES/*.patch (git apply --check first)
#   forgot-hsave  sieve, then the host save area allocated without the
#                 SNP-safe allocator: a kernel that forgot one call site, for
#                 the provenance check to catch (never a proposal)
#
# Nothing is installed into this machine's /boot or /lib/modules; the source,
# headers and build live under .cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SNP_LOG_PREFIX=kvm-build
# shellcheck source=../scripts/debian.sh
source "$top/scripts/debian.sh"

[ $# -eq 2 ] || snp_die "usage: kernel/build.sh KVER stock|sieve|forgot-hsave"
kver=$1 variant=$2
case $variant in
stock|sieve|forgot-hsave) ;;
*) snp_die "unknown variant '$variant' (stock, sieve or forgot-hsave)" ;;
esac
series=$(echo "$kver" | sed -n -E 's/^([0-9]+\.[0-9]+)[.-].*-amd64$/\1/p')
[ -n "$series" ] || snp_die "'$kver' is not a Debian amd64 kernel version"
patches=("$here/patches/$series"/*.patch)
[ "$variant" = stock ] || [ -f "${patches[0]}" ] || snp_die "no patch series for $series in kernel/patches"

# The source package version is the image package's version.
case $kver in *+deb12*|*bpo*) snp_backports ;; esac
snp_apt_update
ver=$(apt-cache show "linux-image-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$ver" ] || snp_die "linux-image-$kver is not in Debian's archive"
src=$(snp_linux_source "$series" "$ver")
hdr=$(snp_headers_fetch "$kver")

b=$SNP_CACHE/kvm-build/$kver-$variant
ko=$b/arch/x86/kvm/kvm-amd.ko
# One build at a time per kernel and variant, and none when the module
# already there was built from the same inputs: a run that is booting the
# module must not see its folder removed under it.
mkdir -p "$SNP_CACHE/kvm-build"
exec 9> "$SNP_CACHE/kvm-build/.lock-$kver-$variant"
flock 9
stamp=$( { echo "$kver $variant $ver"; cat "$0" "$here/Kbuild.kvm-amd";
	[ "$variant" = stock ] || cat "${patches[@]}"; } | sha256sum | cut -d' ' -f1)
if [ -f "$ko" ] && [ "$(cat "$b/stamp" 2>/dev/null)" = "$stamp" ]; then
	snp_log "kvm-amd.ko ($variant) for $kver is up to date: $ko"
	echo "$ko"
	exit 0
fi
rm -rf "$b" && mkdir -p "$b/arch/x86"
cp -a "$src/arch/x86/kvm" "$b/arch/x86/kvm"
if [ "$variant" != stock ]; then
	for p in "${patches[@]}"; do
		# Outside any repository (.cache may sit inside one, where git apply
		# would skip paths outside the current folder without a word).
		(cd "$b" && export GIT_CEILING_DIRECTORIES=$(dirname "$b") &&
			git apply --check "$p" && git apply "$p") ||
			snp_die "$(basename "$p") does not apply to Debian's linux-source-$series $ver"
	done
	! cmp -s "$src/arch/x86/kvm/svm/sev.c" "$b/arch/x86/kvm/svm/sev.c" ||
		snp_die "the patches left svm/sev.c unchanged"
	snp_log "applied ${#patches[@]} patches to linux-source-$series $ver"
fi
if [ "$variant" = forgot-hsave ]; then
	sed -i 's/save_area_page = snp_safe_alloc_page_node(\(cpu_to_node(cpu)\), GFP_KERNEL);/save_area_page = alloc_pages_node(\1, GFP_KERNEL | __GFP_ZERO, 0);/' \
		"$b/arch/x86/kvm/svm/svm.c"
	grep -q 'save_area_page = alloc_pages_node(' "$b/arch/x86/kvm/svm/svm.c" ||
		snp_die "forgot-hsave: svm_cpu_init's save area call was not found"
fi
cp "$here/Kbuild.kvm-amd" "$b/arch/x86/kvm/Kbuild"
snp_log "building kvm-amd.ko ($variant) against $hdr"
make -C "$hdr" M="$b/arch/x86/kvm" -j"$(nproc)" modules > "$b/build.log" 2>&1 ||
	{ tail -n 30 "$b/build.log" >&2; snp_die "building kvm-amd.ko failed (see $b/build.log)"; }
! grep -qiE 'warning:|error:' "$b/build.log" ||
	{ grep -iE 'warning:|error:' "$b/build.log" >&2; snp_die "kvm-amd.ko built with warnings"; }
# Debian installs its modules stripped of debug info (INSTALL_MOD_STRIP):
# so is ours, so that the initramfs and the module loader see the same size.
strip --strip-debug "$ko" || snp_die "strip --strip-debug $ko failed"
vm_ours=$(tr '\0' '\n' < "$ko" | sed -n 's/^vermagic=//p' | head -n 1)
shipped=$(find "$(snp_kernel_dir "$kver")/lib/modules/$kver" -name 'kvm-amd.ko*' 2>/dev/null | head -n 1)
if [ -n "$shipped" ]; then
	case $shipped in *.xz) dec=(xz -dc) ;; *.zst) dec=(zstd -dcq) ;; *) dec=(cat) ;; esac
	vm_theirs=$("${dec[@]}" "$shipped" | tr '\0' '\n' | sed -n 's/^vermagic=//p' | head -n 1)
	[ "$vm_ours" = "$vm_theirs" ] || snp_die "vermagic '$vm_ours' is not the shipped module's '$vm_theirs'"
fi
echo "$stamp" > "$b/stamp"
snp_log "built $ko ($variant), vermagic $vm_ours"
echo "$ko"
