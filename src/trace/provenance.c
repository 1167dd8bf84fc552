// SPDX-License-Identifier: MIT
/*
 * provenance.c - read a watched run's allocation log (OUT/alloc.log) and
 * join it with the trace's VMRUN and VM_HSAVE_PA records: did every page
 * VMRUN used come from the SNP-safe allocator?  snpsafe/provenance.h has
 * the format; docs/WATCH.md "Provenance" says what it proves.
 *
 * The log's trace part is tracefs text, written by the kernel for people.
 * It is read strictly where it carries the answer (our events' headers and
 * arguments, the buffer's lost-event marks) and loosely elsewhere (other
 * events are counted and skipped), so a kernel that prints one more column
 * does not break the reader but a damaged line of ours is an error.
 */
#include <snpsafe/provenance.h>
#include <snpsafe/trace.h>

#include "trace_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest pfn of a 52-bit physical address space. */
#define PROV_MAX_PFN ((1ULL << (SNP_MAX_PHYS_BITS - SNP_PAGE_SHIFT)) - 1)

/*
 * Room for one more element in v, which holds nr of *cap elements of size
 * bytes, doubling from first: the array (moved, maybe), or NULL when out of
 * memory (v is still valid then).
 */
static void *grow(void *v, size_t *cap, size_t nr, size_t size, size_t first)
{
	size_t c = *cap ? 2 * *cap : first;

	if (nr < *cap)
		return v;
	v = realloc(v, c * size);
	if (v)
		*cap = c;
	return v;
}

/* ---- numbers and words ------------------------------------------------------------ */

/* A whole word as an unsigned number (base 0: 0x for hex); false if it is not one. */
static bool word_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* A whole word of hex digits without 0x (how tracefs prints an address with sym-addr). */
static bool word_hex(const char *s, uint64_t *v)
{
	char *end;

	if (!isxdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 16);
	return !errno && !*end;
}

/* A whole word as a signed 32-bit number. */
static bool word_s32(const char *s, int32_t *v)
{
	char *end;
	long long x;

	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	x = strtoll(s, &end, 0);
	if (errno || *end || x < INT32_MIN || x > INT32_MAX)
		return false;
	*v = (int32_t)x;
	return true;
}

