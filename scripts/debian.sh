# SPDX-License-Identifier: MIT
#
# scripts/debian.sh -- sourced by kmod/qemu-test.sh and watch/run.sh: what
# both need from Debian's archive, installed or fetched the same way.
#
#   snp_consent WHAT              say WHAT will change on this machine; go on only with
#                                 consent (below), else stop with one line
#   snp_apt_update                once per run
#   snp_backports                 add bookworm-backports (deb + deb-src) to apt,
#                                 in the project's own sources file (with consent)
#   snp_install PKG...            apt-get install what is missing (with consent)
#   snp_install_qemu              qemu-system-x86 >= 10 (plugin API v4) from backports
#                                 (with consent)
#   snp_kernel_resolve NAME       6.1 | 6.12 | <ver>-amd64  ->  a Debian kernel version
#   snp_kernel_fetch KVER         apt-get download + dpkg-deb -x into $SNP_CACHE/kernels
#                                 (never installed into this machine's /boot)
#   snp_kernel_dir KVER           where it is unpacked
#   snp_headers_fetch KVER        the kernel's headers (and kbuild), unpacked the same way,
#                                 because installing 6.12's headers would install its image;
#                                 with what building against them needs (snp_kbuild_deps)
#   snp_kbuild_deps KDIR          pahole where modules get BTF (6.12), the kernel's gcc
#   snp_debian_mirror             the bookworm mirror this machine's apt uses
#   snp_qemu_plugin_header        the installed QEMU's qemu-plugin.h, from Debian's
#                                 source package, cached; prints its directory
#   snp_install_chromium          headless Chromium and the DejaVu fonts the repro
#                                 picture asks for, for `make svg-test`
#   snp_unstable_apt              Debian unstable in the project's own apt configuration
#                                 (options in SNP_UNSTABLE_APT), for the newest kernel source
#   snp_linux_source SERIES VER   Debian's linux-source-SERIES=VER, the parts the kvm_amd
#                                 patch needs, unpacked into $SNP_CACHE/ksrc; prints the folder
#
# The caller sets SNP_LOG_PREFIX (e.g. "kmod-test") and may set SNP_CACHE.
#
# Nothing is installed and no apt source is added unasked.  Each such change
# (apt-get install, the backports sources file) goes through snp_consent,
# which first says what will run, then goes ahead only when
#   SNPSAFE_INSTALL=1   `snpsafe watch --install` sets it; `make kmod-test`,
#                       `make watch-test` and `make kvm-patch-test` pass it, or
#   CI=true             CI's fresh machine, or
#   a terminal          stdin and stderr are one, and the answer to [y/N] is y;
# otherwise it stops the run with one line naming what was needed.  What
# changes nothing but the project's cache is not asked about, only said:
# apt-get update (this machine's package lists, to find a kernel),
# apt-get download and source into $SNP_CACHE, the unstable lists kept there.

: "${SNP_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SNP_CACHE:=$SNP_TOP/.cache}"
: "${SNP_LOG_PREFIX:=snpsafe}"
export DEBIAN_FRONTEND=noninteractive

# Kernels the project pins (they were booted and measured); when Debian's
# archive no longer has one, the suite's meta-package decides.
SNP_PIN_6_1=6.1.0-56-amd64
SNP_PIN_6_12=6.12.95+deb12-amd64
# (tests/test_install.sh points it elsewhere)
: "${SNP_BACKPORTS_LIST:=/etc/apt/sources.list.d/snpsafe-backports.sources}"
: "${SNP_SECURITY_LIST:=/etc/apt/sources.list.d/snpsafe-security.sources}"

snp_log() { echo "$SNP_LOG_PREFIX: $*" >&2; }
snp_die() { echo "$SNP_LOG_PREFIX: FAIL: $*" >&2; exit 1; }

snp_consent() {	# snp_consent WHAT: what will change on this machine, one line
	local ans=""
	if [ "${SNPSAFE_INSTALL:-}" = 1 ] || [ "${CI:-}" = true ]; then
		snp_log "$1"
		return 0
	fi
	if [ -t 0 ] && [ -t 2 ]; then
		snp_log "to go on, this machine needs: $1"
		printf '%s: go ahead, as root (--install or SNPSAFE_INSTALL=1 would not ask)? [y/N] ' \
			"$SNP_LOG_PREFIX" >&2
		read -r ans || true
		case $ans in y|Y|yes|Yes|YES) return 0 ;; esac
		snp_die "stopped before: $1 (the answer was '$ans', not y)"
	fi
	snp_die "not done without consent: $1; run again with --install (snpsafe watch) or SNPSAFE_INSTALL=1 (scripts, make), or do it yourself as root"
}

