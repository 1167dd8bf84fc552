// SPDX-License-Identifier: MIT
/*
 * test_mmu_tlb.c - TLB fills and flushes (single, full, shootdown), the
 * direct map and its split policy (LINUX arch/x86/virt/svm/sev.c,
 * adjust_direct_map), storage that grows only with splits, and bad input.
 */
#include "mmu_test_util.h"

#include <snpsafe/mm.h>

/*
 * A reference TLB written plainly (a scan of every slot, the lowest free
 * slot for a fill, round-robin eviction when full), against which the
 * machine's indexed TLB must agree on every lookup: which entry, its size,
 * the number of valid entries, through fills of 4K and 2M entries that
 * overlap, evictions, INVLPGs and shootdowns.
 */
struct ref_tlb {
	uint64_t va[16];
	uint64_t bytes[16];
	bool valid[16];
	unsigned int nr, next;
};

static int ref_find(const struct ref_tlb *r, uint64_t va)
{
	for (unsigned int i = 0; i < r->nr; i++)
		if (r->valid[i] && va - r->va[i] < r->bytes[i])
			return (int)i;
	return -1;
}

static void ref_fill(struct ref_tlb *r, uint64_t va, enum snp_map_size leaf)
{
	uint64_t bytes = leaf == SNP_MAP_4K ? SNP_PAGE_SIZE : SNP_PMD_SIZE;
	unsigned int slot = r->nr;

	for (unsigned int i = 0; i < r->nr && slot == r->nr; i++)
		if (!r->valid[i])
			slot = i;
	if (slot == r->nr) {
		slot = r->next;
		r->next = (r->next + 1) % r->nr;
	}
	r->va[slot] = va & ~(bytes - 1);
	r->bytes[slot] = bytes;
	r->valid[slot] = true;
}

static int ref_count(const struct ref_tlb *r)
{
	int n = 0;

	for (unsigned int i = 0; i < r->nr; i++)
		n += r->valid[i];
	return n;
}

static void ref_flush(struct ref_tlb *r, uint64_t va, uint64_t len)
{
	for (unsigned int i = 0; i < r->nr; i++)
		if (r->valid[i] && r->va[i] < va + len && va < r->va[i] + r->bytes[i])
			r->valid[i] = false;
}

static void tlb_index_matches_reference(void)
{
	struct snp_machine_config cfg = { .mem_bytes = 1 * SNP_GiB, .nr_cpus = 2, .tlb_entries = 16,
					  .profile = snp_profile_by_name("early-snp") };
	struct ref_tlb ref = { .nr = 16 };
	struct snp_machine *m = NULL;
	uint64_t rng = 42, mismatches = 0, hits = 0;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	for (unsigned int op = 0; op < 20000; op++) {
		/* 6 regions x 8 pages: 4K and 2M entries of the same region meet often */
		uint64_t x = mm_rng_next(&rng), pfn = (x % 6) * SNP_PTRS_PER_PMD + (x >> 8) % 8;
		uint64_t va = snp_pfn_to_virt(pfn) + (x >> 16) % SNP_PAGE_SIZE;
		enum snp_map_size leaf = (x >> 32) & 1 ? SNP_MAP_4K : SNP_MAP_2M;
		struct snp_tlb_entry e;
		int want = ref_find(&ref, va), got = snp_tlb_lookup(m, 0, va, &e);

		hits += want >= 0;
		mismatches += got != (want >= 0);
		if (got == 1 && want >= 0)
			mismatches += e.va != ref.va[want] ||
				      (e.size == SNP_MAP_4K ? SNP_PAGE_SIZE : SNP_PMD_SIZE) != ref.bytes[want];
		switch ((x >> 40) % 16) {
		case 0:
			KASSERT_EQ(snp_tlb_flush_one(m, 0, va), 0);
			ref_flush(&ref, va, 1);
			break;
		case 1:
			KASSERT_EQ(snp_tlb_shootdown(m, va & ~(SNP_PMD_SIZE - 1), SNP_PMD_SIZE), 0);
			ref_flush(&ref, va & ~(SNP_PMD_SIZE - 1), SNP_PMD_SIZE);
			break;
		default:
			KASSERT_EQ(snp_host_access_leaf(m, 0, va, (x >> 33) & 1, leaf, NULL), 0);
			if (want < 0)
				ref_fill(&ref, va, leaf);
		}
		mismatches += snp_tlb_nr_entries(m, 0) != ref_count(&ref);
	}
	ktap_log("20000 operations, %llu hits", (unsigned long long)hits);
	KEXPECT_EQ(mismatches, 0);
	KEXPECT(hits > 1000 && hits < 19000);
	snp_machine_destroy(m);
}