/* Split line into at most max space-separated words, in place; the count. */
static unsigned int split_words(char *line, char **w, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

/* ---- the parser's state --------------------------------------------------------------- */

/* A task's allocator entries not yet returned (calls do not nest, but a lost return would). */
struct pending {
	uint32_t pid;
	uint32_t depth;
	int32_t node;
	uint32_t gfp;
};

struct parser {
	struct snp_alloc_log *log;
	const char *path;
	unsigned long lineno;
	char *err;
	size_t errlen;
	size_t rec_cap;
	struct pending *pend;
	size_t nr_pend, pend_cap;
	bool seen_magic, seen_allocator, in_trace, trace_done, seen_end, pool_none;
};

static SNP_MUST_CHECK int bad(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static SNP_MUST_CHECK int bad(struct parser *ps, const char *fmt, ...)
{
	char msg[SNP_ALLOC_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	trace_set_err(ps->err, ps->errlen, "%s line %lu: %s", ps->path, ps->lineno, msg);
	return SNP_EINVAL;
}

static SNP_MUST_CHECK int nomem(struct parser *ps)
{
	trace_set_err(ps->err, ps->errlen, "out of memory reading %s", ps->path);
	return SNP_ENOMEM;
}

static struct pending *pending_of(struct parser *ps, uint32_t pid, bool create)
{
	struct pending *n;

	for (size_t i = 0; i < ps->nr_pend; i++)
		if (ps->pend[i].pid == pid)
			return &ps->pend[i];
	if (!create)
		return NULL;
	n = grow(ps->pend, &ps->pend_cap, ps->nr_pend, sizeof(*n), 16);
	if (!n)
		return NULL;
	ps->pend = n;
	ps->pend[ps->nr_pend] = (struct pending){ .pid = pid };
	return &ps->pend[ps->nr_pend++];
}

static struct snp_alloc_rec *new_rec(struct parser *ps)
{
	struct snp_alloc_log *l = ps->log;
	struct snp_alloc_rec *n = grow(l->rec, &ps->rec_cap, l->nr_rec, sizeof(*n), 256);

	if (!n)
		return NULL;
	l->rec = n;
	memset(&l->rec[l->nr_rec], 0, sizeof(l->rec[0]));
	return &l->rec[l->nr_rec++];
}

/* ---- the trace part ----------------------------------------------------------------- */

/* One event line of tracefs' trace file, split. */
struct ev_line {
	uint32_t pid;
	uint32_t cpu;                  /* the CPU bracket's number */
	char *name;                    /* the event, without its colon */
	char *payload;                 /* what the event printed */
};

/*
 * "  comm-PID  [CPU] FLAGS  SECS.USECS: EVENT: PAYLOAD".  The comm may hold
 * spaces and dashes, so the task is read back from the CPU bracket: PID is
 * the digits after the last dash before it.  FLAGS is absent when the
 * instance's irq-info option is off.
 */
static bool split_event(char *line, struct ev_line *ev)
{
	char *br = line, *p, *q;
	unsigned int words = 0;
	uint64_t pid;

	for (;;) {
		br = strchr(br, '[');
		if (!br)
			return false;
		p = br + 1;
		while (isdigit((unsigned char)*p))
			p++;
		if (p > br + 1 && p[0] == ']' && p[1] == ' ')
			break;
		br++;
	}
	for (q = br; q > line && q[-1] == ' '; q--)
		;
	*q = '\0';
	q = strrchr(line, '-');
	if (!q || !word_u64(q + 1, &pid) || pid > UINT32_MAX)
		return false;
	ev->pid = (uint32_t)pid;
	ev->cpu = (uint32_t)strtoul(br + 1, NULL, 10);
	p += 2;
	/* up to two words before the event: the flags, then the timestamp "S.U:" */
	while (words++ < 2) {
		char *end;

		while (*p == ' ')
			p++;
		end = strchr(p, ' ');
		if (!end)
			return false;
		if (end[-1] == ':' && isdigit((unsigned char)*p)) {
			p = end + 1;
			while (*p == ' ')
				p++;
			end = strchr(p, ':');
			if (!end || end == p || end[1] != ' ')
				return false;
			*end = '\0';
			ev->name = p;
			ev->payload = end + 2;
			return true;
		}
		p = end;
	}
	return false;
}

/*
 * A probe event's header: "(SITE <ADDR>)" at an entry, "(SITE <ADDR> <-
 * FUNC <ADDR>)" at a return, the <ADDR> present with the sym-addr option.
 * SITE is the kernel's name for the probed address (entry) or for the
 * return address, the call site (return).  Returns what follows the
 * header, or NULL.
 */
static char *split_header(char *payload, char *site, size_t sitelen, uint64_t *addr)
{
	char *close, *arrow, *lt;

	if (*payload != '(')
		return NULL;
	arrow = strstr(payload, " <- ");
	close = strchr(arrow ? arrow : payload, ')');
	if (!close)
		return NULL;
	*close = '\0';
	if (arrow)
		*arrow = '\0';
	*addr = 0;
	lt = strrchr(payload, '<');
	if (lt && lt > payload + 1 && lt[-1] == ' ') {
		char *gt = strchr(lt, '>');

		if (!gt || gt[1])
			return NULL;
		*gt = '\0';
		if (!word_hex(lt + 1, addr))
			return NULL;
		lt[-1] = '\0';
	}
	snprintf(site, sitelen, "%s", payload + 1);
	return close + 1;
}

/* The arguments our probes print: page=, vmemmap=, node=, gfp=. */
struct ev_args {
	bool have_page, have_vmemmap, have_node, have_gfp;
	uint64_t page, vmemmap, gfp;
	int32_t node;
};

static bool parse_args(char *rest, struct ev_args *a)
{
	char *w[16];
	unsigned int n = split_words(rest, w, 16);

	memset(a, 0, sizeof(*a));
	for (unsigned int i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');
		bool ok = true;

		if (!eq)
			return false;
		*eq++ = '\0';
		if (!strcmp(w[i], "page"))
			ok = a->have_page = word_u64(eq, &a->page);
		else if (!strcmp(w[i], "vmemmap"))
			ok = a->have_vmemmap = word_u64(eq, &a->vmemmap);
		else if (!strcmp(w[i], "node"))
			ok = a->have_node = word_s32(eq, &a->node);
		else if (!strcmp(w[i], "gfp"))
			ok = a->have_gfp = word_u64(eq, &a->gfp) && a->gfp <= UINT32_MAX;
		/* any other field: one a later version of the probes added */
		if (!ok)
			return false;
	}
	return true;
}

/*
 * pfn of a struct page pointer: (page - vmemmap_base) / sizeof(struct
 * page).  The kernel's vmemmap_base comes with the event when kallsyms had
 * the symbol; all events must agree on it.
 */
static SNP_MUST_CHECK int page_to_pfn(struct parser *ps, const struct ev_args *a, snp_pfn_t *pfn)
{
	struct snp_alloc_log *l = ps->log;
	uint64_t base = l->vmemmap_base, off;

	if (a->have_vmemmap) {
		if (l->vmemmap_from_kernel && a->vmemmap != base)
			return bad(ps, "vmemmap_base 0x%" PRIx64 " differs from 0x%" PRIx64 " before",
				   a->vmemmap, base);
		base = l->vmemmap_base = a->vmemmap;
		l->vmemmap_from_kernel = true;
	}
	off = a->page - base;
	if (a->page < base || off % SNP_STRUCT_PAGE_SIZE || off / SNP_STRUCT_PAGE_SIZE > PROV_MAX_PFN)
		return bad(ps, "page 0x%" PRIx64 " is not a struct page of the vmemmap at 0x%" PRIx64,
			   a->page, base);
	*pfn = off / SNP_STRUCT_PAGE_SIZE;
	return 0;
}

static SNP_MUST_CHECK int on_entry(struct parser *ps, const struct ev_line *ev, char *rest)
{
	struct ev_args a;
	struct pending *pd;

	if (!parse_args(rest, &a))
		return bad(ps, "cannot read the allocator's entry");
	pd = pending_of(ps, ev->pid, true);
	if (!pd)
		return nomem(ps);
	pd->depth++;
	pd->node = a.have_node ? a.node : -1;
	pd->gfp = a.have_gfp ? (uint32_t)a.gfp : 0;
	ps->log->calls++;
	return 0;
}

/* A return of the allocator (src SAFE) or of the page allocator to a module (PAGE). */
static SNP_MUST_CHECK int on_return(struct parser *ps, const struct ev_line *ev, char *rest,
				    const char *site, uint64_t caller, enum snp_alloc_src src)
{
	struct snp_alloc_rec *r;
	struct pending *pd = NULL;
	struct ev_args a;
	snp_pfn_t pfn = 0;
	int ret;

	if (!parse_args(rest, &a) || !a.have_page)
		return bad(ps, "a return without page=");
	if (src == SNP_ALLOC_SRC_SAFE) {
		pd = pending_of(ps, ev->pid, false);
		if (pd && pd->depth)
			pd->depth--;
		else
			ps->log->unpaired++, pd = NULL;
	}
	if (!a.page) {
		ps->log->null_returns += src == SNP_ALLOC_SRC_SAFE;
		return 0;
	}
	ret = page_to_pfn(ps, &a, &pfn);
	if (ret)
		return ret;
	r = new_rec(ps);
	if (!r)
		return nomem(ps);
	r->pfn = pfn;
	r->caller = caller;
	r->cpu = ev->cpu > UINT16_MAX ? UINT16_MAX : (uint16_t)ev->cpu;
	r->src = (uint8_t)src;
	snprintf(r->site, sizeof(r->site), "%s", site);
	if (pd) {
		r->node = pd->node;
		r->gfp = pd->gfp;
		r->have_args = true;
	}
	ps->log->nr_safe += src == SNP_ALLOC_SRC_SAFE;
	return 0;
}

/* Our events: alloc_in, alloc_ret, pg_<page allocator function>. */
static SNP_MUST_CHECK int trace_event(struct parser *ps, char *line)
{
	char site[SNP_ALLOC_SITE_LEN];
	struct ev_line ev;
	uint64_t addr;
	char *rest;
	bool ret_probe;

	if (!split_event(line, &ev))
		return bad(ps, "not a trace line");
	ret_probe = !strcmp(ev.name, "alloc_ret") || !strncmp(ev.name, "pg_", 3);
	if (!ret_probe && strcmp(ev.name, "alloc_in")) {
		ps->log->other_events++;
		return 0;
	}
	rest = split_header(ev.payload, site, sizeof(site), &addr);
	if (!rest)
		return bad(ps, "cannot read the header of %s", ev.name);
	if (!ret_probe)
		return on_entry(ps, &ev, rest);
	return on_return(ps, &ev, rest, site, addr,
			 ev.name[0] == 'p' ? SNP_ALLOC_SRC_PAGE : SNP_ALLOC_SRC_SAFE);
}

static SNP_MUST_CHECK int trace_line(struct parser *ps, char *line)
{
	unsigned long long a, b;
	unsigned int cpu;

	if (!strcmp(line, "trace-end")) {
		ps->in_trace = false;
		ps->trace_done = true;
		return 0;
	}
	if (line[0] == '#') {
		if (sscanf(line, "# entries-in-buffer/entries-written: %llu/%llu", &a, &b) == 2) {
			ps->log->entries_in_buffer = a;
			ps->log->entries_written = b;
		}
		return 0;
	}
	/* The ring buffer's own mark of events it overwrote or dropped. */
	if (sscanf(line, "CPU:%u [LOST %llu EVENTS]", &cpu, &a) == 2) {
		ps->log->lost_events += a;
		return 0;
	}
	if (sscanf(line, "CPU:%u [LOST EVENTS", &cpu) == 1 && strstr(line, "[LOST EVENTS]")) {
		ps->log->lost_events++;     /* a count the kernel did not know */
		return 0;
	}
	return trace_event(ps, line);
}

/* ---- the keyword lines ---------------------------------------------------------------- */

static SNP_MUST_CHECK int kw_mem(struct parser *ps, char **w, unsigned int n)
{
	struct snp_mem_snapshot *m;
	int stage;

	if ((n != 6 && (n != 8 || strcmp(w[6], "slab_pages"))) || strcmp(w[2], "free_pages") ||
	    strcmp(w[4], "pcp_pages"))
		return bad(ps, "expected 'mem STAGE free_pages N pcp_pages N [slab_pages N]'");
	if (!strcmp(w[1], "before_load"))
		stage = SNP_MEM_BEFORE_LOAD;
	else if (!strcmp(w[1], "after_unload"))
		stage = SNP_MEM_AFTER_UNLOAD;
	else
		return bad(ps, "unknown stage '%s' (before_load, after_unload)", w[1]);
	m = &ps->log->mem[stage];
	if (!word_u64(w[3], &m->free_pages) || !word_u64(w[5], &m->pcp_pages) ||
	    (n == 8 && !word_u64(w[7], &m->slab_pages)))
		return bad(ps, "bad page count");
	m->have_slab = n == 8;
	m->valid = true;
	return 0;
}

static SNP_MUST_CHECK int kw_probe(struct parser *ps, char **w, unsigned int n)
{
	struct snp_alloc_log *l = ps->log;
	struct snp_alloc_probe *p;

	if (n != 6 || strcmp(w[2], "hits") || strcmp(w[4], "misses"))
		return bad(ps, "expected 'probe NAME hits N misses N'");
	if (l->nr_probes == SNP_ALLOC_MAX_PROBES)
		return bad(ps, "more than %d probes", SNP_ALLOC_MAX_PROBES);
	p = &l->probe[l->nr_probes];
	if (!word_u64(w[3], &p->hits) || !word_u64(w[5], &p->misses))
		return bad(ps, "bad probe count");
	snprintf(p->name, sizeof(p->name), "%s", w[1]);
	l->nr_probes++;
	return 0;
}

/* "pool node N parked P peak K given_back G fallbacks F", or "pool none". */
static SNP_MUST_CHECK int kw_pool(struct parser *ps, char **w, unsigned int n)
{
	static const char *const key[] = { "node", "parked", "peak", "given_back", "fallbacks" };
	struct snp_alloc_log *l = ps->log;
	uint64_t v[5];

	if (n == 2 && !strcmp(w[1], "none")) {
		if (l->pool_present)
			return bad(ps, "'pool none' after a pool line");
		ps->pool_none = true;
		return 0;
	}
	if (n != 11)
		return bad(ps, "expected 'node N parked N peak N given_back N fallbacks N'");
	for (unsigned int i = 0; i < 5; i++)
		if (strcmp(w[1 + 2 * i], key[i]) || !word_u64(w[2 + 2 * i], &v[i]))
			return bad(ps, "expected '%s N' in the pool line", key[i]);
	if (ps->pool_none)
		return bad(ps, "a pool line after 'pool none'");
	if (l->nr_pool == SNP_ALLOC_MAX_NODES || v[0] >= SNP_ALLOC_MAX_NODES)
		return bad(ps, "node %" PRIu64 ": at most %d nodes", v[0], SNP_ALLOC_MAX_NODES);
	if (v[2] < v[1])
		return bad(ps, "node %" PRIu64 ": peak %" PRIu64 " below parked %" PRIu64, v[0], v[2], v[1]);
	l->pool[l->nr_pool++] = (struct snp_pool_node){ .node = (uint32_t)v[0], .parked = v[1],
		.peak = v[2], .given_back = v[3], .fallbacks = v[4] };
	l->pool_present = true;
	return 0;
}

static SNP_MUST_CHECK int kw_unload(struct parser *ps, char **w, unsigned int n)
{
	int mod;

	if (n != 3 || (strcmp(w[2], "ok") && strcmp(w[2], "failed")))
		return bad(ps, "expected 'unload MODULE ok|failed'");
	if (!strcmp(w[1], "kvm_amd"))
		mod = SNP_UNLOAD_KVM_AMD;
	else if (!strcmp(w[1], "kvm"))
		mod = SNP_UNLOAD_KVM;
	else
		return bad(ps, "unknown module '%s' (kvm_amd, kvm)", w[1]);
	ps->log->unload_seen[mod] = true;
	ps->log->unload_ok[mod] = !strcmp(w[2], "ok");
	return 0;
}

static SNP_MUST_CHECK int keyword_line(struct parser *ps, char *line)
{
	char *w[12];
	unsigned int n = split_words(line, w, 12);
	uint64_t v;

	if (!n)
		return 0;
	if (!ps->seen_magic) {
		if (n != 2 || strcmp(w[0], "snpsafe-alloc") || !word_u64(w[1], &v))
			return bad(ps, "not an allocation log (no 'snpsafe-alloc VERSION' first)");
		if (v != SNP_ALLOC_LOG_VERSION)
			return bad(ps, "version %" PRIu64 "; this snpsafe reads version %d", v,
				   SNP_ALLOC_LOG_VERSION);
		ps->seen_magic = true;
		return 0;
	}
	if (ps->seen_end)
		return bad(ps, "text after 'end'");
	if (!strcmp(w[0], "allocator") && n == 2) {
		ps->seen_allocator = true;
		ps->log->has_allocator = strcmp(w[1], "none") != 0;
		snprintf(ps->log->allocator, sizeof(ps->log->allocator), "%s",
			 ps->log->has_allocator ? w[1] : "");
		return 0;
	}
	if (!strcmp(w[0], "mem"))
		return kw_mem(ps, w, n);
	if (!strcmp(w[0], "probe"))
		return kw_probe(ps, w, n);
	if (!strcmp(w[0], "pool"))
		return kw_pool(ps, w, n);
	if (!strcmp(w[0], "unload"))
		return kw_unload(ps, w, n);
	if (!strcmp(w[0], "trace-begin") && n == 1) {
		if (ps->trace_done)
			return bad(ps, "a second trace");
		ps->in_trace = true;
		return 0;
	}
	if (!strcmp(w[0], "end") && n == 1) {
		ps->seen_end = true;
		return 0;
	}
	return bad(ps, "unknown line '%.40s'", w[0]);
}

/* What a whole log must have: a trace and an end, and the allocator line. */
static SNP_MUST_CHECK int finish(struct parser *ps)
{
	struct snp_alloc_log *l = ps->log;

	if (!ps->seen_magic) {
		trace_set_err(ps->err, ps->errlen, "%s: empty, not an allocation log", ps->path);
		return SNP_EINVAL;
	}
	if (ps->in_trace || !ps->seen_end) {
		trace_set_err(ps->err, ps->errlen, "%s: cut short (no '%s'): the guest did not finish its log",
			ps->path, ps->in_trace ? "trace-end" : "end");
		return SNP_EINVAL;
	}
	if (!ps->seen_allocator || !ps->trace_done) {
		trace_set_err(ps->err, ps->errlen, "%s: no '%s' line", ps->path,
			ps->seen_allocator ? "trace-begin" : "allocator");
		return SNP_EINVAL;
	}
	/* Entries never returned: their returns were lost. */
	for (size_t i = 0; i < ps->nr_pend; i++)
		l->unpaired += ps->pend[i].depth;
	if (l->entries_written > l->entries_in_buffer &&
	    l->entries_written - l->entries_in_buffer > l->lost_events)
		l->lost_events = l->entries_written - l->entries_in_buffer;
	return 0;
}

int snp_alloc_log_read(const char *path, struct snp_alloc_log *log, char *err, size_t errlen)
{
	struct parser ps = { .log = log, .path = path, .err = err, .errlen = errlen };
	char *line = NULL, why[SNP_TRACE_ERR_LEN];
	size_t cap = 0;
	ssize_t len;
	int ret = 0;
	FILE *f;

	memset(log, 0, sizeof(*log));
	log->vmemmap_base = SNP_VMEMMAP_BASE_L4;
	f = trace_open_input(path, "r", "an allocation log", why, sizeof(why), &ret);
	if (!f) {
		trace_set_err(err, errlen, "%s: %s", path, why);
		return ret;
	}
	while (!ret && (len = getline(&line, &cap, f)) >= 0) {
		ps.lineno++;
		if ((size_t)len != strlen(line)) {
			ret = bad(&ps, "a NUL byte: not text");
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		ret = ps.in_trace ? trace_line(&ps, line) : keyword_line(&ps, line);
	}
	if (!ret && ferror(f)) {
		trace_set_err(err, errlen, "%s: read error", path);
		ret = SNP_EINVAL;
	}
	if (!ret)
		ret = finish(&ps);
	free(line);
	free(ps.pend);
	fclose(f);
	return ret;
}

void snp_alloc_log_free(struct snp_alloc_log *log)
{
	free(log->rec);
	log->rec = NULL;
	log->nr_rec = log->nr_safe = 0;
}

uint64_t snp_alloc_log_lost(const struct snp_alloc_log *log)
{
	uint64_t n = log->lost_events + log->unpaired;

	for (unsigned int i = 0; i < log->nr_probes; i++)
		if (!strcmp(log->probe[i].name, "alloc_in") || !strcmp(log->probe[i].name, "alloc_ret"))
			n += log->probe[i].misses;
	return n;
}

void snp_alloc_log_pool_total(const struct snp_alloc_log *log, struct snp_pool_node *t)
{
	memset(t, 0, sizeof(*t));
	t->node = log->nr_pool;
	for (unsigned int i = 0; i < log->nr_pool; i++) {
		t->parked += log->pool[i].parked;
		t->peak += log->pool[i].peak;
		t->given_back += log->pool[i].given_back;
		t->fallbacks += log->pool[i].fallbacks;
	}
}

/* ---- the join ------------------------------------------------------------------------- */

const char *snp_prov_kind_name(enum snp_prov_kind kind)
{
	static const char *const name[SNP_PROV_NR] = { "vmcb", "vmsa", "avic", "hsave" };

	return (unsigned int)kind < SNP_PROV_NR ? name[kind] : "?";
}

const char *snp_prov_verdict_name(enum snp_prov_verdict v)
{
	switch (v) {
	case SNP_PROV_YES: return "yes";
	case SNP_PROV_NO: return "no";
	case SNP_PROV_CANNOT_SAY: return "cannot say";
	case SNP_PROV_NO_ALLOCATOR: return "no SNP-safe allocator in this kernel";
	}
	return "?";
}

/* A growable array of pfns. */
struct pfns {
	snp_pfn_t *v;
	size_t nr, cap;
};

static bool pfns_add(struct pfns *s, snp_pfn_t pfn)
{
	snp_pfn_t *n = grow(s->v, &s->cap, s->nr, sizeof(*n), 64);

	if (!n)
		return false;
	s->v = n;
	s->v[s->nr++] = pfn;
	return true;
}

static int cmp_pfn(const void *a, const void *b)
{
	const snp_pfn_t x = *(const snp_pfn_t *)a, y = *(const snp_pfn_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop repeats: the distinct pages. */
static void pfns_unique(struct pfns *s)
{
	size_t n = 0;

	if (!s->nr)
		return;
	qsort(s->v, s->nr, sizeof(*s->v), cmp_pfn);
	for (size_t i = 1; i < s->nr; i++)
		if (s->v[i] != s->v[n])
			s->v[++n] = s->v[i];
	s->nr = n + 1;
}

static bool pfns_has(const struct pfns *s, snp_pfn_t pfn)
{
	return s->nr && bsearch(&pfn, s->v, s->nr, sizeof(*s->v), cmp_pfn);
}

/* The pages of each kind the trace names: VMRUN's VMCB and pages, VM_HSAVE_PA's value. */
static SNP_MUST_CHECK int trace_pages(const char *path, struct pfns *kind, char *err, size_t errlen)
{
	struct snp_trace_event ev;
	struct snp_trace *t;
	bool ok = true;
	int ret;

	ret = trace_open_named(path, &t, err, errlen);
	if (ret)
		return ret;
	while (ok && (ret = snp_trace_next(t, &ev)) > 0) {
		if (ev.type == SNP_TR_VMRUN)
			ok = pfns_add(&kind[SNP_PROV_VMCB], snp_phys_to_pfn(ev.pa));
		else if (ev.type == SNP_TR_VMRUN_PAGE)
			ok = pfns_add(&kind[ev.arg == SNP_TRP_VMSA ? SNP_PROV_VMSA : SNP_PROV_AVIC],
				      snp_phys_to_pfn(ev.pa));
		else if (ev.type == SNP_TR_HSAVE && ev.pa)
			ok = pfns_add(&kind[SNP_PROV_HSAVE], snp_phys_to_pfn(ev.pa));
	}
	if (!ok) {
		trace_set_err(err, errlen, "out of memory reading %s", path);
		ret = SNP_ENOMEM;
	} else if (ret < 0) {
		trace_set_err(err, errlen, "%s: %s", path, snp_trace_error(t));
	}
	snp_trace_close(t);
	return ret < 0 ? ret : 0;
}

/*
 * Name the call site of a page the SNP-safe allocator did not return: the
 * first return of that pfn by the page allocator to a module, and how many
 * returns of it came from other sites (a page freed and taken again).
 */
static void find_site(const struct snp_alloc_log *log, struct snp_prov_page *pg)
{
	const struct snp_alloc_rec *first = NULL;

	for (size_t i = 0; i < log->nr_rec; i++) {
		const struct snp_alloc_rec *r = &log->rec[i];

		if (r->src != SNP_ALLOC_SRC_PAGE || r->pfn != pg->pfn)
			continue;
		if (!first)
			first = r;
		else if (strcmp(r->site, first->site))
			pg->other_sites++;
	}
	if (first) {
		pg->have_site = true;
		pg->caller = first->caller;
		snprintf(pg->site, sizeof(pg->site), "%s", first->site);
	}
}

static SNP_MUST_CHECK int add_missing(const struct snp_alloc_log *log, struct snp_provenance *p,
				      size_t *cap, snp_pfn_t pfn, enum snp_prov_kind kind)
{
	struct snp_prov_page *pg;

	pg = grow(p->missing, cap, p->nr_missing, sizeof(*pg), 16);
	if (!pg)
		return SNP_ENOMEM;
	p->missing = pg;
	pg = &p->missing[p->nr_missing++];
	memset(pg, 0, sizeof(*pg));
	pg->pfn = pfn;
	pg->kind = (uint8_t)kind;
	find_site(log, pg);
	return 0;
}

/* Is rec's call site in function fn ("fn+0x23/0x180 [mod]")? */
static bool site_in(const struct snp_alloc_rec *rec, const char *fn)
{
	size_t n = strlen(fn);

	return !strncmp(rec->site, fn, n) && rec->site[n] == '+';
}

#define VMCB01_SITES_MAX 8

/*
 * The vmcb01 call site (struct snp_vmcb01_allocs): of the sites in
 * svm_vcpu_create() (a return address with the record's source), the one
 * whose returns the trace ran as VMCBs most often; then every return there.
 */
static void count_vmcb01(const struct snp_alloc_log *log, const struct pfns *vmcbs,
			 struct snp_vmcb01_allocs *v)
{
	struct { uint64_t caller; uint8_t src; uint64_t hits; } site[VMCB01_SITES_MAX];
	unsigned int nr = 0, best = 0;

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < log->nr_rec; i++) {
		const struct snp_alloc_rec *r = &log->rec[i];
		unsigned int k;

		if (!site_in(r, "svm_vcpu_create"))
			continue;
		for (k = 0; k < nr && (site[k].caller != r->caller || site[k].src != r->src); k++)
			;
		if (k == nr) {
			if (nr == VMCB01_SITES_MAX)
				continue;
			site[nr].caller = r->caller;
			site[nr].src = r->src;
			site[nr++].hits = 0;
		}
		site[k].hits += pfns_has(vmcbs, r->pfn);
	}
	for (unsigned int k = 1; k < nr; k++)
		if (site[k].hits > site[best].hits)
			best = k;
	if (!nr || !site[best].hits)
		return;
	v->found = true;
	v->caller = site[best].caller;
	v->src = site[best].src;
	for (size_t i = 0; i < log->nr_rec; i++) {
		const struct snp_alloc_rec *r = &log->rec[i];

		if (r->caller != v->caller || r->src != v->src || !site_in(r, "svm_vcpu_create"))
			continue;
		if (!v->allocs)
			snprintf(v->site, sizeof(v->site), "%s", r->site);
		v->allocs++;
		v->aligned += snp_pfn_2m_aligned(r->pfn);
		v->as_vmcb += pfns_has(vmcbs, r->pfn);
		if (r->cpu < SNP_VMCB01_MAX_CPUS)
			v->by_cpu[r->cpu]++;
	}
}

static void set_verdict(const struct snp_alloc_log *log, struct snp_provenance *p)
{
	uint64_t used = 0;

	for (int k = 0; k < SNP_PROV_NR; k++)
		used += p->used[k];
	p->lost = snp_alloc_log_lost(log);
	if (!log->has_allocator) {
		p->verdict = SNP_PROV_NO_ALLOCATOR;
	} else if (p->lost) {
		p->verdict = SNP_PROV_CANNOT_SAY;
		snprintf(p->why, sizeof(p->why), "%" PRIu64 " allocator event(s) lost", p->lost);
	} else if (!used) {
		p->verdict = SNP_PROV_CANNOT_SAY;
		snprintf(p->why, sizeof(p->why), "the trace names no page");
	} else {
		p->verdict = p->nr_missing ? SNP_PROV_NO : SNP_PROV_YES;
	}
}

int snp_provenance_join(const struct snp_alloc_log *log, const char *trace_path,
			struct snp_provenance *p, char *err, size_t errlen)
{
	struct pfns kind[SNP_PROV_NR] = { { 0 } }, safe = { 0 };
	size_t cap = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = trace_pages(trace_path, kind, err, errlen);
	for (size_t i = 0; !ret && i < log->nr_rec; i++)
		if (log->rec[i].src == SNP_ALLOC_SRC_SAFE && !pfns_add(&safe, log->rec[i].pfn))
			ret = SNP_ENOMEM;
	if (!ret) {
		pfns_unique(&safe);
		p->allocator_pages = safe.nr;
	}
	for (int k = 0; !ret && k < SNP_PROV_NR; k++) {
		pfns_unique(&kind[k]);
		p->used[k] = kind[k].nr;
		for (size_t i = 0; !ret && i < kind[k].nr; i++) {
			if (pfns_has(&safe, kind[k].v[i]))
				p->from_allocator[k]++;
			else
				ret = add_missing(log, p, &cap, kind[k].v[i], (enum snp_prov_kind)k);
		}
	}
	if (ret == SNP_ENOMEM)
		trace_set_err(err, errlen, "out of memory joining the allocation log with %s", trace_path);
	if (!ret) {
		count_vmcb01(log, &kind[SNP_PROV_VMCB], &p->vmcb01);
		set_verdict(log, p);
	}
	for (int k = 0; k < SNP_PROV_NR; k++)
		free(kind[k].v);
	free(safe.v);
	return ret;
}

void snp_provenance_free(struct snp_provenance *p)
{
	free(p->missing);
	p->missing = NULL;
	p->nr_missing = 0;
}
