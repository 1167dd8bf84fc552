// SPDX-License-Identifier: MIT
/*
 * directmap.c - the host kernel's direct map (physmap) and the kernel's RMP
 * helpers that keep it safe.
 *
 * The direct map is the only place where a large mapping can cover a page
 * KVM hands to the CPU (LKML-REVIEW, Sean Christopherson), so it is the only
 * host page table the model keeps.  It starts with the largest leaves the
 * RAM map allows (1G, or 2M/4K by struct snp_machine_config.direct_map; 4K
 * where a region is only partly RAM, .ram_layout) and only ever splits, as Linux's
 * set_memory_4k() (arch/x86/mm/pat/set_memory.c) does; the kernel never
 * merges the direct map back after an RMP-driven split (LINUX commit
 * 661b1c6169e2).
 *
 * Storage is one pointer per 1GB region, plus 512 bytes per 1GB region
 * that has been split: a 1 TiB host at boot costs 8 KiB.
 */
#include "machine.h"

#include <stdlib.h>
#include <string.h>


static uint8_t *dmap_alloc_pmd(enum snp_map_size leaf)
{
	uint8_t *pmd = malloc(SNP_PMDS_PER_PUD);

	if (pmd)
		memset(pmd, leaf, SNP_PMDS_PER_PUD);
	return pmd;
}

/*
 * Leaf of one 2MB region at boot: a hugepage only where the whole region is
 * RAM (LINUX arch/x86/mm/init.c adjust_range_page_size_mask():
 * memblock_is_region_memory() of the rounded range; init_64.c
 * phys_pmd_init() installs the 2M leaf only with PG_LEVEL_2M in the mask).
 * A region that is partly RAM is mapped with 4K leaves where it is RAM; the
 * model keeps its non-RAM pages "4K-mapped" too: the allocator never hands
 * them out, so no store reaches them.
 */
static uint8_t dmap_boot_pmd_leaf(const struct snp_ram_map *ram, snp_spa_t pa, enum snp_map_size boot)
{
	if (boot == SNP_MAP_4K || !snp_ram_map_covers(ram, pa, pa + SNP_PMD_SIZE))
		return SNP_MAP_4K;
	return SNP_MAP_2M;
}

int snp_dmap_init(struct snp_dmap *d, const struct snp_ram_map *ram, uint64_t mem_bytes,
		  enum snp_map_size boot)
{
	memset(d, 0, sizeof(*d));
	d->nr_1g = (mem_bytes + SNP_PUD_SIZE - 1) >> SNP_PUD_SHIFT;
	d->pmd = calloc(d->nr_1g, sizeof(*d->pmd));
	if (!d->pmd)
		return SNP_ENOMEM;
	for (uint64_t i = 0; i < d->nr_1g; i++) {
		snp_spa_t base = i << SNP_PUD_SHIFT;

		/* A 1G leaf needs the whole 1GB to be RAM (split_mem_range(), gbpages on). */
		if (boot == SNP_MAP_1G && snp_ram_map_covers(ram, base, base + SNP_PUD_SIZE))
			continue;
		d->pmd[i] = malloc(SNP_PMDS_PER_PUD);
		if (!d->pmd[i]) {
			snp_dmap_free(d);
			return SNP_ENOMEM;
		}
		for (uint64_t j = 0; j < SNP_PMDS_PER_PUD; j++)
			d->pmd[i][j] = dmap_boot_pmd_leaf(ram, base + j * SNP_PMD_SIZE, boot);
	}
	return 0;
}

void snp_dmap_free(struct snp_dmap *d)
{
	if (!d->pmd)
		return;
	for (uint64_t i = 0; i < d->nr_1g; i++)
		free(d->pmd[i]);
	free(d->pmd);
	d->pmd = NULL;
}

static SNP_MUST_CHECK int va_to_pa(const struct snp_machine *m, uint64_t va, snp_spa_t *pa)
{
	if (va < SNP_PAGE_OFFSET || va - SNP_PAGE_OFFSET >= m->mem_bytes)
		return SNP_ERANGE;
	*pa = va - SNP_PAGE_OFFSET;
	return 0;
}

int snp_direct_map_lookup(const struct snp_machine *m, uint64_t va, enum snp_map_size *size)
{
	snp_spa_t pa;
	int ret;

	if (!m || !size)
		return SNP_EINVAL;
	ret = va_to_pa(m, va, &pa);
	if (ret)
		return ret;
	*size = snp_dmap_leaf(&m->dmap, pa);
	return 0;
}

/*
 * Split the leaf mapping the 2MB region of pa down to 4K: the 1G leaf above
 * it first (into 512 2M leaves), then the 2M leaf.  Each split is followed by
 * a shootdown of what the old leaf translated, so no CPU keeps using it.
 */
static SNP_MUST_CHECK int dmap_split_to_4k(struct snp_machine *m, snp_spa_t pa)
{
	struct snp_dmap *d = &m->dmap;
	uint64_t pud = pa >> SNP_PUD_SHIFT;
	uint8_t *leaf;

	if (!d->pmd[pud]) {
		d->pmd[pud] = dmap_alloc_pmd(SNP_MAP_2M);
		if (!d->pmd[pud])
			return SNP_ENOMEM;
		d->nr_split_1g++;
		snp_tlb_flush_range_all(m, snp_phys_to_virt(pud << SNP_PUD_SHIFT), SNP_PUD_SIZE);
	}
	leaf = &d->pmd[pud][(pa >> SNP_PMD_SHIFT) & (SNP_PMDS_PER_PUD - 1)];
	if (*leaf == SNP_MAP_2M) {
		*leaf = SNP_MAP_4K;
		d->nr_split_2m++;
		snp_tlb_flush_range_all(m, snp_phys_to_virt(pa & ~(SNP_PMD_SIZE - 1)), SNP_PMD_SIZE);
	}
	return 0;
}

