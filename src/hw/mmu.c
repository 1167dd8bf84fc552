// SPDX-License-Identifier: MIT
/*
 * mmu.c - the modeled host machine and host data accesses through the
 * direct map, with the RMP checks of AMD APM Vol. 2 15.36.10 (Table 15-39),
 * the in-use rule and the in-use erratum (LINUX commit 75253db41a46).
 *
 * Rules applied to a host access (docs/MODEL.md, "Host MMU"):
 *  - Reads are not checked for ownership (APM 15.36.10: a host read of a
 *    guest page returns ciphertext).  Whether the in-use rules below apply
 *    to reads is the knob inuse_reads_fault: the changelog says "accesses",
 *    the write-only default is an assumption (snp-facts section 3).
 *  - A write through a 4K leaf needs the page Hypervisor-Owned; through a
 *    2M or 1G leaf, all 512 entries of the 2MB region (snp-facts §3).
 *  - A write to an in-use page faults unless the part has HvInUseWrAllowed.
 *  - Erratum: a hugepage access to a 2MB region whose base entry is in-use
 *    faults, spuriously (the fill reads only the base entry, snp-facts §1).
 *  - An entry another CPU's RMPUPDATE holds counts as in-use only with
 *    rmpupdate_transient_inuse; a fault it causes is spurious, the
 *    concurrent-use fault of APM 15.36.10 that software retries.
 *  - The checks run when the TLB entry is filled; a hit is not re-checked
 *    unless rmp_check_every_access (LKML-REVIEW).  A write through an entry
 *    a read filled re-checks (as the page walk that sets the dirty bit).
 */
#include "machine.h"
#include "rmp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNP_DEFAULT_MEM (16 * SNP_GiB)
#define SNP_DEFAULT_CPUS 2
#define SNP_DEFAULT_FAULT_LOG 1024

const char *snp_map_size_name(enum snp_map_size s)
{
	switch (s) {
	case SNP_MAP_4K: return "4K";
	case SNP_MAP_2M: return "2M";
	case SNP_MAP_1G: return "1G";
	}
	return "?";
}

static const char *const fault_rule_names[SNP_RULE_NR] = {
	[SNP_RULE_NONE] = "NONE",
	[SNP_RULE_RMP_4K_NOT_HV_OWNED] = "RMP_4K_NOT_HV_OWNED",
	[SNP_RULE_RMP_2M_NOT_HV_OWNED] = "RMP_2M_NOT_HV_OWNED",
	[SNP_RULE_INUSE_WRITE] = "INUSE_WRITE",
	[SNP_RULE_INUSE_READ] = "INUSE_READ",
	[SNP_RULE_ERRATUM_2M_BASE_INUSE] = "ERRATUM_2M_BASE_INUSE",
	[SNP_RULE_NPF_NOT_PRESENT] = "NPF_NOT_PRESENT",
	[SNP_RULE_NPF_NOT_WRITABLE] = "NPF_NOT_WRITABLE",
	[SNP_RULE_NPF_RMP_NOT_COVERED] = "NPF_RMP_NOT_COVERED",
	[SNP_RULE_NPF_RMP_NOT_GUEST_OWNED] = "NPF_RMP_NOT_GUEST_OWNED",
	[SNP_RULE_NPF_RMP_REVERSE_MAP] = "NPF_RMP_REVERSE_MAP",
	[SNP_RULE_NPF_RMP_IMMUTABLE] = "NPF_RMP_IMMUTABLE",
	[SNP_RULE_NPF_RMP_PAGE_SIZE] = "NPF_RMP_PAGE_SIZE",
	[SNP_RULE_VC_NOT_VALIDATED] = "VC_NOT_VALIDATED",
	[SNP_RULE_NPF_RMP_VMPL] = "NPF_RMP_VMPL",
	[SNP_RULE_NPF_RMP_SHARED_NOT_HV_OWNED] = "NPF_RMP_SHARED_NOT_HV_OWNED",
};

const char *snp_fault_rule_name(enum snp_fault_rule r)
{
	if ((unsigned int)r >= SNP_RULE_NR)
		return "?";
	return fault_rule_names[r];
}

/* ---- machine life ------------------------------------------------------------ */

static void machine_free(struct snp_machine *m)
{
	if (m->cpu)
		for (unsigned int c = 0; c < m->nr_cpus; c++)
			snp_tlb_free(&m->cpu[c].tlb);
	free(m->cpu);
	snp_dmap_free(&m->dmap);
	free(m->log.rec);
	snp_rmp_destroy(m->rmp);
	free(m);
}

