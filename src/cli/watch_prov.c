// SPDX-License-Identifier: MIT
/*
 * watch_prov.c - `snpsafe watch`: provenance of the pages VMRUN used, the
 * SNP-safe allocator's pool, and the free pages around kvm_amd's life, from
 * the run's allocation log joined with its trace (src/trace/provenance.c).
 * Text and JSON print the same structures.
 */
#include "watch_prov.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Pages not from the allocator listed in the text (JSON lists them all). */
#define WATCH_PROV_TEXT_MAX 10

static const char *const kind_text[SNP_PROV_NR] = {
	"VMCBs", "VMSAs", "AVIC backing pages", "host save areas",
};

int watch_prov_load(const char *out, const char *trace, bool may_be_missing,
		    struct watch_prov *w, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int ret;

	memset(w, 0, sizeof(*w));
	snprintf(path, sizeof(path), "%s/alloc.log", out);
	if (stat(path, &st) && errno == ENOENT && may_be_missing)
		return 0;
	ret = snp_alloc_log_read(path, &w->log, err, errlen);
	if (!ret)
		ret = snp_provenance_join(&w->log, trace, &w->prov, err, errlen);
	w->recorded = !ret;
	return ret;
}

void watch_prov_free(struct watch_prov *w)
{
	snp_alloc_log_free(&w->log);
	snp_provenance_free(&w->prov);
}

/* Free plus per-CPU-list pages at a stage (the stage must be valid). */
static uint64_t mem_pages(const struct snp_alloc_log *l, enum snp_mem_stage s)
{
	return l->mem[s].free_pages + l->mem[s].pcp_pages;
}

static bool mem_both(const struct snp_alloc_log *l)
{
	return l->mem[SNP_MEM_BEFORE_LOAD].valid && l->mem[SNP_MEM_AFTER_UNLOAD].valid;
}

static int64_t mem_diff(const struct snp_alloc_log *l)
{
	return (int64_t)mem_pages(l, SNP_MEM_AFTER_UNLOAD) - (int64_t)mem_pages(l, SNP_MEM_BEFORE_LOAD);
}

/* The slab's growth over kvm_amd's life: where a negative mem_diff() usually went. */
static bool slab_both(const struct snp_alloc_log *l)
{
	return mem_both(l) && l->mem[SNP_MEM_BEFORE_LOAD].have_slab && l->mem[SNP_MEM_AFTER_UNLOAD].have_slab;
}

static int64_t slab_diff(const struct snp_alloc_log *l)
{
	return (int64_t)l->mem[SNP_MEM_AFTER_UNLOAD].slab_pages - (int64_t)l->mem[SNP_MEM_BEFORE_LOAD].slab_pages;
}

static void print_missing(const struct snp_provenance *p)
{
	size_t n = p->nr_missing < WATCH_PROV_TEXT_MAX ? p->nr_missing : WATCH_PROV_TEXT_MAX;

	for (size_t i = 0; i < n; i++) {
		const struct snp_prov_page *m = &p->missing[i];

		printf("    %-5s pa 0x%09" PRIx64 " (pfn 0x%" PRIx64 ")%s: ",
		       snp_prov_kind_name(m->kind), snp_pfn_to_phys(m->pfn), m->pfn,
		       snp_pfn_2m_aligned(m->pfn) ? " 2MB-aligned" : "");
		if (m->have_site)
			printf("from the page allocator at %s%s\n", m->site,
			       m->other_sites ? " (also returned at other sites)" : "");
		else
			printf("call site unknown (no module got it from alloc_pages)\n");
	}
	if (p->nr_missing > n)
		printf("    ... and %zu more (--json lists them all)\n", p->nr_missing - n);
}

static void print_provenance(const struct watch_prov *w)
{
	const struct snp_alloc_log *l = &w->log;
	const struct snp_provenance *p = &w->prov;
	const char *sep = "";

	printf("\nprovenance (pages VMRUN used and host save areas, joined with what the SNP-safe "
	       "allocator returned; tracefs probes armed before kvm_amd loaded):\n");
	if (p->verdict == SNP_PROV_CANNOT_SAY)
		printf("  cannot say: %s\n", p->why);
	else if (p->verdict == SNP_PROV_NO_ALLOCATOR)
		printf("  no SNP-safe allocator in this kernel (no snp_safe_alloc_page_node)\n");
	else if (p->verdict == SNP_PROV_YES)
		printf("  yes: every page VMRUN used and every host save area came from %s\n",
		       l->allocator);
	else
		printf("  no: %zu page(s) did not come from %s\n", p->nr_missing, l->allocator);
	if (l->has_allocator) {
		printf("  %s: %" PRIu64 " calls, %zu pages returned (%" PRIu64 " distinct), %" PRIu64
		       " NULL; %" PRIu64 " events lost\n", l->allocator, l->calls, l->nr_safe,
		       p->allocator_pages, l->null_returns, p->lost);
	}
	printf("  from it:");
	for (int k = 0; k < SNP_PROV_NR; k++) {
		printf("%s %" PRIu64 " of %" PRIu64 " %s", sep, p->from_allocator[k], p->used[k],
		       kind_text[k]);
		sep = ",";
	}
	printf("\n");
	if (p->nr_missing) {
		printf("  not from it (%zu):\n", p->nr_missing);
		print_missing(p);
	}
}

