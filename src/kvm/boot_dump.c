// SPDX-License-Identifier: MIT
/*
 * boot_dump.c - a qemu-pc host started from a measured boot instead of the
 * boot-state rules of boot_state.c (docs/MODEL.md "Boot state from a
 * dump"): the page allocator as a watched kernel left it when the workload
 * started, read from watch/pbdump's lines (one a pageblock: its migratetype
 * and which of its pages were free, in a buddy block or on a per-CPU list)
 * and the plugin's 4K-mapped direct-map regions at the first VMRUN
 * (watch/boot-dump.sh puts both in one file).
 *
 * The host is built from it as the boot left it: every page the boot had
 * in use is a reservation, never freed; the pageblocks get their measured
 * types before the free pages are freed into the buddy
 * (mm_config.pageblock_mt); the pages the dump found on per-CPU lists are
 * then freed, a contiguous run at a time, onto a CPU's list
 * (kvm_host_config.boot_dump_pcp); and the 4K regions are split.
 *
 * Our own code and format; the facts are the dumped kernel's.
 */
#include "kvm/kvm_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PB_PAGES (1u << MM_PAGEBLOCK_ORDER)
#define MAP_HEX  (PB_PAGES / 4)   /* a 512-bit map in hex */

struct kvm_boot_dump {
	uint64_t nr_pages;         /* pageblocks dumped x 512 */
	uint8_t *state;            /* a page: KVM_DUMP_USED, _BUDDY or _PCP */
	uint8_t *pageblock_mt;     /* a pageblock: MM_MT_* */
	uint32_t *split;           /* 2MB regions mapped 4K at the first VMRUN */
	size_t nr_split;
	unsigned int age_rounds;   /* the boot's ageing ("aged N"; 0: a fresh boot) */
};

enum { KVM_DUMP_USED = 0, KVM_DUMP_BUDDY, KVM_DUMP_PCP };

/* One pageblock line, as read. */
struct pb_line {
	uint64_t pfn;
	unsigned int mt, buddy, pcp;
	bool maps;
	uint8_t b[PB_PAGES / 8], p[PB_PAGES / 8];
};

const char *kvm_boot_dump_pcp_name(enum kvm_boot_dump_pcp p)
{
	return p == KVM_BOOT_DUMP_PCP_CPU0 ? "cpu0" : p == KVM_BOOT_DUMP_PCP_RANDOM ? "random" : "?";
}

void kvm_boot_dump_free(struct kvm_boot_dump *d)
{
	if (!d)
		return;
	free(d->state);
	free(d->pageblock_mt);
	free(d->split);
	free(d);
}

uint64_t kvm_boot_dump_pages(const struct kvm_boot_dump *d)
{
	return d ? d->nr_pages : 0;
}