int snp_set_memory_4k(struct snp_machine *m, uint64_t va, uint64_t numpages)
{
	snp_spa_t pa, last;
	int ret;

	if (!m || numpages == 0 || !snp_is_aligned(va, SNP_PAGE_SIZE))
		return SNP_EINVAL;
	ret = va_to_pa(m, va, &pa);
	if (ret)
		return ret;
	if (numpages > (m->mem_bytes - pa) >> SNP_PAGE_SHIFT)
		return SNP_ERANGE;
	last = pa + (numpages << SNP_PAGE_SHIFT) - 1;
	for (snp_spa_t p = pa & ~(SNP_PMD_SIZE - 1); p <= last; p += SNP_PMD_SIZE) {
		ret = dmap_split_to_4k(m, p);
		if (ret)
			return ret;
	}
	return 0;
}

uint64_t snp_direct_map_nr_split_1g(const struct snp_machine *m)
{
	return m ? m->dmap.nr_split_1g : 0;
}

uint64_t snp_direct_map_nr_split_2m(const struct snp_machine *m)
{
	return m ? m->dmap.nr_split_2m : 0;
}

/*
 * adjust_direct_map() (LINUX arch/x86/virt/svm/sev.c): before the RMP entry
 * of a 4K page changes, map that page with a 4K leaf, so that no hugepage
 * translation covers a 2MB region with a mix of owners (a hugepage write
 * there would take an RMP #PF: the region is checked as a whole).  A 2M
 * transition changes the whole region at once and needs no split, even
 * under a 1G leaf, since the 1G leaf is checked 2MB at a time.
 */
static SNP_MUST_CHECK int adjust_direct_map(struct snp_machine *m, snp_pfn_t pfn, bool rmp_2m)
{
	if (rmp_2m)
		return 0;   /* 2MB alignment: checked by snp_host_rmpupdate() as misuse */
	if (snp_dmap_leaf(&m->dmap, snp_pfn_to_phys(pfn)) == SNP_MAP_4K)
		return 0;
	return snp_set_memory_4k(m, snp_pfn_to_virt(pfn), 1);
}

/* Linux retries FAIL_OVERLAP forever (it is transient there); the model bounds it. */
#define SNP_RMPUPDATE_OVERLAP_RETRIES 3

/*
 * A failed split is the kernel's -EFAULT too: rmpupdate() returns -EFAULT
 * when adjust_direct_map() fails.  Misuse keeps its own code.
 */
int snp_host_rmpupdate(struct snp_machine *m, snp_pfn_t pfn, const struct snp_rmpupdate_in *in,
		       int *rmp_ret)
{
	int ret, code = SNP_RMP_SUCCESS;

	if (!m || !in)
		return SNP_EINVAL;
	if (!snp_machine_pfn_ok(m, pfn))
		return SNP_ERANGE;
	/* adjust_direct_map()'s -EINVAL: the kernel turns it into -EFAULT; here it stays misuse. */
	if (in->pagesize_2m && !snp_pfn_2m_aligned(pfn))
		return SNP_EINVAL;
	if (adjust_direct_map(m, pfn, in->pagesize_2m))
		return SNP_EFAULT;
	for (int i = 0; i < SNP_RMPUPDATE_OVERLAP_RETRIES; i++) {
		ret = snp_rmpupdate(m->rmp, SNP_CALLER_HV, snp_pfn_to_phys(pfn), in, &code);
		if (ret)
			return ret;
		if (code != SNP_FAIL_OVERLAP)
			break;
	}
	if (rmp_ret)
		*rmp_ret = code;
	return code == SNP_RMP_SUCCESS ? 0 : SNP_EFAULT;
}

static SNP_MUST_CHECK int rmp_level_is_2m(enum snp_map_size level, bool *is_2m)
{
	if (level != SNP_MAP_4K && level != SNP_MAP_2M)
		return SNP_EINVAL;  /* no 1G RMP entries on current parts */
	*is_2m = level == SNP_MAP_2M;
	return 0;
}

int snp_rmp_make_private(struct snp_machine *m, snp_pfn_t pfn, snp_gpa_t gpa,
			 enum snp_map_size level, uint32_t asid, bool immutable, int *rmp_ret)
{
	struct snp_rmpupdate_in in = { .gpa = gpa, .assigned = true, .asid = asid,
				       .immutable = immutable };

	if (rmp_level_is_2m(level, &in.pagesize_2m))
		return SNP_EINVAL;
	return snp_host_rmpupdate(m, pfn, &in, rmp_ret);
}

int snp_rmp_make_shared(struct snp_machine *m, snp_pfn_t pfn, enum snp_map_size level,
			int *rmp_ret)
{
	struct snp_rmpupdate_in in = { .assigned = false };

	if (rmp_level_is_2m(level, &in.pagesize_2m))
		return SNP_EINVAL;
	return snp_host_rmpupdate(m, pfn, &in, rmp_ret);
}