static void print_pool(const struct snp_alloc_log *l)
{
	struct snp_pool_node t;

	if (!l->pool_present) {
		printf("pool: no pool (no /sys/kernel/debug/kvm_amd/snp_safe_pages in the watched kernel)\n");
		return;
	}
	snp_alloc_log_pool_total(l, &t);
	printf("pool (kvm_amd/snp_safe_pages, before unload): parked %" PRIu64 ", peak %" PRIu64
	       ", given back %" PRIu64 ", fallbacks %" PRIu64 " over %u node(s)\n", t.parked, t.peak,
	       t.given_back, t.fallbacks, l->nr_pool);
	for (unsigned int i = 0; l->nr_pool > 1 && i < l->nr_pool; i++)
		printf("  node %u: parked %" PRIu64 ", peak %" PRIu64 ", given back %" PRIu64
		       ", fallbacks %" PRIu64 "\n", l->pool[i].node, l->pool[i].parked, l->pool[i].peak,
		       l->pool[i].given_back, l->pool[i].fallbacks);
}

static void print_mem(const struct snp_alloc_log *l)
{
	const bool amd = l->unload_seen[SNP_UNLOAD_KVM_AMD], amd_ok = l->unload_ok[SNP_UNLOAD_KVM_AMD];

	printf("free pages (buddy + per-CPU lists, after drop_caches): ");
	if (mem_both(l)) {
		printf("%" PRIu64 " before kvm_amd loaded, %" PRIu64 " after it unloaded: %+" PRId64,
		       mem_pages(l, SNP_MEM_BEFORE_LOAD), mem_pages(l, SNP_MEM_AFTER_UNLOAD), mem_diff(l));
		if (slab_both(l))
			printf("; slab pages %+" PRId64 " (%+" PRId64 " besides the slab)", slab_diff(l),
			       mem_diff(l) + slab_diff(l));
		printf("\n");
	} else if (l->mem[SNP_MEM_BEFORE_LOAD].valid)
		printf("%" PRIu64 " before kvm_amd loaded; not measured after (%s)\n",
		       mem_pages(l, SNP_MEM_BEFORE_LOAD), amd && !amd_ok ? "kvm_amd did not unload" :
		       "no figure");
	else
		printf("not measured\n");
	if (amd && !amd_ok)
		printf("  rmmod kvm_amd failed\n");
	if (l->unload_seen[SNP_UNLOAD_KVM] && !l->unload_ok[SNP_UNLOAD_KVM])
		printf("  rmmod kvm failed\n");
}

void watch_prov_print_text(const struct watch_prov *w)
{
	if (!w->recorded) {
		printf("\nprovenance: not recorded in this run folder (no alloc.log)\n");
		return;
	}
	print_provenance(w);
	print_pool(&w->log);
	print_mem(&w->log);
}

