// SPDX-License-Identifier: MIT
/*
 * test_boot_dump.c - a qemu-pc host started from a measured boot
 * (src/kvm/boot_dump.c, mm_config.pageblock_mt; docs/MODEL.md "Boot state
 * from a dump"), on a made-up 64 MiB dump:
 *  - the text: pageblock lines with and without maps, the pbdump prefix,
 *    comments, "4k R"; every malformed line refused with its number and why;
 *  - the host: the dump's pageblock types; its pages in use reserved and
 *    never handed out; its buddy pages free in blocks of their pageblock's
 *    type; its per-CPU-list pages on the lists, each run on one CPU (both
 *    settings of boot_dump_pcp), ascending, so the run's last page is taken
 *    first; the second pageblock of a free order-10 block is buddy, not pcp;
 *    its 4K regions split; none of the boot-state rules;
 *  - misuse: a flat host, a host of another size, a bad boot_dump_pcp.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/mm.h>
#include <snpsafe/mmu.h>
#include <snpsafe/sim.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_MIB 64
#define NR_PB (DUMP_MIB / 2)
#define ZEROS "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

/* 128 hex digits with pages [lo, hi) set. */
static void map_hex(char *out, unsigned int lo, unsigned int hi)
{
	uint8_t m[64] = { 0 };

	for (unsigned int i = lo; i < hi; i++)
		m[i / 8] |= (uint8_t)(1u << (i % 8));
	for (unsigned int i = 0; i < 64; i++)
		sprintf(out + 2 * i, "%02x", m[i]);
}

/*
 * The made-up boot: pageblocks 0-7 in use (type 0, the real-mode megabyte
 * and a kernel), 8 UNMOVABLE with buddy pages 0-63 and pcp pages 100-139
 * and 200-209, 9 UNMOVABLE in use, 10-11 a free order-10 block as pbdump
 * prints one (buddy 512, then pcp 512), 12 RECLAIMABLE in use, 13 MOVABLE
 * partly free without maps (100 pages), the rest free MOVABLE; region 9 4K.
 */
static char *dump_text(void)
{
	char *t = malloc(64 * 1024), b[129], p[129];
	size_t n = 0;

	KASSERT(t != NULL);
	n += (size_t)sprintf(t + n, "# a made-up boot\n\n");
	for (unsigned int pb = 0; pb < NR_PB; pb++) {
		unsigned long pfn = pb * 512ul;

		if (pb < 8 || pb == 9)
			n += (size_t)sprintf(t + n, "snpsafe-pbdump: %lx mt 0 buddy 0 pcp 0 b %s p %s\n", pfn, ZEROS, ZEROS);
		else if (pb == 8) {
			map_hex(b, 0, 64);
			map_hex(p, 100, 140);
			n += (size_t)sprintf(t + n, "%lx mt 0 buddy 64 pcp 50 b %s p %s\n", pfn, b, p);
			/* the second run, 200-209, goes in by a map edit below */
		} else if (pb == 10)
			n += (size_t)sprintf(t + n, "%lx mt 1 buddy 512 pcp 0\n", pfn);
		else if (pb == 11)
			n += (size_t)sprintf(t + n, "%lx mt 1 buddy 0 pcp 512\n", pfn);
		else if (pb == 12)
			n += (size_t)sprintf(t + n, "%lx mt 2 buddy 0 pcp 0\n", pfn);
		else if (pb == 13)
			n += (size_t)sprintf(t + n, "%lx mt 1 buddy 100 pcp 0\n", pfn);
		else
			n += (size_t)sprintf(t + n, "%lx\tmt 1 buddy 512 pcp 0\r\n", pfn);
	}
	n += (size_t)sprintf(t + n, "4k 9\n");
	t[n] = 0;
	/* pcp pages 200-209 of pageblock 8 too: set their bits in its p map */
	{
		char *line = strstr(t, "1000 mt 0 buddy 64 pcp 50");
		char *pm = strstr(line, " p ") + 3;

		KASSERT(line != NULL);
		for (unsigned int i = 200; i < 210; i++) {
			unsigned int byte = i / 8, v;

			sscanf(pm + 2 * byte, "%2x", &v);
			v |= 1u << (i % 8);
			sprintf(b, "%02x", v);
			memcpy(pm + 2 * byte, b, 2);
		}
	}
	return t;
}

static struct kvm_boot_dump *parse_ok(const char *t)
{
	struct kvm_boot_dump *d = NULL;
	const char *why = NULL;
	unsigned long line = 99;

	KEXPECT_EQ(kvm_boot_dump_parse(t, strlen(t), &d, &line, &why), 0);
	if (why)
		ktap_log("refused: line %lu: %s", line, why);
	KASSERT(d != NULL);
	return d;
}