snp_apt_updated=0
snp_apt_update() {
	if [ "$snp_apt_updated" = 0 ]; then
		snp_log "apt-get update"
		apt-get update -qq || snp_die "apt-get update failed"
		snp_apt_updated=1
	fi
}

snp_in_archive() { apt-cache show "$1" >/dev/null 2>&1; }

# The Debian mirror this machine's apt already uses for bookworm: the URI of
# the first deb822 stanza or one-line source whose suite is bookworm, so a
# user behind their own mirror stays on it.  No host is written here.
snp_debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{ u = ""; s = ""
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
				if ($i ~ /^Suites:/) s = " " $i " " }
			  if (u != "" && s ~ /[ \t]bookworm[ \t]/) { print u; exit } }' "$f")
		[ -n "$uri" ] && { echo "${uri%/}"; return 0; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++;
			if ($2 ~ /^\[/) i++; if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "${uri%/}"; return 0; }
	done
	return 1
}

# The backports source snp_backports adds, in words, for snp_consent.
snp_backports_text() {
	local mirror
	mirror=$(snp_debian_mirror) ||
		snp_die "no Debian bookworm source in this machine's apt sources to take a mirror from"
	echo "the apt source 'deb deb-src $mirror bookworm-backports main' as $SNP_BACKPORTS_LIST"
}

# The project's own deb822 sources file for one suite of a Debian archive.
snp_write_source() {	# snp_write_source FILE URI SUITE
	cat > "$1" <<-EOF
	Types: deb deb-src
	URIs: $2
	Suites: $3
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	snp_apt_updated=0
}

snp_backports() {	# snp_backports [agreed]: agreed when the caller's consent named it
	local mirror text
	if [ ! -f "$SNP_BACKPORTS_LIST" ]; then
		text=$(snp_backports_text) || exit 1
		[ "${1:-}" = agreed ] || snp_consent "add $text, then apt-get update"
		mirror=$(snp_debian_mirror)
		snp_log "adding bookworm-backports (deb, deb-src) from $mirror to apt: $SNP_BACKPORTS_LIST"
		snp_write_source "$SNP_BACKPORTS_LIST" "$mirror" bookworm-backports
	fi
	snp_apt_update
}

# Debian's security archive beside the machine's mirror: by the archive's own
# layout, .../debian has its security suites at .../debian-security (as
# deb.debian.org does).  Fails where the mirror is not laid out that way.
snp_security_mirror() {
	local mirror
	mirror=$(snp_debian_mirror) || return 1
	case $mirror in */debian) echo "$mirror-security" ;; *) return 1 ;; esac
}

# Whether apt already has a bookworm-security source (the debootstrap root
# CI starts from has none; a Debian install has one).
snp_have_security() {
	grep -qsE '(^|[[:space:]])bookworm-security([[:space:]/]|$)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

# snp_security: add bookworm-security (deb, deb-src) in the project's own
# sources file, with consent, so a pinned bookworm kernel that Debian moved
# to its security suite (6.1.0-56 = 6.1.192-2) is found on a machine whose apt
# lacks that suite.  Returns 1, changing nothing, where no security archive
# can be derived from the mirror; the caller then falls back.
snp_security() {
	local mirror
	snp_have_security && return 0
	[ -f "$SNP_SECURITY_LIST" ] && { snp_apt_update; return 0; }
	mirror=$(snp_security_mirror) || {
		snp_log "no bookworm-security source here, and none derivable from this machine's mirror"
		return 1
	}
	snp_consent "add the apt source 'deb deb-src $mirror bookworm-security main' as $SNP_SECURITY_LIST, then apt-get update"
	snp_log "adding bookworm-security (deb, deb-src) from $mirror to apt: $SNP_SECURITY_LIST"
	snp_write_source "$SNP_SECURITY_LIST" "$mirror" bookworm-security
	snp_apt_update
}

snp_install() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	snp_consent "apt-get install ${missing[*]} (Debian packages missing here)"
	snp_apt_update
	snp_log "apt-get install ${missing[*]}"
	mkdir -p "$SNP_CACHE"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$SNP_CACHE/apt-install.log" 2>&1 ||
		{ tail -n 30 "$SNP_CACHE/apt-install.log" >&2; snp_die "apt-get install ${missing[*]} failed"; }
}

