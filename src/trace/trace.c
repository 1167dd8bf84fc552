// SPDX-License-Identifier: MIT
/*
 * trace.c - read, write, summarize and finish watch traces (the format is
 * in snpsafe/trace.h and docs/TRACE.md).
 *
 * The reader trusts nothing: every field of every record is checked against
 * the header before it is handed out, a file that ends before its END record
 * is "truncated", and a header from a newer version is refused by name, so a
 * bad file always gives one line of reason and never a crash.
 */
#include <snpsafe/trace.h>
#include <snpsafe/common.h>

#include "trace_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- little-endian fields -------------------------------------------------------- */

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

void trace_set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

FILE *trace_open_input(const char *path, const char *mode, const char *what, char *err,
		       size_t errlen, int *code)
{
	FILE *f = fopen(path, mode);
	struct stat st;

	if (!f) {
		*code = errno == ENOENT ? SNP_ENOENT : SNP_EINVAL;
		trace_set_err(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		*code = SNP_EINVAL;
		trace_set_err(err, errlen, "a directory, not %s", what);
		return NULL;
	}
	return f;
}

const char *snp_trace_level_name(unsigned int level)
{
	static const char *const names[] = { "unknown", "4K", "2M", "1G" };

	return level <= SNP_TRL_1G ? names[level] : "?";
}

/* ---- header ------------------------------------------------------------------------- */

static void header_encode(unsigned char *h, const struct snp_trace_info *in)
{
	memset(h, 0, SNP_TRACE_HEADER_SIZE);
	memcpy(h, SNP_TRACE_MAGIC, 8);
	/* A rewrite keeps its input's version (snp_trace_finish); 0 is the current one. */
	put_le32(h + 8, in->version ? in->version : SNP_TRACE_VERSION);
	put_le32(h + 12, SNP_TRACE_HEADER_SIZE);
	put_le32(h + 16, in->nr_cpus);
	put_le32(h + 20, in->filter);
	put_le32(h + 24, in->flags);
	put_le64(h + 32, in->mem_bytes);
	put_le64(h + 40, in->direct_map_base);
}

/* Decode and check a header; 0 or SNP_EINVAL with the reason in err. */
static SNP_MUST_CHECK int header_decode(const unsigned char *h, size_t got, struct snp_trace_info *out,
			 char *err, size_t errlen)
{
	if (got == 0) {
		trace_set_err(err, errlen, "empty file (0 bytes), not a snpsafe trace");
		return SNP_EINVAL;
	}
	/* a short file that starts as a trace does is a cut one, not another kind of file */
	if (memcmp(h, SNP_TRACE_MAGIC, got < 8 ? got : 8)) {
		trace_set_err(err, errlen, "not a snpsafe trace (bad magic)");
		return SNP_EINVAL;
	}
	if (got < SNP_TRACE_HEADER_SIZE) {
		trace_set_err(err, errlen, "truncated header (%zu of %d bytes)", got, SNP_TRACE_HEADER_SIZE);
		return SNP_EINVAL;
	}
	out->version = get_le32(h + 8);
	if (out->version > SNP_TRACE_VERSION) {
		trace_set_err(err, errlen, "trace format version %" PRIu32 " is newer than this snpsafe reads (%d)",
			out->version, SNP_TRACE_VERSION);
		return SNP_EINVAL;
	}
	if (out->version == 0 || get_le32(h + 12) != SNP_TRACE_HEADER_SIZE) {
		trace_set_err(err, errlen, "corrupt header (version %" PRIu32 ", header size %" PRIu32 ")",
			out->version, get_le32(h + 12));
		return SNP_EINVAL;
	}
	out->nr_cpus = get_le32(h + 16);
	out->filter = get_le32(h + 20);
	out->flags = get_le32(h + 24);
	out->mem_bytes = get_le64(h + 32);
	out->direct_map_base = get_le64(h + 40);
	if (out->nr_cpus == 0 || out->nr_cpus > SNP_TRACE_MAX_CPUS) {
		trace_set_err(err, errlen, "corrupt header: %" PRIu32 " CPUs (1 to %d)", out->nr_cpus,
			SNP_TRACE_MAX_CPUS);
		return SNP_EINVAL;
	}
	if (out->filter >= SNP_TRACE_FILTER_NR || (out->flags & ~SNP_TRACE_F_ALL)) {
		trace_set_err(err, errlen, "corrupt header: filter %" PRIu32 ", flags 0x%" PRIx32,
			out->filter, out->flags);
		return SNP_EINVAL;
	}
	if (out->mem_bytes == 0 || out->mem_bytes > (1ULL << SNP_MAX_PHYS_BITS) ||
	    !snp_is_aligned(out->mem_bytes, SNP_PAGE_SIZE)) {
		trace_set_err(err, errlen, "corrupt header: memory size %" PRIu64 " bytes", out->mem_bytes);
		return SNP_EINVAL;
	}
	return 0;
}

/* ---- reader -------------------------------------------------------------------------- */

struct trace_sym {
	uint64_t addr;
	char *name;
};

struct snp_trace {
	FILE *f;
	struct snp_trace_info info;
	uint64_t nr_records;          /* records read, END excluded */
	bool ended;
	uint64_t end_seen, end_dropped;
	char *payload;                /* SNP_TRACE_MAX_PAYLOAD + 1 */
	struct trace_sym *syms;
	size_t nr_syms, cap_syms;
	char err[SNP_TRACE_ERR_LEN];
};

int snp_trace_open(const char *path, struct snp_trace **out, char *err, size_t errlen)
{
	unsigned char h[SNP_TRACE_HEADER_SIZE];
	struct snp_trace *t;
	size_t got;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->payload = malloc(SNP_TRACE_MAX_PAYLOAD + 1))) {
		free(t);
		trace_set_err(err, errlen, "out of memory");
		return SNP_ENOMEM;
	}
	t->f = trace_open_input(path, "rb", "a snpsafe trace", err, errlen, &ret);
	if (!t->f) {
		snp_trace_close(t);
		return ret;
	}
	got = fread(h, 1, sizeof(h), t->f);
	if (got < sizeof(h) && ferror(t->f)) {
		trace_set_err(err, errlen, "read error: %s", strerror(errno));
		ret = SNP_EINVAL;
	} else {
		ret = header_decode(h, got, &t->info, err, errlen);
	}
	if (ret) {
		snp_trace_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

int trace_open_named(const char *path, struct snp_trace **out, char *err, size_t errlen)
{
	char why[SNP_TRACE_ERR_LEN];
	int ret = snp_trace_open(path, out, why, sizeof(why));

	if (ret)
		trace_set_err(err, errlen, "%s: %s", path, why);
	return ret;
}

const struct snp_trace_info *snp_trace_get_info(const struct snp_trace *t)
{
	return &t->info;
}

const char *snp_trace_error(const struct snp_trace *t)
{
	return t->err;
}

void snp_trace_end_counts(const struct snp_trace *t, uint64_t *seen, uint64_t *dropped)
{
	*seen = t->end_seen;
	*dropped = t->end_dropped;
}

static SNP_MUST_CHECK int rec_error(struct snp_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static SNP_MUST_CHECK int rec_error(struct snp_trace *t, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(t->err, sizeof(t->err), "record %" PRIu64 ": %s", t->nr_records + 1, what);
	return SNP_EINVAL;
}

static bool type_has_cpu(unsigned int type)
{
	return type != SNP_TR_SYM && type != SNP_TR_STR && type != SNP_TR_END;
}

/* Check one decoded record against the format; 0 or a rec_error(). */
static SNP_MUST_CHECK int rec_check(struct snp_trace *t, const struct snp_trace_event *ev)
{
	const uint64_t pa_limit = 1ULL << SNP_MAX_PHYS_BITS;

	if (ev->type < 1 || ev->type > SNP_TR_TYPE_MAX)
		return rec_error(t, "unknown type %u", ev->type);
	if (type_has_cpu(ev->type) ? ev->cpu >= t->info.nr_cpus : ev->cpu != 0)
		return rec_error(t, "CPU %u out of range (the trace has %" PRIu32 ")", ev->cpu,
				 t->info.nr_cpus);
	if (ev->pa >= pa_limit && ev->type != SNP_TR_END && ev->type != SNP_TR_FLUSH)
		return rec_error(t, "physical address 0x%" PRIx64 " beyond %d bits", ev->pa,
				 SNP_MAX_PHYS_BITS);
	switch (ev->type) {
	case SNP_TR_VMRUN:
		/* Version 1 has no TLB_CONTROL; a byte not read is 0. */
		if (ev->level > (t->info.version >= SNP_TRACE_VERSION_TLBCTL ? SNP_TRACE_TLBCTL_READ : 0) ||
		    (ev->level != SNP_TRACE_TLBCTL_READ && ev->arg))
			return rec_error(t, "VMRUN with TLB_CONTROL %u, read flag %u (format version %" PRIu32 ")",
					 ev->arg, ev->level, t->info.version);
		break;
	case SNP_TR_VMRUN_PAGE:
		if (ev->arg != SNP_TRP_VMSA && ev->arg != SNP_TRP_AVIC)
			return rec_error(t, "unknown VMRUN page kind %u", ev->arg);
		break;
	case SNP_TR_STORE:
		if (ev->arg < 1 || ev->arg > 64 || ev->level > SNP_TRL_1G)
			return rec_error(t, "store of %u bytes at leaf level %u", ev->arg, ev->level);
		break;
	case SNP_TR_FLUSH:
		if (ev->arg < SNP_TRF_CR3 || ev->arg > SNP_TRF_INVPCID)
			return rec_error(t, "unknown flush kind %u", ev->arg);
		if (ev->arg == SNP_TRF_INVPCID && ev->len > 3)
			return rec_error(t, "INVPCID type %" PRIu32, ev->len);
		return 0;
	case SNP_TR_SYM:
	case SNP_TR_STR:
		if (ev->len == 0 || ev->len > SNP_TRACE_MAX_PAYLOAD)
			return rec_error(t, "payload of %" PRIu32 " bytes", ev->len);
		if (ev->type == SNP_TR_STR && (ev->arg < SNP_TRK_KERNEL || ev->arg > SNP_TRK_COMMAND))
			return rec_error(t, "unknown string key %u", ev->arg);
		return 0;
	default:
		break;
	}
	if (ev->len)
		return rec_error(t, "length field %" PRIu32 " on a record without payload", ev->len);
	return 0;
}

static SNP_MUST_CHECK int read_payload(struct snp_trace *t, struct snp_trace_event *ev)
{
	uint32_t padded = snp_trace_payload_padded(ev->len);
	char pad[8];

	if (fread(t->payload, 1, ev->len, t->f) != ev->len ||
	    fread(pad, 1, padded - ev->len, t->f) != padded - ev->len)
		return rec_error(t, "truncated payload");
	t->payload[ev->len] = '\0';
	if (strlen(t->payload) != ev->len)
		return rec_error(t, "NUL inside a string payload");
	ev->str = t->payload;
	return 0;
}

static SNP_MUST_CHECK int add_symbol(struct snp_trace *t, uint64_t addr, const char *name)
{
	if (t->nr_syms && t->syms[t->nr_syms - 1].addr >= addr)
		return rec_error(t, "symbol 0x%" PRIx64 " out of order", addr);
	if (t->nr_syms == t->cap_syms) {
		size_t cap = t->cap_syms ? 2 * t->cap_syms : 256;
		struct trace_sym *n = realloc(t->syms, cap * sizeof(*n));

		if (!n)
			return rec_error(t, "out of memory for symbols");
		t->syms = n;
		t->cap_syms = cap;
	}
	t->syms[t->nr_syms].name = strdup(name);
	if (!t->syms[t->nr_syms].name)
		return rec_error(t, "out of memory for symbols");
	t->syms[t->nr_syms++].addr = addr;
	return 0;
}

static SNP_MUST_CHECK int read_end(struct snp_trace *t, const struct snp_trace_event *ev)
{
	int c;

	if (ev->pa != t->nr_records)
		return rec_error(t, "END counts %" PRIu64 " records, the file has %" PRIu64,
				 ev->pa, t->nr_records);
	if (ev->pc > ev->va)
		return rec_error(t, "END drops %" PRIu64 " of %" PRIu64 " stores", ev->pc, ev->va);
	c = fgetc(t->f);
	if (c != EOF)
		return rec_error(t, "data after the END record");
	t->ended = true;
	t->end_seen = ev->va;
	t->end_dropped = ev->pc;
	return 0;
}

int snp_trace_next(struct snp_trace *t, struct snp_trace_event *ev)
{
	unsigned char r[SNP_TRACE_REC_SIZE];
	size_t got;
	int ret;

	if (t->ended)
		return 0;
	if (t->err[0])
		return SNP_EINVAL;
	got = fread(r, 1, sizeof(r), t->f);
	if (got != sizeof(r)) {
		if (got == 0 && feof(t->f))
			snprintf(t->err, sizeof(t->err), "truncated: no END record after %" PRIu64
				 " records (the run did not finish)", t->nr_records);
		else
			snprintf(t->err, sizeof(t->err), "truncated inside record %" PRIu64,
				 t->nr_records + 1);
		return SNP_EINVAL;
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = r[0];
	ev->cpu = r[1];
	ev->arg = r[2];
	ev->level = r[3];
	ev->len = get_le32(r + 4);
	ev->t_ns = get_le64(r + 8);
	ev->pa = get_le64(r + 16);
	ev->va = get_le64(r + 24);
	ev->pc = get_le64(r + 32);
	ret = rec_check(t, ev);
	if (!ret && (ev->type == SNP_TR_SYM || ev->type == SNP_TR_STR))
		ret = read_payload(t, ev);
	if (!ret && ev->type == SNP_TR_SYM)
		ret = add_symbol(t, ev->pc, ev->str);
	if (!ret && ev->type == SNP_TR_END)
		return read_end(t, ev) ? SNP_EINVAL : 0;
	if (ret)
		return ret;
	t->nr_records++;
	return 1;
}

const char *snp_trace_symbol(const struct snp_trace *t, uint64_t pc, uint64_t *off)
{
	size_t lo = trace_addr_upper_bound(t->syms, t->nr_syms, sizeof(*t->syms), pc);

	if (!lo)
		return NULL;
	if (off)
		*off = pc - t->syms[lo - 1].addr;
	return t->syms[lo - 1].name;
}

void snp_trace_close(struct snp_trace *t)
{
	if (!t)
		return;
	if (t->f)
		fclose(t->f);
	for (size_t i = 0; i < t->nr_syms; i++)
		free(t->syms[i].name);
	free(t->syms);
	free(t->payload);
	free(t);
}

/* ---- writer -------------------------------------------------------------------------- */

struct snp_trace_writer {
	FILE *f;
	uint64_t nr_records;
	bool failed;
};

int snp_trace_writer_open(const char *path, const struct snp_trace_info *info,
			  struct snp_trace_writer **out, char *err, size_t errlen)
{
	unsigned char h[SNP_TRACE_HEADER_SIZE];
	struct snp_trace_writer *w;

	*out = NULL;
	if (info->version > SNP_TRACE_VERSION) {
		trace_set_err(err, errlen, "trace format version %" PRIu32 " is newer than this snpsafe writes (%d)",
			      info->version, SNP_TRACE_VERSION);
		return SNP_EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		trace_set_err(err, errlen, "out of memory");
		return SNP_ENOMEM;
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		trace_set_err(err, errlen, "%s: %s", path, strerror(errno));
		free(w);
		return SNP_EINVAL;
	}
	header_encode(h, info);
	if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h)) {
		trace_set_err(err, errlen, "%s: %s", path, strerror(errno));
		fclose(w->f);
		free(w);
		return SNP_EINVAL;
	}
	*out = w;
	return 0;
}

static void rec_encode(unsigned char *r, const struct snp_trace_event *ev, uint32_t len)
{
	r[0] = ev->type;
	r[1] = ev->cpu;
	r[2] = ev->arg;
	r[3] = ev->level;
	put_le32(r + 4, len);
	put_le64(r + 8, ev->t_ns);
	put_le64(r + 16, ev->pa);
	put_le64(r + 24, ev->va);
	put_le64(r + 32, ev->pc);
}

int snp_trace_write(struct snp_trace_writer *w, const struct snp_trace_event *ev)
{
	unsigned char r[SNP_TRACE_REC_SIZE];
	static const char zeros[8];
	bool payload = ev->type == SNP_TR_SYM || ev->type == SNP_TR_STR;
	uint32_t len = payload ? (uint32_t)(ev->str ? strlen(ev->str) : 0) : ev->len;

	if (ev->type == SNP_TR_END || (payload && (len == 0 || len > SNP_TRACE_MAX_PAYLOAD)))
		return SNP_EINVAL;
	rec_encode(r, ev, len);
	if (fwrite(r, 1, sizeof(r), w->f) != sizeof(r))
		w->failed = true;
	if (payload && (fwrite(ev->str, 1, len, w->f) != len ||
			fwrite(zeros, 1, snp_trace_payload_padded(len) - len, w->f) !=
				snp_trace_payload_padded(len) - len))
		w->failed = true;
	w->nr_records++;
	return w->failed ? SNP_ENOSPC : 0;
}

int snp_trace_writer_close(struct snp_trace_writer *w, uint64_t stores_seen, uint64_t stores_dropped)
{
	struct snp_trace_event end = { .type = SNP_TR_END, .pa = w->nr_records,
				       .va = stores_seen, .pc = stores_dropped };
	unsigned char r[SNP_TRACE_REC_SIZE];
	bool failed = w->failed;

	rec_encode(r, &end, 0);
	if (fwrite(r, 1, sizeof(r), w->f) != sizeof(r))
		failed = true;
	if (fclose(w->f))
		failed = true;
	free(w);
	return failed ? SNP_ENOSPC : 0;
}

void snp_trace_writer_abandon(struct snp_trace_writer *w)
{
	if (!w)
		return;
	fclose(w->f);
	free(w);
}

/* ---- summary ------------------------------------------------------------------------- */

/* An open-addressing set of pfns (never holds ~0). */
struct pfn_set {
	uint64_t *slot;
	size_t cap, nr;
};

static bool pfn_set_add(struct pfn_set *s, uint64_t key, bool *added)
{
	*added = false;
	if (2 * (s->nr + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *n = malloc(cap * sizeof(*n));

		if (!n)
			return false;
		memset(n, 0xff, cap * sizeof(*n));
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slot[i] == UINT64_MAX)
				continue;
			size_t j = (size_t)(s->slot[i] * 0x9e3779b97f4a7c15ULL) & (cap - 1);
			while (n[j] != UINT64_MAX)
				j = (j + 1) & (cap - 1);
			n[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = n;
		s->cap = cap;
	}
	size_t j = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
	while (s->slot[j] != UINT64_MAX) {
		if (s->slot[j] == key)
			return true;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = key;
	s->nr++;
	*added = true;
	return true;
}

static bool count_page(struct pfn_set *set, struct snp_trace_pages *p, uint64_t pa)
{
	snp_pfn_t pfn = snp_phys_to_pfn(pa);
	bool added;

	if (!pfn_set_add(set, pfn, &added))
		return false;
	if (added) {
		p->distinct++;
		p->aligned += snp_pfn_2m_aligned(pfn);
	}
	return true;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

/* Of the aligned VMCB pfns in set, how many head a region in huge (2MB region numbers). */
static uint64_t count_aligned_in(const struct pfn_set *set, struct pfn_set *huge)
{
	uint64_t n = 0;
	bool added;

	for (size_t i = 0; i < set->cap; i++) {
		uint64_t pfn = set->slot[i];

		if (pfn == UINT64_MAX || !snp_pfn_2m_aligned(pfn))
			continue;
		/* Probe: adding an existing key reports added = false. */
		if (!pfn_set_add(huge, pfn / SNP_PTRS_PER_PMD, &added))
			return n;
		n += !added;
	}
	return n;
}

int snp_trace_summarize(const char *path, struct snp_trace_summary *s, char *err, size_t errlen)
{
	struct pfn_set sets[4] = { { 0 } }, huge = { 0 };
	struct snp_trace_event ev;
	struct snp_trace *t;
	uint64_t cpus_mask = 0;
	bool ok = true;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = trace_open_named(path, &t, err, errlen);
	if (ret)
		return ret;
	s->info = t->info;
	while (ok && (ret = snp_trace_next(t, &ev)) > 0) {
		s->records++;
		s->last_t_ns = ev.t_ns > s->last_t_ns ? ev.t_ns : s->last_t_ns;
		switch (ev.type) {
		case SNP_TR_VMRUN:
			s->vmruns++;
			cpus_mask |= 1ULL << ev.cpu;
			ok = count_page(&sets[0], &s->vmcb, ev.pa);
			break;
		case SNP_TR_VMRUN_PAGE:
			ok = ev.arg == SNP_TRP_VMSA ? count_page(&sets[1], &s->vmsa, ev.pa)
						    : count_page(&sets[2], &s->avic, ev.pa);
			break;
		case SNP_TR_VMEXIT: s->vmexits++; break;
		case SNP_TR_HSAVE:
			s->hsave_writes++;
			if (ev.pa)
				ok = count_page(&sets[3], &s->hsave, ev.pa);
			break;
		case SNP_TR_STORE: {
			bool added;

			s->stores++;
			s->stores_by_level[ev.level]++;
			if (ev.level >= SNP_TRL_2M)
				ok = pfn_set_add(&huge, snp_phys_to_pfn(ev.pa) / SNP_PTRS_PER_PMD, &added);
			break;
		}
		case SNP_TR_FLUSH: s->flushes++; break;
		case SNP_TR_SYM: s->symbols++; break;
		case SNP_TR_STR:
			if (ev.arg == SNP_TRK_KERNEL)
				copy_str(s->kernel, sizeof(s->kernel), ev.str);
			else if (ev.arg == SNP_TRK_WORKLOAD)
				copy_str(s->workload, sizeof(s->workload), ev.str);
			break;
		}
	}
	if (!ok) {
		trace_set_err(err, errlen, "out of memory reading %s", path);
		ret = SNP_ENOMEM;
	} else if (ret < 0) {
		trace_set_err(err, errlen, "%s: %s", path, t->err);
	} else {
		snp_trace_end_counts(t, &s->stores_seen, &s->stores_dropped);
		s->vmrun_cpus = (uint64_t)__builtin_popcountll(cpus_mask);
		s->vmcb_aligned_hugepage = count_aligned_in(&sets[0], &huge);
	}
	for (int i = 0; i < 4; i++)
		free(sets[i].slot);
	free(huge.slot);
	snp_trace_close(t);
	return ret < 0 ? ret : 0;
}