/* The made-up boot, parsed. */
static struct kvm_boot_dump *made_up_dump(void)
{
	char *t = dump_text();
	struct kvm_boot_dump *d = parse_ok(t);

	free(t);
	return d;
}

static void config(struct kvm_host_config *hc, const struct kvm_boot_dump *d, enum kvm_boot_dump_pcp p)
{
	kvm_host_config_init(hc, DUMP_MIB * SNP_MiB, 2);
	hc->ram_layout = SNP_RAM_QEMU_PC;
	hc->late_vendor_load = true;
	hc->boot_dump = d;
	hc->boot_dump_pcp = p;
	hc->boot_seed = 3;
}

static struct kvm_host *host_of(const struct kvm_boot_dump *d, enum kvm_boot_dump_pcp p)
{
	struct kvm_host_config hc;
	struct kvm_host *host = NULL;

	config(&hc, d, p);
	KASSERT_EQ(kvm_host_create(&hc, &host), 0);
	return host;
}

static void parses_and_sizes(void)
{
	struct kvm_boot_dump *d = made_up_dump();

	KEXPECT_EQ(kvm_boot_dump_pages(d), NR_PB * 512ull);
	KEXPECT_EQ(kvm_boot_dump_age_rounds(d), 0);
	kvm_boot_dump_free(d);
	kvm_boot_dump_free(NULL);
	d = parse_ok("# an aged boot\naged 8\n0 mt 1 buddy 0 pcp 0\n");
	KEXPECT_EQ(kvm_boot_dump_age_rounds(d), 8);
	kvm_boot_dump_free(d);
}

/* Each bad text: refused, on the line named, with a reason. */
static void refuse(const char *t, unsigned long want_line, const char *needle)
{
	struct kvm_boot_dump *d = (struct kvm_boot_dump *)1;
	const char *why = NULL;
	unsigned long line = 99;

	KEXPECT_EQ(kvm_boot_dump_parse(t, strlen(t), &d, &line, &why), SNP_EINVAL);
	KEXPECT(d == NULL);
	KEXPECT_EQ(line, want_line);
	KEXPECT(why != NULL && strstr(why, needle) != NULL);
	if (!why || !strstr(why, needle))
		ktap_log("'%s': %s", t, why ? why : "(no reason)");
}

static void bad_texts_refused(void)
{
	char b[129], p[129], t[512];

	static const struct { const char *text; unsigned long line; const char *why; } bad[] = {
		{ "", 0, "no pageblock" },
		{ "# only a comment\n", 0, "no pageblock" },
		{ "0 mt 1 buddy 512\n", 1, "not \"PFN" },
		{ "0 mt 1 buddy 512 pcp 0\n100 mt 1 buddy 512 pcp 0\n", 2, "pageblock's first" },
		{ "0 mt 1 buddy 512 pcp 0\nzz mt 1 buddy 512 pcp 0\n", 2, "pageblock's first" },
		{ "0 mt 3 buddy 0 pcp 0\n", 1, "migratetype" },
		{ "0 mt 1 buddy 513 pcp 0\n", 1, "buddy count" },
		{ "0 mt 1 buddy -1 pcp 0\n", 1, "buddy count" },
		{ "0 mt 1 buddy 500 pcp 13\n", 1, "over 512" },
		{ "200 mt 1 buddy 0 pcp 0\n0 mt 1 buddy 0 pcp 0\n", 2, "ascending" },
		{ "0 mt 1 buddy 0 pcp 0\n0 mt 1 buddy 0 pcp 0\n", 2, "ascending" },
		{ "0 mt 0 buddy 0 pcp 0 b 00 p 00\n", 1, "128 hex" },
		{ "e0000 mt 1 buddy 0 pcp 0\n", 1, "3584" },
		{ "0 mt 1 buddy 0 pcp 0\n4k\n", 2, "4k REGION" },
		{ "0 mt 1 buddy 0 pcp 0\n4k x\n", 2, "4k REGION" },
		{ "0 mt 1 buddy 0 pcp 0\n4k 1\n", 0, "past the dumped" },
		{ "0 mt 1 buddy 0 pcp 0 a b c d e f g h\n", 1, "not \"PFN" },
		{ "0 mt 1 buddy 0 pcp 0\naged 33\n", 2, "aged N" },
		{ "0 mt 1 buddy 0 pcp 0\naged\n", 2, "aged N" },
	};

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(bad); i++)
		refuse(bad[i].text, bad[i].line, bad[i].why);
	map_hex(b, 0, 4);
	map_hex(p, 2, 6);
	snprintf(t, sizeof(t), "0 mt 0 buddy 4 pcp 4 b %s p %s\n", b, p);
	refuse(t, 1, "both");
	snprintf(t, sizeof(t), "0 mt 0 buddy 5 pcp 4 b %s p %s\n", b, p);
	refuse(t, 1, "count");
	snprintf(t, sizeof(t), "0 mt 0 buddy 0 pcp 0 b %s q %s\n", ZEROS, ZEROS);
	refuse(t, 1, "maps");
	{
		const char nul[] = "0 mt 1 buddy 0\0pcp 0\n";
		struct kvm_boot_dump *d = NULL;
		const char *why = NULL;
		unsigned long line = 0;

		KEXPECT_EQ(kvm_boot_dump_parse(nul, sizeof(nul) - 1, &d, &line, &why), SNP_EINVAL);
		KEXPECT_EQ(line, 1);
	}
	KEXPECT_EQ(kvm_boot_dump_parse("x", 1, NULL, NULL, NULL), SNP_EINVAL);
}