unsigned int kvm_boot_dump_age_rounds(const struct kvm_boot_dump *d)
{
	return d ? d->age_rounds : 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A 512-bit map: 128 hex digits, byte i's two digits its pages 8i..8i+7 (bit k: page 8i+k). */
static bool read_map(const char *s, uint8_t *map)
{
	if (strlen(s) != MAP_HEX)
		return false;
	for (unsigned int i = 0; i < MAP_HEX / 2; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		map[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static unsigned int map_weight(const uint8_t *map)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < PB_PAGES / 8; i++)
		for (uint8_t v = map[i]; v; v &= (uint8_t)(v - 1))
			n++;
	return n;
}

static bool read_uint(const char *s, int base, uint64_t max, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end && *v <= max;
}

#define MAX_WORDS 12

/* Split @line (modified) into words at blanks; the count, or MAX_WORDS + 1 if more. */
static unsigned int split_words(char *line, char **w)
{
	unsigned int n = 0;

	for (char *c = line; *c;) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			*c++ = 0;
		if (!*c)
			break;
		if (n == MAX_WORDS)
			return MAX_WORDS + 1;
		w[n++] = c;
		while (*c && *c != ' ' && *c != '\t' && *c != '\r')
			c++;
	}
	return n;
}

/* "PFN mt MT buddy N pcp N [b MAP p MAP]" */
static const char *parse_pageblock(char **w, unsigned int n, struct pb_line *pb)
{
	uint64_t v;

	memset(pb, 0, sizeof(*pb));
	if ((n != 7 && n != 11) || strcmp(w[1], "mt") || strcmp(w[3], "buddy") || strcmp(w[5], "pcp"))
		return "not \"PFN mt MT buddy N pcp N [b MAP p MAP]\"";
	if (!read_uint(w[0], 16, UINT64_MAX, &pb->pfn) || pb->pfn % PB_PAGES)
		return "the pfn is not a pageblock's first, in hex";
	if (!read_uint(w[2], 10, UINT32_MAX, &v) || v >= MM_NR_MIGRATETYPES)
		return "migratetype not 0 (unmovable), 1 (movable) or 2 (reclaimable)";
	pb->mt = (unsigned int)v;
	if (!read_uint(w[4], 10, PB_PAGES, &v))
		return "buddy count not 0..512";
	pb->buddy = (unsigned int)v;
	if (!read_uint(w[6], 10, PB_PAGES, &v) || v + pb->buddy > PB_PAGES)
		return "pcp count not 0..512, or buddy + pcp over 512";
	pb->pcp = (unsigned int)v;
	if (n == 7)
		return NULL;
	pb->maps = true;
	if (strcmp(w[7], "b") || strcmp(w[9], "p") || !read_map(w[8], pb->b) || !read_map(w[10], pb->p))
		return "maps not \"b MAP p MAP\", each 128 hex digits";
	if (map_weight(pb->b) != pb->buddy || map_weight(pb->p) != pb->pcp)
		return "a map's bits do not match its count";
	for (unsigned int i = 0; i < PB_PAGES / 8; i++)
		if (pb->b[i] & pb->p[i])
			return "a page both in a buddy block and on a per-CPU list";
	return NULL;
}

static bool map_bit(const uint8_t *map, unsigned int i)
{
	return map[i / 8] >> (i % 8) & 1;
}

/*
 * The pages of one pageblock.  pbdump counts a page "pcp" when it is free,
 * not a tail and not a buddy block's head: so the second pageblock of a
 * free order-10 block reads "buddy 0 pcp 512" after one of "buddy 512":
 * both are buddy.  A block partly free without maps (pbdump before maps
 * for every partly free block) has its free pages taken as its top ones,
 * in buddy blocks: assumed (docs/MODEL.md).
 */
static void fill_pageblock(struct kvm_boot_dump *d, const struct pb_line *pb, bool prev_buddy_full)
{
	uint8_t *s = d->state + pb->pfn;

	if (!pb->buddy && pb->pcp == PB_PAGES && prev_buddy_full && (pb->pfn / PB_PAGES) % 2) {
		memset(s, KVM_DUMP_BUDDY, PB_PAGES);
		return;
	}
	if (pb->maps) {
		for (unsigned int i = 0; i < PB_PAGES; i++)
			s[i] = map_bit(pb->b, i) ? KVM_DUMP_BUDDY : map_bit(pb->p, i) ? KVM_DUMP_PCP : KVM_DUMP_USED;
		return;
	}
	memset(s + PB_PAGES - pb->buddy - pb->pcp, pb->pcp == PB_PAGES ? KVM_DUMP_PCP : KVM_DUMP_BUDDY,
	       pb->buddy + pb->pcp);
}

static SNP_MUST_CHECK int add_split(struct kvm_boot_dump *d, uint32_t region)
{
	uint32_t *v = realloc(d->split, (d->nr_split + 1) * sizeof(*v));

	if (!v)
		return SNP_ENOMEM;
	d->split = v;
	d->split[d->nr_split++] = region;
	return 0;
}

/* Grow the page and pageblock arrays to cover pfns below @pages (new pages: used). */
static SNP_MUST_CHECK int cover(struct kvm_boot_dump *d, uint64_t pages)
{
	uint8_t *s, *mt;

	if (pages <= d->nr_pages)
		return 0;
	s = realloc(d->state, pages);
	if (!s)
		return SNP_ENOMEM;
	d->state = s;
	mt = realloc(d->pageblock_mt, pages / PB_PAGES);
	if (!mt)
		return SNP_ENOMEM;
	d->pageblock_mt = mt;
	memset(d->state + d->nr_pages, KVM_DUMP_USED, pages - d->nr_pages);
	/* a pageblock pbdump skipped (no struct page): all in use, type 0 as never initialised */
	memset(d->pageblock_mt + d->nr_pages / PB_PAGES, MM_MT_UNMOVABLE, (pages - d->nr_pages) / PB_PAGES);
	d->nr_pages = pages;
	return 0;
}

/* One line without its newline; *why set on a bad one. */
static SNP_MUST_CHECK int parse_line(struct kvm_boot_dump *d, char *line, bool *prev_full, const char **why)
{
	char *w[MAX_WORDS];
	unsigned int n;
	struct pb_line pb;
	uint64_t v;
	int ret;

	for (const char *pre = "snpsafe-pbdump:"; !strncmp(line, pre, strlen(pre));)
		line += strlen(pre);
	n = split_words(line, w);
	if (!n || w[0][0] == '#')
		return 0;
	if (!strcmp(w[0], "aged")) {
		if (n != 2 || !read_uint(w[1], 10, KVM_BOOT_DUMP_MAX_AGE_ROUNDS, &v)) {
			*why = "not \"aged N\" (the boot's ageing rounds, 0..32)";
			return SNP_EINVAL;
		}
		d->age_rounds = (unsigned int)v;
		return 0;
	}
	if (!strcmp(w[0], "4k")) {
		if (n != 2 || !read_uint(w[1], 10, UINT32_MAX, &v)) {
			*why = "not \"4k REGION\" (a 2MB region's number, decimal)";
			return SNP_EINVAL;
		}
		return add_split(d, (uint32_t)v);
	}
	*why = parse_pageblock(w, n, &pb);
	if (*why)
		return SNP_EINVAL;
	if (pb.pfn < d->nr_pages) {
		*why = "pageblocks not in ascending order, or one twice";
		return SNP_EINVAL;
	}
	if (pb.pfn + PB_PAGES > SNP_RAM_QEMU_PC_MAX >> SNP_PAGE_SHIFT) {
		*why = "pfn past the largest qemu-pc host (3584 MiB)";
		return SNP_EINVAL;
	}
	if (pb.pfn != d->nr_pages)   /* a pageblock skipped between: no order-10 block spans it */
		*prev_full = false;
	ret = cover(d, pb.pfn + PB_PAGES);
	if (ret)
		return ret;
	d->pageblock_mt[pb.pfn / PB_PAGES] = (uint8_t)pb.mt;
	fill_pageblock(d, &pb, *prev_full);
	*prev_full = pb.buddy == PB_PAGES;
	return 0;
}

int kvm_boot_dump_parse(const char *text, size_t len, struct kvm_boot_dump **out, unsigned long *line_no,
			const char **why)
{
	struct kvm_boot_dump *d;
	bool prev_full = false;
	unsigned long no = 0;
	const char *unused;
	char *copy;
	int ret = 0;

	if (!why)
		why = &unused;
	*why = NULL;
	if (line_no)
		*line_no = 0;
	if (!out || (!text && len))
		return SNP_EINVAL;
	*out = NULL;
	d = calloc(1, sizeof(*d));
	copy = malloc(len + 1);   /* one copy, its lines cut in place */
	if (!d || !copy) {
		free(d);
		free(copy);
		return SNP_ENOMEM;
	}
	if (len)
		memcpy(copy, text, len);
	copy[len] = 0;
	for (char *line = copy; !ret && line < copy + len;) {
		char *nl = memchr(line, '\n', (size_t)(copy + len - line));
		size_t l = nl ? (size_t)(nl - line) : (size_t)(copy + len - line);

		no++;
		line[l] = 0;
		if (memchr(line, 0, l)) {
			*why = "a NUL byte";
			ret = SNP_EINVAL;
		} else {
			ret = parse_line(d, line, &prev_full, why);
		}
		if (ret == SNP_EINVAL && line_no)
			*line_no = no;
		line += l + 1;
	}
	free(copy);
	if (!ret && !d->nr_pages) {
		*why = "no pageblock line";
		ret = SNP_EINVAL;
	}
	for (size_t i = 0; !ret && i < d->nr_split; i++)
		if ((uint64_t)d->split[i] * PB_PAGES >= d->nr_pages) {
			*why = "a 4k region past the dumped memory";
			ret = SNP_EINVAL;
		}
	if (ret) {
		kvm_boot_dump_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

/* Page @pfn's state in the dump: used, buddy or pcp (pfns past it: used). */
static unsigned int dump_state(const struct kvm_boot_dump *d, snp_pfn_t pfn)
{
	return pfn < d->nr_pages ? d->state[pfn] : KVM_DUMP_USED;
}

int kvm_boot_dump_reservations(const struct kvm_host *host, struct mm_reserved_range **res, size_t *nr)
{
	const struct kvm_boot_dump *d = host->cfg.boot_dump;
	size_t n = 0, cap = 0;
	struct mm_reserved_range *v = NULL;

	*res = NULL;
	*nr = 0;
	for (snp_pfn_t pfn = 0; pfn < d->nr_pages;) {
		snp_pfn_t end = pfn;

		while (end < d->nr_pages && dump_state(d, end) != KVM_DUMP_BUDDY)
			end++;
		if (end > pfn) {   /* in use, or freed onto a list after boot */
			if (n == cap) {
				struct mm_reserved_range *g;

				cap = cap ? 2 * cap : 64;
				g = realloc(v, cap * sizeof(*v));
				if (!g) {
					free(v);
					return SNP_ENOMEM;
				}
				v = g;
			}
			v[n++] = (struct mm_reserved_range){ pfn, end - pfn };
		}
		for (pfn = end; pfn < d->nr_pages && dump_state(d, pfn) == KVM_DUMP_BUDDY;)
			pfn++;
	}
	*res = v;
	*nr = n;
	return 0;
}

const uint8_t *kvm_boot_dump_pageblock_mt(const struct kvm_host *host)
{
	return host->cfg.boot_dump ? host->cfg.boot_dump->pageblock_mt : NULL;
}

/* A page the dump had on a per-CPU list, and that the model does not keep reserved anyway. */
static bool pcp_page_to_free(const struct kvm_host *host, const struct snp_ram_map *ram, snp_pfn_t pfn)
{
	snp_spa_t pa = (snp_spa_t)pfn << SNP_PAGE_SHIFT;

	return dump_state(host->cfg.boot_dump, pfn) == KVM_DUMP_PCP && pfn >= MM_REAL_MODE_PFNS &&
	       snp_ram_map_covers(ram, pa, pa + SNP_PAGE_SIZE) && mm_page_reserved(host->mm, pfn) == 1;
}

/* The pcp run's CPU: kvm_host_config.boot_dump_pcp. */
static unsigned int pcp_run_cpu(const struct kvm_host *host, uint64_t *rng)
{
	if (host->cfg.boot_dump_pcp == KVM_BOOT_DUMP_PCP_CPU0)
		return 0;
	return (unsigned int)mm_rng_below(rng, host->cfg.nr_cpus);
}

/*
 * The dump's per-CPU-list pages, each contiguous run of them onto one CPU's
 * list, ascending (so the run's last page is the list's head): which CPU
 * held which run, and in what order, a dump cannot say (assumed:
 * docs/MODEL.md).  A page the model keeps reserved anyway (the RAM map's
 * holes, the real-mode megabyte) stays so.
 */
static SNP_MUST_CHECK int dump_free_pcp(struct kvm_host *host, uint64_t *rng)
{
	const struct kvm_boot_dump *d = host->cfg.boot_dump;
	struct snp_ram_map ram;
	int ret = snp_ram_map_build(host->cfg.ram_layout, host->cfg.mem_bytes, &ram);

	for (snp_pfn_t pfn = 0; !ret && pfn < d->nr_pages;) {
		snp_pfn_t end = pfn + 1;

		if (!pcp_page_to_free(host, &ram, pfn)) {
			pfn++;
			continue;
		}
		while (end < d->nr_pages && end % PB_PAGES && pcp_page_to_free(host, &ram, end))
			end++;
		/* ascending, as free_reserved_area() frees: the run's last page heads the list */
		ret = mm_free_reserved_area(host->mm, pcp_run_cpu(host, rng), pfn, end - pfn);
		pfn = end;
	}
	return ret;
}

/* The regions the dumped boot had mapped 4K: split here too (snp_set_memory_4k()). */
static SNP_MUST_CHECK int dump_split(struct kvm_host *host)
{
	const struct kvm_boot_dump *d = host->cfg.boot_dump;

	for (size_t i = 0; i < d->nr_split; i++) {
		snp_pfn_t pfn = (snp_pfn_t)d->split[i] * PB_PAGES;
		int ret = snp_set_memory_4k(host->machine, snp_pfn_to_virt(pfn), 1);

		if (ret)
			return ret;
	}
	return 0;
}

int kvm_boot_dump_apply(struct kvm_host *host)
{
	uint64_t rng = host->cfg.boot_seed ^ 0xd00d0b007b007ULL;
	int ret = dump_free_pcp(host, &rng);

	return ret ? ret : dump_split(host);
}
