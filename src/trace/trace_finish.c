// SPDX-License-Identifier: MIT
/*
 * trace_finish.c - turn the plugin's raw trace into the one snpsafe keeps:
 * the run's strings (kernel, workload, command) and the names of the kernel
 * functions that stored, taken from the watched kernel's /proc/kallsyms.
 *
 * The plugin cannot name functions itself: QEMU only knows symbols of an ELF
 * it loaded, and a bzImage and its modules (kvm_amd) are not that.  So the
 * watched guest prints /proc/kallsyms at the end of the run and this pass
 * keeps, of its ~100k text symbols, only those holding a recorded pc.
 */
#include <snpsafe/trace.h>
#include <snpsafe/common.h>

#include "trace_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ksym {
	uint64_t addr;
	char *name;
	bool used;
};

struct ksyms {
	struct ksym *v;
	size_t nr, cap;
};

static void ksyms_free(struct ksyms *k)
{
	for (size_t i = 0; i < k->nr; i++)
		free(k->v[i].name);
	free(k->v);
}

static SNP_MUST_CHECK int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Text symbols ("t"/"T") of a kallsyms file, sorted by address, one per
 * address.  A module's symbols keep their "[module]" tag in the name.
 */
static SNP_MUST_CHECK int ksyms_load(const char *path, struct ksyms *k, char *err, size_t errlen)
{
	char line[512], name[256], mod[128], why[SNP_TRACE_ERR_LEN];
	uint64_t addr, lines = 0;
	int ret;
	FILE *f = trace_open_input(path, "r", "a kallsyms listing", why, sizeof(why), &ret);
	char type;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, why);
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, "%" SCNx64 " %c %255s %127s", &addr, &type, name, mod);

		lines++;

		if (n < 3 || (type != 't' && type != 'T') || addr == 0)
			continue;
		if (k->nr == k->cap) {
			size_t cap = k->cap ? 2 * k->cap : 4096;
			struct ksym *v = realloc(k->v, cap * sizeof(*v));

			if (!v)
				goto nomem;
			k->v = v;
			k->cap = cap;
		}
		if (n == 4)
			snprintf(line, sizeof(line), "%s %s", name, mod);
		else
			snprintf(line, sizeof(line), "%s", name);
		k->v[k->nr].name = strdup(line);
		if (!k->v[k->nr].name)
			goto nomem;
		k->v[k->nr].addr = addr;
		k->v[k->nr++].used = false;
	}
	fclose(f);
	/* the guest prints it at the end of the run: nothing means it never did */
	if (!lines) {
		snprintf(err, errlen, "%s: empty, not a kallsyms listing", path);
		return SNP_EINVAL;
	}
	qsort(k->v, k->nr, sizeof(*k->v), cmp_ksym);
	return 0;
nomem:
	fclose(f);
	snprintf(err, errlen, "out of memory reading %s", path);
	return SNP_ENOMEM;
}

static struct ksym *ksyms_find(struct ksyms *k, uint64_t pc)
{
	size_t lo = trace_addr_upper_bound(k->v, k->nr, sizeof(*k->v), pc);

	return lo ? &k->v[lo - 1] : NULL;
}

/* Mark the symbol of every store's pc; 0 or a negative code (the raw trace is bad). */
static SNP_MUST_CHECK int mark_used(const char *in_path, struct ksyms *k, char *err, size_t errlen)
{
	struct snp_trace_event ev;
	struct snp_trace *t;
	int ret = trace_open_named(in_path, &t, err, errlen);

	if (ret)
		return ret;
	while ((ret = snp_trace_next(t, &ev)) > 0) {
		struct ksym *s = ev.type == SNP_TR_STORE ? ksyms_find(k, ev.pc) : NULL;

		if (s)
			s->used = true;
	}
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", in_path, snp_trace_error(t));
	snp_trace_close(t);
	return ret;
}

static SNP_MUST_CHECK int put_str(struct snp_trace_writer *w, enum snp_trace_key key, const char *s)
{
	struct snp_trace_event ev = { .type = SNP_TR_STR, .arg = (uint8_t)key, .str = s };

	if (!s || !*s)
		return 0;
	return snp_trace_write(w, &ev);
}

static SNP_MUST_CHECK int put_syms(struct snp_trace_writer *w, const struct ksyms *k)
{
	int ret = 0;

	for (size_t i = 0; i < k->nr && !ret; i++) {
		struct snp_trace_event ev = { .type = SNP_TR_SYM, .pc = k->v[i].addr,
					      .str = k->v[i].name };

		if (k->v[i].used && (i + 1 == k->nr || k->v[i + 1].addr != k->v[i].addr))
			ret = snp_trace_write(w, &ev);
	}
	return ret;
}

/* Copy the raw trace's records (not its END) after the header records. */
static SNP_MUST_CHECK int copy_records(struct snp_trace *t, struct snp_trace_writer *w, const char *in_path,
			char *err, size_t errlen)
{
	struct snp_trace_event ev;
	int ret;

	while ((ret = snp_trace_next(t, &ev)) > 0) {
		if (ev.type == SNP_TR_SYM || ev.type == SNP_TR_STR)
			continue;          /* a finished trace finished again: keep the new ones */
		if (snp_trace_write(w, &ev))
			break;
	}
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", in_path, snp_trace_error(t));
	return ret;
}

int snp_trace_finish(const char *in_path, const char *out_path, const char *kallsyms_path,
		     const char *kernel, const char *workload, const char *command,
		     char *err, size_t errlen)
{
	struct snp_trace_writer *w = NULL;
	struct ksyms k = { 0 };
	struct snp_trace_info info;
	struct snp_trace *t = NULL;
	uint64_t seen, dropped;
	int ret;

	if (kallsyms_path && ((ret = ksyms_load(kallsyms_path, &k, err, errlen)) ||
			      (ret = mark_used(in_path, &k, err, errlen))))
		goto out;
	ret = trace_open_named(in_path, &t, err, errlen);
	if (ret)
		goto out;
	info = *snp_trace_get_info(t);
	if (kallsyms_path)
		info.flags |= SNP_TRACE_F_SYMBOLS;
	ret = snp_trace_writer_open(out_path, &info, &w, err, errlen);
	if (ret)
		goto out;
	ret = put_str(w, SNP_TRK_KERNEL, kernel);
	ret = ret ? ret : put_str(w, SNP_TRK_WORKLOAD, workload);
	ret = ret ? ret : put_str(w, SNP_TRK_COMMAND, command);
	ret = ret ? ret : put_syms(w, &k);
	if (ret) {
		snprintf(err, errlen, "%s: write failed", out_path);
		goto out;
	}
	ret = copy_records(t, w, in_path, err, errlen);
	if (ret < 0)
		goto out;
	snp_trace_end_counts(t, &seen, &dropped);
	ret = snp_trace_writer_close(w, seen, dropped);
	w = NULL;
	if (ret)
		snprintf(err, errlen, "%s: write failed (disk full?)", out_path);
out:
	if (w)
		snp_trace_writer_abandon(w);
	snp_trace_close(t);
	ksyms_free(&k);
	return ret < 0 ? ret : 0;
}