/* The host's types, reservations, free and pcp pages: the dump's. */
static void host_is_the_dump(void)
{
	struct kvm_boot_dump *d = made_up_dump();
	struct kvm_host *host = host_of(d, KVM_BOOT_DUMP_PCP_CPU0);
	struct mm_host *mm = kvm_host_mm(host);
	struct mm_pcp_info pi0, pi1;
	struct mm_counts c;
	snp_pfn_t head;

	KEXPECT_EQ(mm_pageblock_migratetype(mm, 8 * 512), MM_MT_UNMOVABLE);
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 10 * 512), MM_MT_MOVABLE);
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 12 * 512), MM_MT_RECLAIMABLE);
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 20 * 512), MM_MT_MOVABLE);
	/* in use: reserved; buddy pages in blocks of their pageblock's type */
	KEXPECT_EQ(mm_page_reserved(mm, 9 * 512 + 17), 1);
	KEXPECT_EQ(mm_page_reserved(mm, 8 * 512 + 64), 1);
	KEXPECT_EQ(mm_page_reserved(mm, 12 * 512), 1);
	KEXPECT_EQ(mm_free_block_mt(mm, 8 * 512), MM_MT_UNMOVABLE);   /* pages 0-63: one order-6 block */
	KEXPECT_EQ(mm_free_block_mt(mm, 10 * 512), MM_MT_MOVABLE);    /* 10-11: one order-10 block */
	KEXPECT_EQ(mm_page_reserved(mm, 11 * 512 + 5), 0);
	/* the partly free block without maps: its top 100 pages free */
	KEXPECT_EQ(mm_page_reserved(mm, 13 * 512 + 411), 1);
	KEXPECT_EQ(mm_page_reserved(mm, 13 * 512 + 412), 0);
	/* the 50 pcp pages on CPU 0, none on CPU 1; the last of the last run at the head */
	KASSERT_EQ(mm_pcp_sizes(mm, 8 * 512, 0, &pi0), 0);
	KASSERT_EQ(mm_pcp_sizes(mm, 8 * 512, 1, &pi1), 0);
	KEXPECT_EQ(pi0.count, 50);
	KEXPECT_EQ(pi1.count, 0);
	KASSERT_EQ(mm_pcp_peek(mm, 0, 8 * 512, 0, MM_MT_UNMOVABLE, 0, &head), 0);
	KEXPECT_EQ(head, 8 * 512 + 209);
	KEXPECT_EQ(mm_page_reserved(mm, 8 * 512 + 100), 0);
	/* in all: every page the dump had free, less the real-mode megabyte's (in use here anyway) */
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.pcp, 50);
	KEXPECT_EQ(c.allocated, 0);
	KEXPECT_EQ(c.free + c.pcp, 64 + 50 + 1024 + 100 + (NR_PB - 14) * 512ull - 32);   /* top 128K a hole */
	/* region 9 split to 4K */
	{
		enum snp_map_size sz;

		KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(9 * 512 + 3), &sz), 0);
		KEXPECT_EQ(sz, SNP_MAP_4K);
		KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(20 * 512), &sz), 0);
		KEXPECT_EQ(sz, SNP_MAP_2M);
	}
	kvm_host_destroy(host);
	kvm_boot_dump_free(d);
}

