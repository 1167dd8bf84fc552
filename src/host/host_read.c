// SPDX-License-Identifier: MIT
/*
 * host_read.c - where `snpsafe host` gets its facts: the live machine (the
 * cpuid instruction, /dev/cpu/0/{cpuid,msr}, /proc, /sys, /dev/kmsg) or a
 * fixture folder with the same paths plus two text files for the registers
 * (docs/HOST.md).  Read-only: every open is O_RDONLY, nothing is written.
 * A file that exists but is not readable (EACCES/EPERM) is HOST_NEEDS_ROOT.
 */
#include "host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HOST_HAVE_CPUID_INSN 1
#else
#define HOST_HAVE_CPUID_INSN 0
#endif

int host_err(struct host_src *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	return SNP_EINVAL;
}

/* root + path ("/proc/version" -> "DIR/proc/version"), or path when live. */
void host_path(const struct host_src *s, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", s->root ? s->root : "", path);
}

enum host_state host_errno_state(int e)
{
	return (e == EACCES || e == EPERM) ? HOST_NEEDS_ROOT : HOST_ABSENT;
}

/*
 * Read a whole small file into buf (NUL-terminated, trailing newline cut).
 * Returns HOST_OK, HOST_ABSENT or HOST_NEEDS_ROOT.
 */
enum host_state host_read_small(const struct host_src *s, const char *path, char *buf, size_t len)
{
	char p[512];
	ssize_t n;
	int fd;

	host_path(s, path, p, sizeof(p));
	buf[0] = '\0';
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return host_errno_state(errno);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return host_errno_state(errno);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return HOST_OK;
}

/* A directory at a fixture's path: the one-line error; else 0. */
static SNP_MUST_CHECK int fixture_not_dir(struct host_src *s, const char *path)
{
	char p[512];
	struct stat st;

	host_path(s, path, p, sizeof(p));
	if (!stat(p, &st) && S_ISDIR(st.st_mode))
		return host_err(s, "%s: a directory, not a file (a fixture's files: docs/HOST.md)", p);
	return 0;
}

int host_fixture_check(struct host_src *s)
{
	static const char *const files[] = { "/cpuid", "/msr", "/proc/version", "/proc/kallsyms",
					     "/dmesg" };
	char path[128];

	for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (fixture_not_dir(s, files[i]))
			return SNP_EINVAL;
	for (unsigned int i = 0; i < HOST_NR_PARAMS; i++) {
		snprintf(path, sizeof(path), "/sys/module/kvm_amd/parameters/%s", host_kvm_amd_params[i]);
		if (fixture_not_dir(s, path))
			return SNP_EINVAL;
	}
	return 0;
}

enum host_state host_exists(const struct host_src *s, const char *path)
{
	char p[512];
	struct stat st;

	host_path(s, path, p, sizeof(p));
	if (stat(p, &st))
		return host_errno_state(errno);
	return HOST_OK;
}

/* ---- register files of a fixture: "leaf subleaf eax ebx ecx edx", "msr value" ---- */

/* Strict hex (optional 0x), the whole token, at most 64 bits. */
static bool parse_hex(const char *t, uint64_t *out)
{
	char *end;

	if (!*t || *t == '-' || *t == '+')
		return false;
	errno = 0;
	*out = strtoull(t, &end, 16);
	return !errno && *end == '\0';
}

/*
 * Split a line into up to max blank-separated tokens; '#' starts a comment.
 * Returns the number of tokens.
 */
static unsigned int tokenize(char *line, char **tok, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL, *t;

	line[strcspn(line, "#\r\n")] = '\0';
	for (t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = t;
	}
	return n;
}

/*
 * Find one record of a fixture register file.  file is "cpuid" (key: leaf
 * and subleaf, four values) or "msr" (key: msr, one value or "needs-root").
 * Returns 0 and the values, SNP_ENOENT when the key has no line, or
 * SNP_EINVAL (message set) for a line that is not a record.
 */