static void tlb_fill_sizes(void)
{
	static const struct { enum snp_dmap_boot boot; enum snp_map_size size, leaf; } c[] = {
		{ SNP_DMAP_1G, SNP_MAP_2M, SNP_MAP_1G },  /* a 1G leaf installs a 2M entry */
		{ SNP_DMAP_2M, SNP_MAP_2M, SNP_MAP_2M },
		{ SNP_DMAP_4K, SNP_MAP_4K, SNP_MAP_4K },
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(c); i++) {
		struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 0, c[i].boot);
		uint64_t va = snp_pfn_to_virt(T_NEIGHBOUR) + 0x123;
		struct snp_tlb_entry e;

		KEXPECT_EQ(snp_tlb_lookup(m, 0, va, &e), 0);
		KASSERT_EQ(snp_host_read(m, 0, va), 0);
		KASSERT_EQ(snp_tlb_lookup(m, 0, va, &e), 1);
		KEXPECT_EQ(e.size, c[i].size);
		KEXPECT_EQ(e.leaf, c[i].leaf);
		KEXPECT(!e.write_checked);
		KEXPECT_EQ(e.pa, snp_pfn_to_phys(c[i].size == SNP_MAP_4K ? T_NEIGHBOUR : T_REGION));
		KASSERT_EQ(snp_host_write(m, 0, va), 0);
		KASSERT_EQ(snp_tlb_lookup(m, 0, va, &e), 1);
		KEXPECT(e.write_checked);
		KEXPECT_EQ(snp_tlb_nr_entries(m, 0), 1);
		KEXPECT_EQ(snp_tlb_nr_entries(m, 1), 0);
		snp_machine_destroy(m);
	}
}

static void tlb_flush_single_full_shootdown(void)
{
	struct snp_machine *m = t_machine("early-snp");
	uint64_t a = snp_pfn_to_virt(T_REGION), b = snp_pfn_to_virt(T_NEXT_REGION);

	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		KASSERT_EQ(snp_host_write(m, cpu, a), 0);
		KASSERT_EQ(snp_host_write(m, cpu, b), 0);
		KASSERT_EQ(snp_tlb_nr_entries(m, cpu), 2);
	}
	/* INVLPG: one address, one CPU; any address inside the 2M entry drops it. */
	KASSERT_EQ(snp_tlb_flush_one(m, 0, a + 0x1f0000), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 0, a, NULL), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 0, b, NULL), 1);
	KEXPECT_EQ(snp_tlb_lookup(m, 1, a, NULL), 1);
	/* Full flush of one CPU. */
	KASSERT_EQ(snp_tlb_flush_all(m, 1), 0);
	KEXPECT_EQ(snp_tlb_nr_entries(m, 1), 0);
	KEXPECT_EQ(snp_tlb_nr_entries(m, 0), 1);
	/* Shootdown: a range on every CPU. */
	KASSERT_EQ(snp_host_write(m, 1, b), 0);
	KASSERT_EQ(snp_host_write(m, 1, a), 0);
	KASSERT_EQ(snp_tlb_shootdown(m, b + 0x1000, SNP_PAGE_SIZE), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 0, b, NULL), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 1, b, NULL), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 1, a, NULL), 1);
	snp_machine_destroy(m);
}

static void tlb_capacity_evicts(void)
{
	struct snp_machine_config cfg = { .mem_bytes = 4 * SNP_GiB, .nr_cpus = 1,
					  .tlb_entries = 4 };
	struct snp_machine *m;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	for (snp_pfn_t r = 0; r < 10; r++)
		KASSERT_EQ(snp_host_write(m, 0, snp_pfn_to_virt(r * 512)), 0);
	KEXPECT_EQ(snp_tlb_nr_entries(m, 0), 4);
	KEXPECT_EQ(snp_tlb_lookup(m, 0, snp_pfn_to_virt(9 * 512), NULL), 1);
	KEXPECT_EQ(snp_tlb_lookup(m, 0, snp_pfn_to_virt(0), NULL), 0);
	snp_machine_destroy(m);
}

/* set_memory_4k: 1G -> 512 x 2M, then only the touched 2M -> 4K; TLBs shot down. */
static void set_memory_4k_splits(void)
{
	struct snp_machine *m = t_machine("early-snp");
	enum snp_map_size s;

	KASSERT_EQ(snp_host_write(m, 0, snp_pfn_to_virt(T_NEXT_REGION)), 0);
	KASSERT_EQ(snp_host_write(m, 1, snp_pfn_to_virt(T_NEIGHBOUR)), 0);
	KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(T_NEIGHBOUR), 1), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_1g(m), 1);
	KEXPECT_EQ(snp_direct_map_nr_split_2m(m), 1);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_pfn_to_virt(T_REGION), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_4K);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_pfn_to_virt(T_NEXT_REGION), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_2M);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_phys_to_virt(SNP_GiB), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_1G);
	/* The old 1G translations are gone from every CPU. */
	KEXPECT_EQ(snp_tlb_nr_entries(m, 0), 0);
	KEXPECT_EQ(snp_tlb_nr_entries(m, 1), 0);
	/* Splitting again is a no-op; a range across two 2MB regions splits both. */
	KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(T_NEIGHBOUR), 1), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_2m(m), 1);
	KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(T_NEXT_REGION - 1), 2), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_2m(m), 2);
	snp_machine_destroy(m);
}