/* boot_dump_pcp random: each run whole on one CPU; over seeds both CPUs get runs. */
static void pcp_runs_on_random_cpus(void)
{
	struct kvm_boot_dump *d = made_up_dump();
	bool saw[3] = { false, false, false };   /* all on 0, all on 1, split */

	for (uint64_t seed = 1; seed <= 16; seed++) {
		struct kvm_host_config hc;
		struct kvm_host *host = NULL;
		struct mm_pcp_info pi0, pi1;

		config(&hc, d, KVM_BOOT_DUMP_PCP_RANDOM);
		hc.boot_seed = seed;
		KASSERT_EQ(kvm_host_create(&hc, &host), 0);
		KASSERT_EQ(mm_pcp_sizes(kvm_host_mm(host), 8 * 512, 0, &pi0), 0);
		KASSERT_EQ(mm_pcp_sizes(kvm_host_mm(host), 8 * 512, 1, &pi1), 0);
		KEXPECT_EQ(pi0.count + pi1.count, 50);
		/* runs of 40 and 10: a CPU holds 0, 10, 40 or 50 */
		KEXPECT(pi0.count == 0 || pi0.count == 10 || pi0.count == 40 || pi0.count == 50);
		saw[pi0.count == 50 ? 0 : pi1.count == 50 ? 1 : 2] = true;
		kvm_host_destroy(host);
	}
	KEXPECT(saw[0] && saw[1] && saw[2]);
	kvm_boot_dump_free(d);
}

/* The pages in use are never handed out: allocate everything, none of them comes back. */
static void used_pages_never_handed_out(void)
{
	struct kvm_boot_dump *d = made_up_dump();
	struct kvm_host *host = host_of(d, KVM_BOOT_DUMP_PCP_CPU0);
	struct mm_host *mm = kvm_host_mm(host);
	unsigned int bad = 0, got = 0;
	struct page *p;

	while ((p = mm_alloc_pages(mm, got % 2, MM_GFP_KERNEL, 0)) != NULL) {
		snp_pfn_t pfn = mm_page_to_pfn(mm, p);

		bad += pfn < 8 * 512 || (pfn >= 9 * 512 && pfn < 10 * 512) || (pfn >= 12 * 512 && pfn < 13 * 512);
		got++;
	}
	ktap_log("%u pages handed out, %u of them in use in the dump", got, bad);
	KEXPECT(got > 1000);
	KEXPECT_EQ(bad, 0);
	kvm_host_destroy(host);
	kvm_boot_dump_free(d);
}

static void misuse_refused(void)
{
	struct kvm_boot_dump *d = made_up_dump();
	struct kvm_host_config hc;
	struct kvm_host *host = NULL;

	config(&hc, d, KVM_BOOT_DUMP_PCP_RANDOM);
	hc.ram_layout = SNP_RAM_FLAT;
	KEXPECT_EQ(kvm_host_create(&hc, &host), SNP_EINVAL);
	config(&hc, d, KVM_BOOT_DUMP_PCP_RANDOM);
	hc.mem_bytes = 2 * DUMP_MIB * SNP_MiB;
	KEXPECT_EQ(kvm_host_create(&hc, &host), SNP_EINVAL);
	config(&hc, d, (enum kvm_boot_dump_pcp)7);
	KEXPECT_EQ(kvm_host_create(&hc, &host), SNP_EINVAL);
	KEXPECT(host == NULL);
	KEXPECT_EQ(strcmp(kvm_boot_dump_pcp_name(KVM_BOOT_DUMP_PCP_CPU0), "cpu0"), 0);
	KEXPECT_EQ(strcmp(kvm_boot_dump_pcp_name(KVM_BOOT_DUMP_PCP_RANDOM), "random"), 0);
	kvm_boot_dump_free(d);
}

/* The simulator takes a dumped boot as it was: ageing on top of it is refused. */
static void sim_refuses_ageing_a_dump(void)
{
	struct kvm_boot_dump *d = made_up_dump();
	struct sim_mc_result res[SNP_ALLOC_NR_STRATEGIES];
	struct sim_mc_config mc;
	unsigned int n = 0;

	sim_mc_config_init(&mc);
	mc.mem_bytes = DUMP_MIB * SNP_MiB;
	mc.cpus = 2;
	mc.vms = 1;
	mc.vcpus = 1;
	mc.ticks = 1;
	mc.trials = 1;
	mc.threads = 1;
	mc.ram_layout = SNP_RAM_QEMU_PC;
	mc.boot_dump = d;
	mc.age_pct = 5;
	KEXPECT_EQ(sim_mc_run(&mc, res, &n), SNP_EINVAL);
	mc.age_pct = 0;
	KEXPECT_EQ(sim_mc_run(&mc, res, &n), 0);
	KEXPECT(n >= 1);
	kvm_boot_dump_free(d);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(parses_and_sizes),
	KTAP_CASE(bad_texts_refused),
	KTAP_CASE(host_is_the_dump),
	KTAP_CASE(pcp_runs_on_random_cpus),
	KTAP_CASE(used_pages_never_handed_out),
	KTAP_CASE(misuse_refused),
	KTAP_CASE(sim_refuses_ageing_a_dump),
};

KTAP_MAIN("boot_dump", cases)
