// SPDX-License-Identifier: MIT
/*
 * host_kernel.c - facts about the running kernel for `snpsafe host`: its
 * version, the symbols that show the SNP host code and the workaround
 * (snp_safe_alloc_page in v6.9-v6.10, snp_safe_alloc_page_node from v6.11,
 * arch/x86/kvm/svm/sev.c; snp-facts §7), kvm_amd and its parameters, /dev/sev
 * and the kernel log lines about SEV, SNP and the RMP.
 */
#include "host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <unistd.h>

/* "Linux version 6.12.38+deb13-amd64 (...)" -> "6.12.38+deb13-amd64", 6, 12. */
static SNP_MUST_CHECK int parse_version(struct host_src *s, const char *text, struct host_kernel *k)
{
	static const char prefix[] = "Linux version ";
	const char *v = text;
	size_t n;

	if (!strncmp(v, prefix, sizeof(prefix) - 1))
		v += sizeof(prefix) - 1;
	else if (s->root)
		return host_err(s, "%s/proc/version: '%.40s' does not start with '%s'", s->root,
				text, prefix);
	n = strcspn(v, " \t\n");
	snprintf(k->version, sizeof(k->version), "%.*s", (int)n, v);
	if (sscanf(k->version, "%u.%u", &k->major, &k->minor) != 2) {
		k->major = k->minor = 0;
		if (s->root)
			return host_err(s, "%s/proc/version: '%s' is not a kernel version",
					s->root, k->version);
	}
	return 0;
}

static SNP_MUST_CHECK int read_version(struct host_src *s, struct host_kernel *k)
{
	char buf[HOST_LINE_LEN * 2];
	struct utsname u;

	k->version_state = host_read_small(s, "/proc/version", buf, sizeof(buf));
	if (k->version_state == HOST_OK && !buf[0] && s->root)
		return host_err(s, "%s/proc/version: empty (every fixture needs the kernel version, "
				"'Linux version X.Y.Z ...')", s->root);
	if (k->version_state == HOST_OK)
		return parse_version(s, buf, k);
	if (s->root)
		return host_err(s, "%s/proc/version: missing (every fixture needs the kernel version)",
				s->root);
	if (uname(&u))
		return 0;
	k->version_state = HOST_OK;
	snprintf(buf, sizeof(buf), "Linux version %s", u.release);
	return parse_version(s, buf, k);
}

/* Symbol names in /proc/kallsyms ("addr type name [module]"); names show even without root. */
static void read_kallsyms(struct host_src *s, struct host_kernel *k)
{
	char p[512], line[512], name[HOST_SYM_LEN + 1];
	FILE *f;

	host_path(s, "/proc/kallsyms", p, sizeof(p));
	f = fopen(p, "r");
	if (!f) {
		k->kallsyms_state = host_errno_state(errno);
		return;
	}
	k->kallsyms_state = HOST_OK;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %64s", name) != 1)
			continue;
		if (!strcmp(name, "snp_safe_alloc_page_node"))
			strcpy(k->workaround_sym, "snp_safe_alloc_page_node");
		else if (!strcmp(name, "snp_safe_alloc_page") && !k->workaround_sym[0])
			strcpy(k->workaround_sym, "snp_safe_alloc_page");
		else if (!strcmp(name, "svm_vcpu_create"))
			k->kvm_symbols = true;
		else if (!strcmp(name, "snp_rmptable_init") || !strcmp(name, "rmpupdate"))
			k->snp_host_symbols = true;
	}
	fclose(f);
}

/* A kvm_amd bool or int parameter: Y, N, an integer, or "auto". */
static bool param_ok(const char *v)
{
	const char *d = v + (*v == '-');

	if (!strcmp(v, "Y") || !strcmp(v, "N") || !strcmp(v, "auto"))
		return true;
	if (!*d)
		return false;
	return strspn(d, "0123456789") == strlen(d);
}

const char *const host_kvm_amd_params[HOST_NR_PARAMS] = { "sev", "sev_es", "sev_snp", "avic" };