/* Upstream policy: a 4K transition splits first, a 2M one does not, nothing merges back. */
static void split_policy(void)
{
	struct snp_machine *m = t_machine("early-snp");
	enum snp_map_size s;
	int code = -1;

	KASSERT_EQ(snp_rmp_make_private(m, T_REGION, 0x200000, SNP_MAP_2M, 3, false, NULL), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_1g(m), 0);
	KEXPECT_EQ(snp_rmp_make_shared(m, T_REGION, SNP_MAP_2M, NULL), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_1g(m), 0);
	KASSERT_EQ(snp_rmp_make_private(m, T_NEIGHBOUR, 0x1000, SNP_MAP_4K, 3, false, NULL), 0);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_pfn_to_virt(T_NEIGHBOUR), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_4K);
	KEXPECT_EQ(snp_direct_map_nr_split_2m(m), 1);
	KASSERT_EQ(snp_rmp_make_shared(m, T_NEIGHBOUR, SNP_MAP_4K, NULL), 0);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_pfn_to_virt(T_NEIGHBOUR), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_4K);  /* never merged back */
	/* A 2M transition needs a 2MB-aligned pfn (adjust_direct_map's -EINVAL). */
	KEXPECT_EQ(snp_rmp_make_private(m, T_NEIGHBOUR, 0, SNP_MAP_2M, 3, false, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_rmp_make_private(m, T_REGION, 0, SNP_MAP_1G, 3, false, NULL), SNP_EINVAL);
	/* The instruction's own code comes back through rmp_ret, the error is -EFAULT's. */
	KEXPECT_EQ(snp_rmp_make_private(m, T_NEXT_REGION, 0, SNP_MAP_4K, 0, false, &code),
		   SNP_EFAULT);
	KEXPECT_EQ(code, SNP_FAIL_INPUT);
	snp_machine_destroy(m);
}

/* A 1 TiB host with 1G leaves allocates no per-4K (nor per-2M) direct-map state. */
static void storage_scales(void)
{
	struct snp_machine_config cfg = { .mem_bytes = SNP_TiB, .nr_cpus = 4 };
	struct snp_machine *m;
	size_t before, after;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	before = snp_machine_storage_bytes(m);
	ktap_log("1 TiB machine, 4 CPUs: %zu bytes of MMU state", before);
	KEXPECT(before < 64 * 1024);
	for (uint64_t g = 0; g < 8; g++)
		KASSERT_EQ(snp_set_memory_4k(m, snp_phys_to_virt(g * 100 * SNP_GiB), 1), 0);
	after = snp_machine_storage_bytes(m);
	KEXPECT_EQ(after - before, 8 * 512);
	KEXPECT_EQ(snp_host_write(m, 3, snp_phys_to_virt(SNP_TiB - 8)), 0);
	snp_machine_destroy(m);
}

/* A memory size that is not a multiple of 1GB: the tail is mapped with 2M. */
static void partial_gigabyte_tail(void)
{
	struct snp_machine_config cfg = { .mem_bytes = SNP_GiB + 6 * SNP_MiB };
	struct snp_machine *m;
	enum snp_map_size s;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_phys_to_virt(SNP_GiB + 4 * SNP_MiB), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_2M);
	KASSERT_EQ(snp_direct_map_lookup(m, snp_phys_to_virt(0), &s), 0);
	KEXPECT_EQ(s, SNP_MAP_1G);
	KEXPECT_EQ(snp_direct_map_lookup(m, snp_phys_to_virt(SNP_GiB + 6 * SNP_MiB), &s), SNP_ERANGE);
	snp_machine_destroy(m);
}