snp_install_chromium() {
	command -v chromium >/dev/null 2>&1 && dpkg -s fonts-dejavu-core >/dev/null 2>&1 && return 0
	snp_install chromium fonts-dejavu-core
	command -v chromium >/dev/null 2>&1 || snp_die "chromium installed but not on PATH"
}

# QEMU's major version, or nothing where it is missing: the callers run
# under set -euo pipefail, where a missing command's 127 would end them
# without a word (a fresh machine did).
snp_qemu_major() {
	command -v qemu-system-x86_64 > /dev/null 2>&1 || return 0
	qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p' || true
}

snp_install_qemu() {
	local major src=""
	major=$(snp_qemu_major)
	if [ -z "$major" ] || [ "$major" -lt 10 ]; then
		if [ ! -f "$SNP_BACKPORTS_LIST" ]; then
			src=$(snp_backports_text) || exit 1
		fi
		snp_consent "${src:+add $src, then }apt-get install -t bookworm-backports qemu-system-x86 (QEMU ${major:-is missing here}${major:+ here}; watch and kmod-test need 10 or later)"
		snp_backports agreed
		mkdir -p "$SNP_CACHE"
		snp_log "apt-get install -t bookworm-backports qemu-system-x86 (QEMU 10: plugin API with register and memory reads)"
		apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 \
			> "$SNP_CACHE/apt-qemu.log" 2>&1 ||
			{ tail -n 30 "$SNP_CACHE/apt-qemu.log" >&2; snp_die "installing QEMU from bookworm-backports failed"; }
		major=$(snp_qemu_major)
		[ -n "$major" ] && [ "$major" -ge 10 ] || snp_die "QEMU $major installed; 10 or later is needed"
	fi
}

# The kernel a meta-package of a suite points at ("" if none).
snp_meta_kernel() {	# snp_meta_kernel SUITE
	local opt=()
	[ "$1" = bookworm-backports ] && opt=(-t bookworm-backports)
	apt-cache "${opt[@]}" depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n 1
}

snp_kernel_dir() { echo "$SNP_CACHE/kernels/linux-image-$1"; }
snp_have_kernel() { [ -f "$(snp_kernel_dir "$1")/boot/vmlinuz-$1" ]; }

snp_kernel_resolve() {	# prints the Debian kernel version for 6.1 | 6.12 | <ver>-amd64
	local name=$1 pin suite kver
	case $name in
	6.1) pin=$SNP_PIN_6_1; suite=bookworm ;;
	6.12) pin=$SNP_PIN_6_12; suite=bookworm-backports ;;
	*-amd64) echo "$name"; return 0 ;;
	*) snp_die "unknown kernel '$name' (6.1, 6.12 or a Debian version such as $SNP_PIN_6_1)" ;;
	esac
	if snp_have_kernel "$pin"; then echo "$pin"; return 0; fi
	[ "$suite" = bookworm-backports ] && snp_backports
	snp_apt_update
	if snp_in_archive "linux-image-$pin"; then echo "$pin"; return 0; fi
	# A bookworm pin may live in the security suite only.
	if [ "$suite" = bookworm ] && snp_security && snp_in_archive "linux-image-$pin"; then
		echo "$pin"; return 0
	fi
	kver=$(snp_meta_kernel "$suite")
	[ -n "$kver" ] || snp_die "no $name kernel in Debian's $suite"
	snp_log "pinned $pin is gone from the archive; using $kver"
	echo "$kver"
}