static SNP_MUST_CHECK int read_params(struct host_src *s, struct host_kernel *k)
{
	char *const dst[HOST_NR_PARAMS] = { k->sev, k->sev_es, k->sev_snp, k->avic };
	char path[128], full[512], buf[64];

	k->kvm_amd_loaded = host_exists(s, "/sys/module/kvm_amd") == HOST_OK;
	for (unsigned int i = 0; i < HOST_NR_PARAMS; i++) {
		snprintf(path, sizeof(path), "/sys/module/kvm_amd/parameters/%s", host_kvm_amd_params[i]);
		if (host_read_small(s, path, buf, sizeof(buf)) != HOST_OK)
			continue;
		if (!param_ok(buf)) {
			host_path(s, path, full, sizeof(full));
			return host_err(s, "%s: '%.20s' is not Y, N or a number", full, buf);
		}
		snprintf(dst[i], 8, "%.7s", buf);
	}
	return 0;
}

/*
 * Keep a kernel log line when it is about SEV, SNP or the RMP: "SEV-SNP: RMP
 * table physical range", "kvm_amd: SEV-SNP enabled", the ccp driver's
 * "ccp 0000:45:00.1: sev enabled" (lower case, hence ": sev").
 */
static void dmesg_line(struct host_kernel *k, const char *line, size_t len)
{
	char buf[HOST_LINE_LEN];

	snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
	if (!strstr(buf, "SEV") && !strstr(buf, "RMP") && !strstr(buf, ": sev") &&
	    !strstr(buf, "HvInUseWrAllowed"))
		return;
	if (strstr(buf, "RMP table physical range"))
		k->dmesg_rmp = true;
	if (strstr(buf, "missing HvInUseWrAllowed"))
		k->dmesg_avic_inuse = true;
	if (k->nr_dmesg < HOST_MAX_DMESG)
		memcpy(k->dmesg[k->nr_dmesg++], buf, sizeof(buf));
}

/* Plain text, one message a line: the fixture's dmesg file and klogctl's buffer. */
static void dmesg_text(struct host_kernel *k, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		dmesg_line(k, text, n);
		text += n + (text[n] == '\n');
	}
}

/* /dev/kmsg: one record per read, "prio,seq,time,flags;message\n..." */
static enum host_state dmesg_kmsg(struct host_kernel *k)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char rec[2048];
	ssize_t n;

	if (fd < 0)
		return host_errno_state(errno);
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;          /* overwritten while we read: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		char *msg = strchr(rec, ';');

		if (msg)
			dmesg_line(k, msg + 1, strcspn(msg + 1, "\n"));
	}
	close(fd);
	return HOST_OK;
}

/* klogctl(SYSLOG_ACTION_SIZE_BUFFER = 10, SYSLOG_ACTION_READ_ALL = 3). */
static enum host_state dmesg_klogctl(struct host_kernel *k)
{
	int size = klogctl(10, NULL, 0), n;
	char *buf;

	if (size <= 0)
		return host_errno_state(errno);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return HOST_ABSENT;
	n = klogctl(3, buf, size);
	if (n < 0) {
		free(buf);
		return host_errno_state(errno);
	}
	buf[n] = '\0';
	dmesg_text(k, buf);
	free(buf);
	return HOST_OK;
}

static void read_dmesg(struct host_src *s, struct host_kernel *k)
{
	char p[512], *text;
	FILE *f;
	long len;

	k->dmesg_state = HOST_ABSENT;
	if (!s->root) {
		k->dmesg_state = dmesg_kmsg(k);
		if (k->dmesg_state != HOST_OK)
			k->dmesg_state = dmesg_klogctl(k);
		return;
	}
	host_path(s, "/dmesg", p, sizeof(p));
	f = fopen(p, "r");
	if (!f) {
		k->dmesg_state = HOST_ABSENT;
		return;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = len >= 0 ? calloc(1, (size_t)len + 1) : NULL;
	if (text && fread(text, 1, (size_t)len, f) == (size_t)len) {
		k->dmesg_state = HOST_OK;
		dmesg_text(k, text);
	}
	free(text);
	fclose(f);
}

int host_read_kernel(struct host_src *s, struct host_kernel *k)
{
	int ret = read_version(s, k);

	if (ret)
		return ret;
	read_kallsyms(s, k);
	ret = read_params(s, k);
	if (ret)
		return ret;
	k->dev_sev_state = host_exists(s, "/dev/sev");
	read_dmesg(s, k);
	return 0;
}