static void bad_input(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_machine_config cfg = { 0 };
	struct snp_machine *out = (struct snp_machine *)&cfg;
	uint64_t end = snp_phys_to_virt(4 * SNP_GiB);
	struct snp_fault_record r;
	struct snp_exc exc;
	enum snp_map_size s;

	KEXPECT_EQ(snp_machine_create(NULL, &out), SNP_EINVAL);
	KEXPECT_EQ(snp_machine_create(&cfg, NULL), SNP_EINVAL);
	cfg.nr_cpus = SNP_MACHINE_MAX_CPUS + 1;
	KEXPECT_EQ(snp_machine_create(&cfg, &out), SNP_EINVAL);
	KEXPECT(out == NULL);
	cfg.nr_cpus = 1;
	cfg.direct_map = (enum snp_dmap_boot)7;
	KEXPECT_EQ(snp_machine_create(&cfg, &out), SNP_EINVAL);
	cfg.direct_map = SNP_DMAP_1G;
	cfg.mem_bytes = 3 * SNP_MiB;  /* not a multiple of 2MB: the RMP refuses */
	KEXPECT_NE(snp_machine_create(&cfg, &out), 0);
	snp_machine_destroy(NULL);

	KEXPECT_EQ(snp_host_access(NULL, 0, SNP_PAGE_OFFSET, true, &exc), SNP_EINVAL);
	KEXPECT_EQ(exc.vector, SNP_EXC_NONE);
	KEXPECT_EQ(snp_host_access(m, 2, SNP_PAGE_OFFSET, true, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_host_access(m, 0, SNP_PAGE_OFFSET - 1, true, &exc), SNP_ERANGE);
	KEXPECT_EQ(snp_host_access(m, 0, end, false, NULL), SNP_ERANGE);
	KEXPECT_EQ(snp_host_access(m, 0, 0, false, NULL), SNP_ERANGE);
	KEXPECT_EQ(snp_host_access(m, 0, UINT64_MAX, true, NULL), SNP_ERANGE);
	KEXPECT_EQ(snp_host_access(m, 0, end - 1, true, NULL), 0);
	KEXPECT_EQ(snp_direct_map_lookup(m, end, &s), SNP_ERANGE);
	KEXPECT_EQ(snp_direct_map_lookup(m, SNP_PAGE_OFFSET, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_direct_map_lookup(NULL, SNP_PAGE_OFFSET, &s), SNP_EINVAL);
	KEXPECT_EQ(snp_set_memory_4k(NULL, SNP_PAGE_OFFSET, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_set_memory_4k(m, SNP_PAGE_OFFSET + 1, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_set_memory_4k(m, SNP_PAGE_OFFSET, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_set_memory_4k(m, end - SNP_PAGE_SIZE, 2), SNP_ERANGE);
	KEXPECT_EQ(snp_set_memory_4k(m, end - SNP_PAGE_SIZE, UINT64_MAX), SNP_ERANGE);
	KEXPECT_EQ(snp_set_memory_4k(m, end, 1), SNP_ERANGE);
	KEXPECT_EQ(snp_tlb_lookup(NULL, 0, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_lookup(m, 7, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_flush_one(m, 7, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_flush_all(NULL, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_shootdown(NULL, 0, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_shootdown(m, 0, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_shootdown(m, UINT64_MAX, 2), SNP_EINVAL);
	KEXPECT_EQ(snp_tlb_nr_entries(m, 2), SNP_EINVAL);
	KEXPECT_EQ(snp_fault_get(NULL, 0, &r), SNP_EINVAL);
	KEXPECT_EQ(snp_fault_get(m, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_fault_get(m, 0, &r), SNP_ENOENT);
	KEXPECT_EQ(snp_fault_last(NULL, &r), SNP_EINVAL);
	KEXPECT_EQ(snp_fault_count(NULL), 0);
	snp_fault_clear(NULL);
	KEXPECT(snp_fault_format(NULL, NULL, 0) == NULL);
	KEXPECT(!strcmp(snp_fault_rule_name((enum snp_fault_rule)999), "?"));
	KEXPECT(!strcmp(snp_map_size_name(SNP_MAP_1G), "1G"));
	KEXPECT_EQ(snp_host_rmpupdate(NULL, 0, NULL, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_host_rmpupdate(m, 0, NULL, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_rmp_make_shared(m, 4 * SNP_GiB >> SNP_PAGE_SHIFT, SNP_MAP_4K, NULL), SNP_ERANGE);
	KEXPECT_EQ(snp_rmp_make_private(NULL, 0, 0, SNP_MAP_4K, 1, false, NULL), SNP_EINVAL);
	KEXPECT(snp_machine_rmp(NULL) == NULL);
	KEXPECT(snp_machine_profile(NULL) == NULL);
	KEXPECT_EQ(snp_machine_nr_cpus(NULL), 0);
	KEXPECT_EQ(snp_machine_mem_bytes(m), 4 * SNP_GiB);
	KEXPECT_EQ(snp_machine_storage_bytes(NULL), 0);
	snp_machine_destroy(m);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(tlb_fill_sizes),
	KTAP_CASE(tlb_index_matches_reference),
	KTAP_CASE(tlb_flush_single_full_shootdown),
	KTAP_CASE(tlb_capacity_evicts),
	KTAP_CASE(set_memory_4k_splits),
	KTAP_CASE(split_policy),
	KTAP_CASE(storage_scales),
	KTAP_CASE(partial_gigabyte_tail),
	KTAP_CASE(bad_input),
};

KTAP_MAIN("mmu_tlb", cases)