static void json_missing(struct json *j, const struct snp_provenance *p)
{
	json_arr_begin(j, "not_from_allocator");
	for (size_t i = 0; i < p->nr_missing; i++) {
		const struct snp_prov_page *m = &p->missing[i];

		json_obj_begin(j, NULL);
		json_str(j, "kind", snp_prov_kind_name(m->kind));
		json_hex(j, "pa", snp_pfn_to_phys(m->pfn));
		json_hex(j, "pfn", m->pfn);
		json_bool(j, "aligned_2m", snp_pfn_2m_aligned(m->pfn));
		if (m->have_site) {
			json_str(j, "site", m->site);
			json_hex(j, "caller", m->caller);
			json_u64(j, "other_sites", m->other_sites);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_provenance(struct json *j, const struct watch_prov *w)
{
	const struct snp_alloc_log *l = &w->log;
	const struct snp_provenance *p = &w->prov;
	static const char *const verdict_key[] = {
		[SNP_PROV_YES] = "yes", [SNP_PROV_NO] = "no", [SNP_PROV_CANNOT_SAY] = "cannot_say",
		[SNP_PROV_NO_ALLOCATOR] = "no_allocator",
	};

	json_obj_begin(j, "provenance");
	json_bool(j, "recorded", w->recorded);
	if (!w->recorded) {
		json_obj_end(j);
		return;
	}
	json_str(j, "verdict", verdict_key[p->verdict]);
	json_str(j, "verdict_text", snp_prov_verdict_name(p->verdict));
	json_str(j, "why", p->why);
	json_str(j, "allocator", l->allocator);
	json_obj_begin(j, "pages");
	for (int k = 0; k < SNP_PROV_NR; k++) {
		json_obj_begin(j, snp_prov_kind_name((enum snp_prov_kind)k));
		json_u64(j, "used", p->used[k]);
		json_u64(j, "from_allocator", p->from_allocator[k]);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_u64(j, "allocator_calls", l->calls);
	json_u64(j, "allocator_returns", l->nr_safe);
	json_u64(j, "allocator_pages", p->allocator_pages);
	json_u64(j, "allocator_null_returns", l->null_returns);
	json_u64(j, "module_page_allocations", l->nr_rec - l->nr_safe);
	json_u64(j, "lost_events", p->lost);
	json_u64(j, "trace_entries_written", l->entries_written);
	json_hex(j, "vmemmap_base", l->vmemmap_base);
	json_bool(j, "vmemmap_base_from_kernel", l->vmemmap_from_kernel);
	json_obj_begin(j, "probes");
	for (unsigned int i = 0; i < l->nr_probes; i++) {
		json_obj_begin(j, l->probe[i].name);
		json_u64(j, "hits", l->probe[i].hits);
		json_u64(j, "misses", l->probe[i].misses);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_missing(j, p);
	json_obj_end(j);
}

static void json_pool_node(struct json *j, const struct snp_pool_node *n, bool with_node)
{
	if (with_node)
		json_u64(j, "node", n->node);
	json_u64(j, "parked", n->parked);
	json_u64(j, "peak", n->peak);
	json_u64(j, "given_back", n->given_back);
	json_u64(j, "fallbacks", n->fallbacks);
}

static void json_pool(struct json *j, const struct snp_alloc_log *l)
{
	struct snp_pool_node t;

	json_obj_begin(j, "pool");
	json_bool(j, "present", l->pool_present);
	if (l->pool_present) {
		json_arr_begin(j, "nodes");
		for (unsigned int i = 0; i < l->nr_pool; i++) {
			json_obj_begin(j, NULL);
			json_pool_node(j, &l->pool[i], true);
			json_obj_end(j);
		}
		json_arr_end(j);
		snp_alloc_log_pool_total(l, &t);
		json_obj_begin(j, "total");
		json_pool_node(j, &t, false);
		json_obj_end(j);
	}
	json_obj_end(j);
}

static void json_mem(struct json *j, const struct snp_alloc_log *l)
{
	static const char *const stage[SNP_MEM_NR] = { "before_load", "after_unload" };

	json_obj_begin(j, "free_pages");
	for (int s = 0; s < SNP_MEM_NR; s++) {
		if (!l->mem[s].valid)
			continue;
		json_obj_begin(j, stage[s]);
		json_u64(j, "buddy", l->mem[s].free_pages);
		json_u64(j, "pcp", l->mem[s].pcp_pages);
		json_u64(j, "total", mem_pages(l, (enum snp_mem_stage)s));
		if (l->mem[s].have_slab)
			json_u64(j, "slab", l->mem[s].slab_pages);
		json_obj_end(j);
	}
	if (mem_both(l))
		json_i64(j, "difference", mem_diff(l));
	if (slab_both(l)) {
		json_i64(j, "slab_difference", slab_diff(l));
		json_i64(j, "difference_besides_slab", mem_diff(l) + slab_diff(l));
	}
	json_bool(j, "kvm_amd_unloaded", l->unload_ok[SNP_UNLOAD_KVM_AMD]);
	json_bool(j, "kvm_unloaded", l->unload_ok[SNP_UNLOAD_KVM]);
	json_obj_end(j);
}

void watch_prov_print_json(struct json *j, const struct watch_prov *w)
{
	json_provenance(j, w);
	if (!w->recorded)
		return;
	json_pool(j, &w->log);
	json_mem(j, &w->log);
}