snp_kernel_fetch() {	# snp_kernel_fetch KVER
	local kver=$1 dir deb dl
	snp_have_kernel "$kver" && return 0
	case $kver in *+deb12*|*bpo*) snp_backports ;; esac
	snp_apt_update
	dir=$(snp_kernel_dir "$kver")
	dl=$SNP_CACHE/dl.$$
	snp_log "apt-get download linux-image-$kver (unpacked into $SNP_CACHE/kernels, not installed)"
	rm -rf "$dl" "$dir" "$dir.tmp"
	mkdir -p "$dl" "$SNP_CACHE/kernels"
	# The _apt user may not write here; apt then downloads as root and warns.
	(cd "$dl" && apt-get download -qq "linux-image-$kver" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	deb=$(ls "$dl"/linux-image-"$kver"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || snp_die "apt-get download linux-image-$kver failed"
	dpkg-deb -x "$deb" "$dir.tmp"
	mv "$dir.tmp" "$dir"
	rm -rf "$dl"
	snp_have_kernel "$kver" || snp_die "no vmlinuz in linux-image-$kver"
}

snp_headers_dir() { echo "$SNP_CACHE/kernels/headers-$1/usr/src/linux-headers-$1"; }

# What building a module against the headers in KDIR runs besides make and
# gcc: pahole (Debian's dwarves) where the kernel gives modules BTF
# (CONFIG_DEBUG_INFO_BTF_MODULES, set in Debian's 6.12), and the compiler the
# kernel was built with when it is not this machine's gcc.
snp_kbuild_deps() {	# snp_kbuild_deps KDIR
	local cfg=$1/.config cc
	[ -f "$cfg" ] || snp_die "no .config in $1"
	if grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$cfg" && ! command -v pahole >/dev/null 2>&1; then
		snp_install dwarves
	fi
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(x86_64-linux-gnu-\)\{0,1\}\(gcc-[0-9]*\) .*/\2/p' "$cfg")
	if [ -n "$cc" ] && ! command -v "$cc" >/dev/null 2>&1; then
		snp_install "$cc"
	fi
}

snp_headers_fetch() {	# snp_headers_fetch KVER; prints the headers folder
	local kver=$1 root dl pkgs deb
	root=$SNP_CACHE/kernels/headers-$kver
	if [ ! -f "$(snp_headers_dir "$kver")/Makefile" ]; then
		case $kver in *+deb12*|*bpo*) snp_backports ;; esac
		snp_apt_update
		# The headers, their -common half and the kbuild tools they point at.
		pkgs=("linux-headers-$kver")
		pkgs+=($(apt-cache depends "linux-headers-$kver" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\)$/\1/p'))
		dl=$SNP_CACHE/dl.$$
		rm -rf "$dl" "$root" && mkdir -p "$dl"
		snp_log "apt-get download ${pkgs[*]} (unpacked into $SNP_CACHE/kernels, not installed)"
		(cd "$dl" && apt-get download -qq "${pkgs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
		for deb in "$dl"/*.deb; do
			[ -f "$deb" ] || snp_die "apt-get download ${pkgs[*]} failed"
			dpkg-deb -x "$deb" "$root"
		done
		rm -rf "$dl"
		[ -f "$(snp_headers_dir "$kver")/Makefile" ] || snp_die "no headers for $kver"
		# Debian's headers name their -common half and kbuild by absolute
		# /usr/src and /usr/lib paths: point those at the unpacked copy.
		grep -rlE '/usr/(src|lib)/linux-(headers|kbuild)-' "$root/usr/src" --include=Makefile* 2>/dev/null |
			xargs -r sed -i -E "s#(^|[ =])/usr/(src|lib)/linux-(headers|kbuild)-#\1$root/usr/\2/linux-\3-#g"
	elif ! grep -qF "$root/usr/" "$(snp_headers_dir "$kver")/Makefile"; then
		# A copied cache (another checkout's .cache): point the paths here.
		grep -rlF "/kernels/headers-$kver/usr/" "$root/usr/src" --include=Makefile* 2>/dev/null |
			xargs -r sed -i "s#[^ =]*/kernels/headers-$kver/usr/#$root/usr/#g"
	fi
	snp_kbuild_deps "$(snp_headers_dir "$kver")"
	snp_headers_dir "$kver"
}

# qemu-plugin.h of the installed QEMU: Debian ships no such header, so take it
# from the source package of the same version (only that file is kept).
snp_qemu_plugin_header() {
	local full up dir tmp tarball
	full=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null) || snp_die "qemu-system-x86 is not installed"
	up=${full#*:}; up=${up%%-*}; up=${up%+ds}; up=${up%+dfsg}
	dir=$SNP_CACHE/qemu-plugin-$up
	if [ ! -f "$dir/qemu-plugin.h" ]; then
		snp_backports
		tmp=$SNP_CACHE/qemu-src.$$
		rm -rf "$tmp" && mkdir -p "$tmp"
		snp_log "fetching qemu-plugin.h from Debian's qemu $full source package"
		# The .dsc may be missing from the mirror while the upstream tarball
		# is there; only the tarball is needed.
		(cd "$tmp" && apt-get source --download-only -qq "qemu=$full" > "$tmp/apt.log" 2>&1 || true)
		tarball=$(ls "$tmp"/qemu_*.orig.tar.* 2>/dev/null | head -n 1)
		[ -n "$tarball" ] || { cat "$tmp/apt.log" >&2; snp_die "no QEMU $full source in the archive"; }
		tar -xf "$tarball" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h' ||
			snp_die "no include/qemu/qemu-plugin.h in $(basename "$tarball")"
		mkdir -p "$dir"
		mv "$(find "$tmp" -name qemu-plugin.h | head -n 1)" "$dir/qemu-plugin.h"
		rm -rf "$tmp"
	fi
	echo "$dir"
}

# Debian unstable, for the newest kernel source only, through an apt
# configuration of the project's own (a sources file, lists and cache under
# $SNP_CACHE/apt-unstable, passed with -o options); never added to this
# machine's apt.  Sets the array SNP_UNSTABLE_APT to those options.
# Unstable's Release file is valid for a week only; a mirror that serves a
# snapshot of the archive (as CI's does) serves an expired one, so its
# Valid-Until is not enforced here.  The signature still is.
snp_unstable_apt() {
	local d=$SNP_CACHE/apt-unstable mirror
	mirror=$(snp_debian_mirror) || snp_die "no Debian bookworm source in this machine's apt sources to take a mirror from"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb $mirror unstable main" > "$d/sources.list"
	SNP_UNSTABLE_APT=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/none"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Dir::State::Status=/dev/null"
		-o "APT::Architecture=amd64" -o "Debug::NoLocking=1"
		-o "Acquire::Check-Valid-Until=false")
	if [ ! -f "$d/updated" ]; then
		snp_log "apt-get update of Debian unstable in the project's own apt configuration ($d)"
		apt-get "${SNP_UNSTABLE_APT[@]}" update -qq > "$d/update.log" 2>&1 ||
			{ tail -n 5 "$d/update.log" >&2; snp_die "apt-get update (unstable, own configuration) failed"; }
		touch "$d/updated"
	fi
}

# The Debian source of kernel series SERIES (6.12, 7.2) at package version
# VERSION: linux-source-SERIES, downloaded (not installed) and unpacked into
# $SNP_CACHE/ksrc/linux-source-VERSION, keeping what the kvm_amd patch and
# its checks need: arch/x86/kvm, the headers, scripts/ (checkpatch.pl and its
# data) and the top-level files that make checkpatch treat it as a tree.
# Extra arguments are apt options (SNP_UNSTABLE_APT).  Prints the folder.
snp_linux_source() {	# snp_linux_source SERIES VERSION [APT-OPTION...]
	local series=$1 ver=$2 dir dl deb
	shift 2
	dir=$SNP_CACHE/ksrc/linux-source-$ver
	if [ ! -f "$dir/arch/x86/kvm/svm/sev.c" ]; then
		snp_install xz-utils
		dl=$SNP_CACHE/dl.$$
		rm -rf "$dl" "$dir" "$dir.tmp" && mkdir -p "$dl" "$dir.tmp"
		snp_log "apt-get download linux-source-$series=$ver (unpacked into $SNP_CACHE/ksrc, not installed)"
		(cd "$dl" && apt-get "$@" download -qq "linux-source-$series=$ver" 2>&1 |
			grep -v '^W: Download is performed unsandboxed' || true) >&2
		deb=$(ls "$dl"/linux-source-"$series"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || snp_die "apt-get download linux-source-$series=$ver failed"
		dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/linux-source-*.tar.xz' |
			tar -xJ -C "$dir.tmp" --strip-components=1 --wildcards \
				'*/arch/x86/kvm/*' '*/arch/x86/include/*' '*/include/*' '*/scripts/*' \
				"linux-source-$series/COPYING" "linux-source-$series/CREDITS" \
				"linux-source-$series/Kbuild" "linux-source-$series/MAINTAINERS" \
				"linux-source-$series/Makefile" "linux-source-$series/README" ||
			snp_die "unpacking linux-source-$series=$ver failed"
		# checkpatch.pl knows a tree by these top-level folders.
		mkdir -p "$dir.tmp"/{Documentation,drivers,fs,init,ipc,kernel,lib}
		rm -rf "$dl"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}