static SNP_MUST_CHECK int machine_check_config(const struct snp_machine_config *cfg)
{
	if (cfg->nr_cpus > SNP_MACHINE_MAX_CPUS)
		return SNP_EINVAL;
	if ((unsigned int)cfg->direct_map > SNP_DMAP_4K ||
	    (unsigned int)cfg->ram_layout >= SNP_RAM_NR_LAYOUTS)
		return SNP_EINVAL;
	if (cfg->tlb_entries > 1u << 16)
		return SNP_EINVAL;
	return 0;
}

static enum snp_map_size dmap_boot_leaf(enum snp_dmap_boot b)
{
	return b == SNP_DMAP_4K ? SNP_MAP_4K : b == SNP_DMAP_2M ? SNP_MAP_2M : SNP_MAP_1G;
}

int snp_machine_create(const struct snp_machine_config *cfg, struct snp_machine **out)
{
	struct snp_rmp_config rc;
	struct snp_ram_map ram;
	struct snp_machine *m;
	unsigned int tlb_nr;
	int ret;

	if (!cfg || !out)
		return SNP_EINVAL;
	*out = NULL;
	ret = machine_check_config(cfg);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return SNP_ENOMEM;
	rc = (struct snp_rmp_config){ .mem_bytes = cfg->mem_bytes,
				      .rmp_covered_bytes = cfg->rmp_covered_bytes,
				      .profile = cfg->profile };
	ret = snp_rmp_create(&rc, &m->rmp);
	if (ret) {
		free(m);
		return ret;
	}
	m->mem_bytes = snp_rmp_mem_bytes(m->rmp);
	m->nr_cpus = cfg->nr_cpus ? cfg->nr_cpus : SNP_DEFAULT_CPUS;
	tlb_nr = cfg->tlb_entries ? cfg->tlb_entries : SNP_TLB_DEFAULT_ENTRIES;
	m->log.max = cfg->fault_log_max ? cfg->fault_log_max : SNP_DEFAULT_FAULT_LOG;
	m->cpu = calloc(m->nr_cpus, sizeof(*m->cpu));
	if (!m->cpu) {
		machine_free(m);
		return SNP_ENOMEM;
	}
	for (unsigned int c = 0; c < m->nr_cpus; c++) {
		if (snp_tlb_init(&m->cpu[c].tlb, tlb_nr)) {
			machine_free(m);
			return SNP_ENOMEM;
		}
	}
	ret = snp_ram_map_build(cfg->ram_layout, m->mem_bytes, &ram);
	if (!ret)
		ret = snp_dmap_init(&m->dmap, &ram, m->mem_bytes, dmap_boot_leaf(cfg->direct_map));
	if (ret) {
		machine_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void snp_machine_destroy(struct snp_machine *m)
{
	if (m)
		machine_free(m);
}

struct snp_rmp *snp_machine_rmp(struct snp_machine *m)
{
	return m ? m->rmp : NULL;
}

struct snp_profile *snp_machine_profile(struct snp_machine *m)
{
	return m ? snp_rmp_profile_mut(m->rmp) : NULL;
}

unsigned int snp_machine_nr_cpus(const struct snp_machine *m)
{
	return m ? m->nr_cpus : 0;
}

uint64_t snp_machine_mem_bytes(const struct snp_machine *m)
{
	return m ? m->mem_bytes : 0;
}

size_t snp_machine_storage_bytes(const struct snp_machine *m)
{
	size_t n;

	if (!m)
		return 0;
	n = sizeof(*m) + m->nr_cpus * sizeof(*m->cpu);
	for (unsigned int c = 0; c < m->nr_cpus; c++)
		n += snp_tlb_storage_bytes(&m->cpu[c].tlb);
	n += m->dmap.nr_1g * sizeof(*m->dmap.pmd);
	for (uint64_t i = 0; i < m->dmap.nr_1g; i++)
		n += m->dmap.pmd[i] ? SNP_PMDS_PER_PUD : 0;
	n += m->log.cap * sizeof(*m->log.rec);
	return n;
}

/* ---- fault log --------------------------------------------------------------- */

/* A zeroed record to fill, or NULL when the log is full (the fault is still counted). */
struct snp_fault_record *snp_fault_new(struct snp_machine *m)
{
	struct snp_fault_record *r;

	m->log.count++;
	if (m->log.kept == m->log.max)
		return NULL;
	if (m->log.kept == m->log.cap) {
		unsigned long cap = m->log.cap ? 2 * m->log.cap : 16;
		struct snp_fault_record *rec;

		if (cap > m->log.max)
			cap = m->log.max;
		rec = realloc(m->log.rec, cap * sizeof(*rec));
		if (!rec)
			return NULL;
		m->log.rec = rec;
		m->log.cap = cap;
	}
	r = &m->log.rec[m->log.kept++];
	memset(r, 0, sizeof(*r));
	r->seq = m->log.count - 1;
	return r;
}

/* Append the formatted RMP entry of pfn to r's dump (one line per entry). */
void snp_fault_dump_entry(const struct snp_machine *m, struct snp_fault_record *r, snp_pfn_t pfn)
{
	struct snp_rmpentry e;
	char line[256];
	size_t used = strlen(r->rmp_dump);

	if (snp_rmp_query(m->rmp, snp_pfn_to_phys(pfn), &e))
		return;
	snp_rmpentry_format(snp_pfn_to_phys(pfn), &e, line, sizeof(line));
	snprintf(r->rmp_dump + used, sizeof(r->rmp_dump) - used, "%s%s", used ? "\n" : "", line);
}

unsigned long snp_fault_count(const struct snp_machine *m)
{
	return m ? m->log.count : 0;
}

unsigned long snp_fault_count_spurious(const struct snp_machine *m)
{
	return m ? m->log.spurious : 0;
}

int snp_fault_get(const struct snp_machine *m, unsigned long idx, struct snp_fault_record *out)
{
	if (!m || !out)
		return SNP_EINVAL;
	if (idx >= m->log.kept)
		return SNP_ENOENT;
	*out = m->log.rec[idx];
	return 0;
}

int snp_fault_last(const struct snp_machine *m, struct snp_fault_record *out)
{
	if (!m || !out)
		return SNP_EINVAL;
	if (!m->log.kept)
		return SNP_ENOENT;
	*out = m->log.rec[m->log.kept - 1];
	return 0;
}

void snp_fault_clear(struct snp_machine *m)
{
	if (!m)
		return;
	m->log.kept = 0;
	m->log.count = 0;
	m->log.spurious = 0;
}

char *snp_fault_format(const struct snp_fault_record *r, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (!r) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len,
		 "%s %s fault #%lu: CPU %u %s %s 0x%llx (pa 0x%llx) via %s translation: %s%s\n"
		 "  %s error code 0x%llx%s%s\n%s",
		 r->spurious ? "spurious" : "real", r->guest ? "guest" : "host", r->seq, r->cpu,
		 r->write ? "write" : "read", r->guest ? "gpa" : "va",
		 (unsigned long long)r->va, (unsigned long long)r->pa,
		 snp_map_size_name(r->size), snp_fault_rule_name(r->rule),
		 !r->spurious ? "" : r->rule == SNP_RULE_ERRATUM_2M_BASE_INUSE ? " (in-use erratum)"
		 : " (concurrent use of the entry, APM 15.36.10: retry)",
		 snp_exc_name(r->exc.vector), (unsigned long long)r->exc.error_code,
		 r->inuse_owner[0] ? "; in-use page is the " : "", r->inuse_owner, r->rmp_dump);
	return buf;
}

/* ---- host accesses --------------------------------------------------------------- */

/*
 * The RMP checks of one host access of pfn through a leaf of size leaf.
 * Returns the rule that fires, SNP_RULE_NONE if the access may proceed.
 * Reads meet the in-use rules only with inuse_reads_fault (an assumption
 * either way: the changelog of LINUX 75253db41a46 says "accesses").
 *
 * This runs on every TLB fill, so it reads the RMP inline (rmp_internal.h):
 * the 2MB ownership check is the region's assigned count, and when the
 * region's summary counts hold no in-use (or counting locked) entry, neither
 * in-use rule can fire, pfn's nor the erratum's base entry: one read of the
 * region decides the common case in O(1).  pfn is in range (host_access).
 */
static enum snp_fault_rule host_rmp_check(const struct snp_machine *m, snp_pfn_t pfn,
					  enum snp_map_size leaf, bool write)
{
	const struct snp_rmp *rmp = m->rmp;
	const struct snp_profile *p = &rmp->profile;
	const struct rmp_region *r = rmp_region_of(rmp, pfn);
	bool huge = leaf != SNP_MAP_4K;
	snp_pfn_t base = snp_pfn_2m_base(pfn);

	if (write && huge && r->nr_assigned)
		return SNP_RULE_RMP_2M_NOT_HV_OWNED;
	if (write && !huge && (rmp_lo(rmp, pfn) & RMPE_ASSIGNED))
		return SNP_RULE_RMP_4K_NOT_HV_OWNED;
	if ((!write && !p->inuse_reads_fault) || !rmp_region_inuse_possible(rmp, r))
		return SNP_RULE_NONE;
	if (!p->hv_inuse_wr_allowed && rmp_entry_inuse(rmp, pfn))
		return write ? SNP_RULE_INUSE_WRITE : SNP_RULE_INUSE_READ;
	if (huge && snp_profile_erratum(p) && rmp_entry_inuse(rmp, base))
		return SNP_RULE_ERRATUM_2M_BASE_INUSE;
	return SNP_RULE_NONE;
}

/*
 * A fault is spurious when no architectural rule was broken: the erratum,
 * or an in-use rule tripped only by another CPU's RMPUPDATE in flight on
 * the entry (APM 15.36.10: "another logical processor is using the RMP
 * entry"; software retries), not by a VMRUN mark.
 */
static bool host_fault_spurious(const struct snp_machine *m, snp_pfn_t pfn,
				enum snp_fault_rule rule)
{
	struct snp_rmpentry e;

	if (rule == SNP_RULE_ERRATUM_2M_BASE_INUSE)
		return true;
	if (rule != SNP_RULE_INUSE_WRITE && rule != SNP_RULE_INUSE_READ)
		return false;
	return !snp_rmp_query(m->rmp, snp_pfn_to_phys(pfn), &e) && e.locked && !e.in_use;
}

/* First Assigned entry of pfn's 2MB region (what made a 2M check fail). */
static snp_pfn_t first_assigned_in_2m(const struct snp_machine *m, snp_pfn_t pfn)
{
	snp_pfn_t base = snp_pfn_2m_base(pfn);
	struct snp_rmpentry e;

	for (snp_pfn_t p = base; p < base + SNP_PTRS_PER_PMD; p++)
		if (!snp_rmp_query(m->rmp, snp_pfn_to_phys(p), &e) && e.assigned)
			return p;
	return base;
}

/* Name what holds the in-use mark of pfn: a VMRUN, or an RMPUPDATE in flight. */
static void describe_inuse(const struct snp_machine *m, snp_pfn_t pfn, char *buf, size_t len)
{
	struct snp_rmpentry e;

	if (snp_inuse_owner(m, pfn, buf, len) > 0)
		return;
	if (!snp_rmp_query(m->rmp, snp_pfn_to_phys(pfn), &e) && e.locked)
		snprintf(buf, len, "entry locked by an RMPUPDATE in flight (pfn 0x%llx)",
			 (unsigned long long)pfn);
	else
		snprintf(buf, len, "page 0x%llx (in-use, no VMRUN known to the model)",
			 (unsigned long long)pfn);
}

static void record_host_fault(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
			      enum snp_map_size leaf, enum snp_fault_rule rule,
			      const struct snp_exc *exc)
{
	snp_pfn_t pfn = snp_phys_to_pfn(va - SNP_PAGE_OFFSET);
	snp_pfn_t base = snp_pfn_2m_base(pfn);
	struct snp_fault_record *r;
	bool spurious = host_fault_spurious(m, pfn, rule);

	m->log.spurious += spurious;
	r = snp_fault_new(m);
	if (!r)
		return;
	*r = (struct snp_fault_record){ .seq = r->seq, .cpu = cpu, .va = va,
					.pa = va - SNP_PAGE_OFFSET, .write = write, .size = leaf,
					.rule = rule, .spurious = spurious, .exc = *exc };
	snp_fault_dump_entry(m, r, pfn);
	if (rule == SNP_RULE_INUSE_WRITE || rule == SNP_RULE_INUSE_READ)
		describe_inuse(m, pfn, r->inuse_owner, sizeof(r->inuse_owner));
	if (rule == SNP_RULE_ERRATUM_2M_BASE_INUSE) {
		describe_inuse(m, base, r->inuse_owner, sizeof(r->inuse_owner));
		if (base != pfn)
			snp_fault_dump_entry(m, r, base);
	}
	if (rule == SNP_RULE_RMP_2M_NOT_HV_OWNED && first_assigned_in_2m(m, pfn) != pfn)
		snp_fault_dump_entry(m, r, first_assigned_in_2m(m, pfn));
}

static void tlb_fill_host(struct snp_tlb *tlb, uint64_t va, enum snp_map_size leaf, bool write)
{
	uint64_t mask = leaf == SNP_MAP_4K ? SNP_PAGE_SIZE - 1 : SNP_PMD_SIZE - 1;
	struct snp_tlb_entry *e = snp_tlb_fill(tlb, va & ~mask,
					       leaf == SNP_MAP_4K ? SNP_MAP_4K : SNP_MAP_2M);

	e->pa = (va & ~mask) - SNP_PAGE_OFFSET;
	e->leaf = leaf;
	e->write_checked = write;
}

/* Raise the #PF of a host access rule refused: a fault record and SNP_EFAULT. */
static SNP_MUST_CHECK int host_fault(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
				     enum snp_map_size leaf, enum snp_fault_rule rule, struct snp_exc *exc)
{
	const struct snp_exc pf = { .vector = SNP_EXC_PF,
				    .error_code = SNP_PF_PRESENT | SNP_PF_RMP | (write ? SNP_PF_WRITE : 0) };

	record_host_fault(m, cpu, va, write, leaf, rule, &pf);
	if (exc)
		*exc = pf;
	return SNP_EFAULT;
}

/* A host access; leaf_miss is the leaf a TLB miss walks to (the direct map's when < 0). */
static SNP_MUST_CHECK int host_access(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
		       int leaf_miss, struct snp_exc *exc)
{
	const struct snp_profile *p;
	enum snp_fault_rule rule;
	enum snp_map_size leaf;
	struct snp_tlb *tlb;
	int idx;

	if (exc)
		*exc = (struct snp_exc){ .vector = SNP_EXC_NONE };
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	if (va < SNP_PAGE_OFFSET || va - SNP_PAGE_OFFSET >= m->mem_bytes)
		return SNP_ERANGE;
	p = &m->rmp->profile;
	tlb = &m->cpu[cpu].tlb;
	idx = snp_tlb_find(tlb, va);
	if (idx >= 0) {
		if (!p->rmp_check_every_access && (!write || tlb->e[idx].write_checked))
			return 0;
		leaf = tlb->e[idx].leaf;
	} else {
		leaf = leaf_miss >= 0 ? (enum snp_map_size)leaf_miss :
					snp_dmap_leaf(&m->dmap, va - SNP_PAGE_OFFSET);
	}
	rule = host_rmp_check(m, snp_phys_to_pfn(va - SNP_PAGE_OFFSET), leaf, write);
	if (rule != SNP_RULE_NONE) {
		/* x86 drops the TLB entries of the faulting address on a #PF. */
		snp_tlb_drop(tlb, idx);
		return host_fault(m, cpu, va, write, leaf, rule, exc);
	}
	if (idx >= 0)
		tlb->e[idx].write_checked |= write;
	else
		tlb_fill_host(tlb, va, leaf, write);
	return 0;
}

int snp_host_access(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
		    struct snp_exc *exc)
{
	return host_access(m, cpu, va, write, -1, exc);
}

int snp_host_access_leaf(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
			 enum snp_map_size leaf, struct snp_exc *exc)
{
	if ((unsigned int)leaf > SNP_MAP_1G) {
		if (exc)
			*exc = (struct snp_exc){ .vector = SNP_EXC_NONE };
		return SNP_EINVAL;
	}
	return host_access(m, cpu, va, write, (int)leaf, exc);
}

int snp_host_check_leaf(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
			enum snp_map_size leaf, struct snp_exc *exc)
{
	enum snp_fault_rule rule;

	if (exc)
		*exc = (struct snp_exc){ .vector = SNP_EXC_NONE };
	if (!snp_machine_cpu_ok(m, cpu) || (unsigned int)leaf > SNP_MAP_1G)
		return SNP_EINVAL;
	if (va < SNP_PAGE_OFFSET || va - SNP_PAGE_OFFSET >= m->mem_bytes)
		return SNP_ERANGE;
	rule = host_rmp_check(m, snp_phys_to_pfn(va - SNP_PAGE_OFFSET), leaf, write);
	return rule == SNP_RULE_NONE ? 0 : host_fault(m, cpu, va, write, leaf, rule, exc);
}