static SNP_MUST_CHECK int fixture_lookup(struct host_src *s, const char *file, unsigned int nkey,
			  const uint64_t *key, uint64_t *val, unsigned int nval, bool *needs_root)
{
	char p[512], line[256], copy[256], *tok[8];
	unsigned int lineno = 0, n;
	int ret = SNP_ENOENT;
	FILE *f;

	host_path(s, file, p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return host_err(s, "%s: %s (a fixture's %s values, see docs/HOST.md)", p,
				strerror(errno), nkey == 2 ? "CPUID" : "MSR");
	while (ret == SNP_ENOENT && fgets(line, sizeof(line), f)) {
		uint64_t k[2], v[4];
		bool match = true;

		lineno++;
		snprintf(copy, sizeof(copy), "%s", line);
		copy[strcspn(copy, "\r\n")] = '\0';
		n = tokenize(line, tok, 8);
		if (n == 0)
			continue;
		if (n != nkey + nval) {
			ret = host_err(s, "%s line %u: '%s' is not '%s'", p, lineno, copy,
				       nkey == 2 ? "leaf subleaf eax ebx ecx edx" : "msr value");
			break;
		}
		for (unsigned int i = 0; i < nkey; i++) {
			if (!parse_hex(tok[i], &k[i])) {
				ret = host_err(s, "%s line %u: '%s' is not a hex number", p, lineno, tok[i]);
				goto out;
			}
			match &= k[i] == key[i];
		}
		if (nval == 1 && !strcmp(tok[nkey], "needs-root")) {
			if (match) {
				*needs_root = true;
				ret = 0;
			}
			continue;
		}
		for (unsigned int i = 0; i < nval; i++) {
			if (!parse_hex(tok[nkey + i], &v[i]) || (nkey == 2 && v[i] > UINT32_MAX)) {
				ret = host_err(s, "%s line %u: '%s' is not a %s hex number", p, lineno,
					       tok[nkey + i], nkey == 2 ? "32-bit" : "64-bit");
				goto out;
			}
		}
		if (match) {
			memcpy(val, v, nval * sizeof(*v));
			ret = 0;
		}
	}
	if (!lineno && nkey == 2)
		ret = host_err(s, "%s: empty (a fixture's CPUID values, a line per leaf: docs/HOST.md)", p);
out:
	fclose(f);
	return ret;
}

/* ---- CPUID ---- */

#if HOST_HAVE_CPUID_INSN
static void cpuid_insn(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	unsigned int a, b, c, d;

	__cpuid_count(leaf, sub, a, b, c, d);
	r[0] = a; r[1] = b; r[2] = c; r[3] = d;
}
#endif

/* /dev/cpu/0/cpuid: pread at offset leaf | subleaf << 32 gives EAX EBX ECX EDX. */
static enum host_state cpuid_dev(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	int fd = open("/dev/cpu/0/cpuid", O_RDONLY | O_CLOEXEC);
	enum host_state st = HOST_OK;

	if (fd < 0)
		return host_errno_state(errno);
	if (pread(fd, r, 16, (off_t)((uint64_t)sub << 32 | leaf)) != 16)
		st = host_errno_state(errno);
	close(fd);
	return st;
}

/*
 * One CPUID leaf.  Live: the instruction, or the cpuid device on a build
 * without it.  Fixture: the cpuid file; a leaf it lacks is SNP_ENOENT.
 */
int host_cpuid(struct host_src *s, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	uint64_t key[2] = { leaf, sub }, v[4];
	bool nr = false;
	int ret;

	if (!s->root) {
#if HOST_HAVE_CPUID_INSN
		cpuid_insn(leaf, sub, r);
		return 0;
#else
		return cpuid_dev(leaf, sub, r) == HOST_OK ? 0 : SNP_ENOENT;
#endif
	}
	ret = fixture_lookup(s, "/cpuid", 2, key, v, 4, &nr);
	if (ret)
		return ret;
	if (nr)
		return host_err(s, "%s/cpuid: CPUID is never root-only ('needs-root' is for msr)",
				s->root);
	for (int i = 0; i < 4; i++)
		r[i] = (uint32_t)v[i];
	return 0;
}

/* Live only: does /dev/cpu/0/cpuid give the same leaf as the instruction? */
enum host_state host_cpuid_dev_check(uint32_t leaf, const uint32_t want[4], bool *agrees)
{
	uint32_t r[4];
	enum host_state st = cpuid_dev(leaf, 0, r);

	*agrees = st == HOST_OK && !memcmp(r, want, sizeof(r));
	return st;
}

/* ---- MSRs ---- */

/*
 * One MSR.  Live: pread of 8 bytes at offset msr from /dev/cpu/0/msr (the
 * msr module; root).  Fixture: the msr file.  Sets *st; returns 0 or
 * SNP_EINVAL for a broken fixture.
 */
int host_msr(struct host_src *s, uint32_t msr, uint64_t *val, enum host_state *st)
{
	uint64_t key[1] = { msr };
	bool nr = false;
	int fd, ret;

	*val = 0;
	if (!s->root) {
		fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			*st = host_errno_state(errno);
			return 0;
		}
		*st = pread(fd, val, 8, msr) == 8 ? HOST_OK : host_errno_state(errno);
		close(fd);
		return 0;
	}
	if (host_exists(s, "/msr") != HOST_OK) {
		*st = HOST_ABSENT;
		return 0;
	}
	ret = fixture_lookup(s, "/msr", 1, key, val, 1, &nr);
	if (ret == SNP_ENOENT) {
		*st = HOST_ABSENT;
		return 0;
	}
	if (ret)
		return ret;
	*st = nr ? HOST_NEEDS_ROOT : HOST_OK;
	return 0;
}
