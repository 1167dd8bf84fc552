// SPDX-License-Identifier: MIT
/*
 * guest_vmsa.c - the guest side of the 2MB rule: how an SNP guest allocates
 * the VMSAs of its own vCPUs, per guest code base (snpsafe/guest_vmsa.h has
 * the sources; docs/MODEL.md "Guest side").  The guest's memory is a modeled
 * page allocator; the strategies differ in which pages they keep.
 */
#include <snpsafe/guest_vmsa.h>
#include <snpsafe/snp_alloc.h>

#include <stdlib.h>
#include <string.h>

#define GUEST_GFP (MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO)   /* GFP_KERNEL_ACCOUNT | __GFP_ZERO */
/* The guest allocates its VMSAs from its boot vCPU (a 1-CPU guest mm host). */
#define GUEST_CPU 0u

static const char *const strategy_names[GUEST_VMSA_NR_STRATEGIES] = {
	[GUEST_VMSA_LINUX] = "linux", [GUEST_VMSA_EDK2] = "edk2", [GUEST_VMSA_SVSM] = "svsm",
	[GUEST_VMSA_RETRY] = "retry", [GUEST_VMSA_SIEVE] = "sieve", [GUEST_VMSA_NAIVE] = "naive",
};

int guest_vmsa_strategy_parse(const char *name, enum guest_vmsa_strategy *out)
{
	for (unsigned int i = 0; name && out && i < GUEST_VMSA_NR_STRATEGIES; i++) {
		if (!strcmp(name, strategy_names[i])) {
			*out = (enum guest_vmsa_strategy)i;
			return 0;
		}
	}
	return SNP_EINVAL;
}

const char *guest_vmsa_strategy_name(enum guest_vmsa_strategy s)
{
	return (unsigned int)s < GUEST_VMSA_NR_STRATEGIES ? strategy_names[s] : "?";
}

/*
 * edk2 SevSnpCreateSaveArea(): PageCount + 1 pages (no SVSM: 2).  Its
 * allocator works downward, so it prefers to free the lower page: when the
 * second page is 2MB-aligned it uses the first and frees the second,
 * otherwise it uses the second and frees the first.
 */
void edk2_pick_save_area(snp_pfn_t first, snp_pfn_t *use, snp_pfn_t *freed)
{
	bool second_aligned = snp_pfn_2m_aligned(first + 1);

	*use = second_aligned ? first : first + 1;
	*freed = second_aligned ? first + 1 : first;
}

/* Why the guest's allocator returned NULL (SNP_ENOMEM if it did not say). */
static SNP_MUST_CHECK int alloc_err(const struct mm_host *guest)
{
	return mm_last_error(guest) ? mm_last_error(guest) : SNP_ENOMEM;
}

static SNP_MUST_CHECK int free_pfn(struct mm_host *guest, snp_pfn_t pfn, unsigned int order)
{
	struct page *p = mm_pfn_to_page(guest, pfn);

	return p ? mm_free_pages(guest, GUEST_CPU, p, order) : SNP_EINVAL;
}

/* An order-1 block, split into two order-0 pages; the first pfn in *first. */
static SNP_MUST_CHECK int alloc_split_pair(struct mm_host *guest, snp_pfn_t *first)
{
	struct page *p = mm_alloc_pages(guest, GUEST_CPU, GUEST_GFP, 1);
	int ret;

	if (!p)
		return alloc_err(guest);
	ret = mm_split_page(guest, p, 1);
	if (ret)
		return ret;
	*first = mm_page_to_pfn(guest, p);
	return 0;
}

/* Linux arch/x86/coco/sev/core.c snp_alloc_vmsa_page(): keep the second page. */
static SNP_MUST_CHECK int alloc_linux(struct mm_host *guest, struct guest_vmsa *v)
{
	snp_pfn_t first;
	int ret = alloc_split_pair(guest, &first);

	if (ret)
		return ret;
	v->vmsa = first + 1;
	return free_pfn(guest, first, 0);
}

static SNP_MUST_CHECK int alloc_edk2(struct mm_host *guest, struct guest_vmsa *v)
{
	snp_pfn_t first, freed;
	int ret = alloc_split_pair(guest, &first);

	if (ret)
		return ret;
	edk2_pick_save_area(first, &v->vmsa, &freed);
	return free_pfn(guest, freed, 0);
}

/* COCONUT-SVSM allocate_new_vmsa(): both pages kept, the order-1 block unsplit. */
static SNP_MUST_CHECK int alloc_svsm(struct mm_host *guest, struct guest_vmsa *v)
{
	struct page *p = mm_alloc_pages(guest, GUEST_CPU, GUEST_GFP, 1);
	snp_pfn_t first;

	if (!p)
		return alloc_err(guest);
	first = mm_page_to_pfn(guest, p);
	v->vmsa = snp_pfn_2m_aligned(first) ? first + 1 : first;
	v->kept[1] = first + 1;
	v->nr_kept = 2;
	v->kept[0] = first;
	return 0;
}

static SNP_MUST_CHECK int alloc_order0(struct mm_host *guest, snp_pfn_t *pfn)
{
	struct page *p = mm_alloc_pages(guest, GUEST_CPU, GUEST_GFP, 0);

	if (!p)
		return alloc_err(guest);
	*pfn = mm_page_to_pfn(guest, p);
	return 0;
}

/* Note an aligned page the retry loop was handed, once per distinct pfn. */
static void retry_note(struct guest_vmsa *v, snp_pfn_t pfn)
{
	unsigned int known = v->nr_retry_seen < 4 ? v->nr_retry_seen : 4;

	for (unsigned int i = 0; i < known; i++)
		if (v->retry_seen[i] == pfn)
			return;
	if (v->nr_retry_seen < 4)
		v->retry_seen[v->nr_retry_seen] = pfn;
	v->nr_retry_seen++;
}

/*
 * The rejected free-and-retry loop: an aligned page goes back to the head of
 * the LIFO per-CPU list and is the next one handed out.
 */
static SNP_MUST_CHECK int alloc_retry(struct mm_host *guest, struct guest_vmsa *v)
{
	for (;;) {
		int ret = alloc_order0(guest, &v->vmsa);

		if (ret || !snp_pfn_2m_aligned(v->vmsa))
			return ret;
		retry_note(v, v->vmsa);
		ret = free_pfn(guest, v->vmsa, 0);
		if (ret)
			return ret;
		if (++v->retries > GUEST_VMSA_RETRY_MAX)
			return SNP_EBUSY;
	}
}

static SNP_MUST_CHECK int alloc_sieve(struct mm_host *guest, struct guest_vmsa *v)
{
	struct page *p = snp_safe_alloc_page_node(guest, GUEST_CPU, MM_NUMA_NO_NODE, GUEST_GFP);

	if (!p)
		return alloc_err(guest);
	v->vmsa = mm_page_to_pfn(guest, p);
	return 0;
}

int snp_alloc_vmsa_page(struct mm_host *guest, enum guest_vmsa_strategy s, struct guest_vmsa *out)
{
	int ret;

	if (!guest || !out || (unsigned int)s >= GUEST_VMSA_NR_STRATEGIES)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	switch (s) {
	case GUEST_VMSA_LINUX:
		ret = alloc_linux(guest, out);
		break;
	case GUEST_VMSA_EDK2:
		ret = alloc_edk2(guest, out);
		break;
	case GUEST_VMSA_SVSM:
		return alloc_svsm(guest, out);
	case GUEST_VMSA_RETRY:
		ret = alloc_retry(guest, out);
		break;
	case GUEST_VMSA_SIEVE:
		ret = alloc_sieve(guest, out);
		break;
	default:
		ret = alloc_order0(guest, &out->vmsa);
		break;
	}
	out->kept[0] = out->vmsa;
	out->nr_kept = ret ? 0 : 1;
	return ret;
}

int snp_free_vmsa_page(struct mm_host *guest, enum guest_vmsa_strategy s, const struct guest_vmsa *v)
{
	if (!guest || !v || !v->nr_kept)
		return SNP_EINVAL;
	if (s == GUEST_VMSA_SVSM)
		return free_pfn(guest, v->kept[0], 1);
	if (s == GUEST_VMSA_SIEVE) {
		struct page *p = mm_pfn_to_page(guest, v->vmsa);

		return p ? snp_safe_free_page(guest, GUEST_CPU, p) : SNP_EINVAL;
	}
	return free_pfn(guest, v->vmsa, 0);
}

int guest_vmsa_prepare(struct mm_host *guest, enum guest_vmsa_strategy s)
{
	struct snp_alloc_config ac;
	int ret;

	if (!guest || (unsigned int)s >= GUEST_VMSA_NR_STRATEGIES)
		return SNP_EINVAL;
	if (s != GUEST_VMSA_SIEVE)
		return 0;
	ret = snp_alloc_get_config(guest, &ac);
	if (ret)
		return ret;
	ac.strategy = SNP_ALLOC_SIEVE;
	ac.snp_enabled = true;
	return snp_alloc_configure(guest, &ac);
}

void guest_vmsa_config_init(struct guest_vmsa_config *cfg, enum guest_vmsa_strategy s)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->strategy = s;
	cfg->mem_bytes = 256 * SNP_MiB;
	cfg->nr_vcpus = 64;
	cfg->rounds = 1;
	cfg->seed = 1;
	cfg->aged = true;
}

static uint64_t guest_free_pages(const struct mm_host *guest)
{
	struct mm_counts c;

	if (mm_get_counts(guest, MM_NUMA_NO_NODE, &c))
		return 0;
	return c.free + c.pcp;
}

/* One round: bring up n APs, count, then offline them (unless keep). */
static SNP_MUST_CHECK int guest_round(struct mm_host *guest, const struct guest_vmsa_config *cfg,
		       struct guest_vmsa *v, struct guest_vmsa_result *r)
{
	unsigned int n = 0;
	int ret = 0;

	r->free_before = guest_free_pages(guest);
	for (; n < r->nr_vcpus; n++) {
		ret = snp_alloc_vmsa_page(guest, cfg->strategy, &v[n]);
		r->retries += v[n].retries;
		if (ret) {
			r->failures++;
			ret = ret == SNP_EBUSY ? 0 : ret;   /* gave up: the AP stays offline */
			v[n].nr_kept = 0;
			if (ret)
				break;
			continue;
		}
		r->vmsas++;
		r->aligned += snp_pfn_2m_aligned(v[n].vmsa);
	}
	r->free_after = guest_free_pages(guest);
	r->pages_kept = r->free_before - r->free_after;
	for (unsigned int i = 0; i < n; i++) {
		int fr = v[i].nr_kept ? snp_free_vmsa_page(guest, cfg->strategy, &v[i]) : 0;

		ret = ret ? ret : fr;
	}
	return ret;
}

int guest_vmsa_run(const struct guest_vmsa_config *cfg, struct guest_vmsa_result *out)
{
	struct mm_config mc;
	struct mm_host *guest = NULL;
	struct mm_aged *aged = NULL;
	struct guest_vmsa *v;
	int ret;

	if (!cfg || !out || (unsigned int)cfg->strategy >= GUEST_VMSA_NR_STRATEGIES ||
	    cfg->nr_vcpus > MM_MAX_CPUS)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	out->nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 64;
	mm_config_init(&mc, cfg->mem_bytes ? cfg->mem_bytes : 256 * SNP_MiB);
	mc.x86_layout = true;
	ret = mm_host_create(&mc, &guest);
	if (ret)
		return ret;
	v = calloc(out->nr_vcpus, sizeof(*v));
	ret = v ? guest_vmsa_prepare(guest, cfg->strategy) : SNP_ENOMEM;
	if (!ret && cfg->aged) {
		struct mm_age_config ac;

		mm_age_config_init(&ac, cfg->seed);
		ret = mm_age(guest, &ac, &aged);
	}
	for (unsigned int i = 0; !ret && i < (cfg->rounds ? cfg->rounds : 1); i++)
		ret = guest_round(guest, cfg, v, out);
	if (aged) {
		int rel = mm_aged_release(guest, aged);

		ret = ret ? ret : rel;
	}
	if (cfg->strategy == GUEST_VMSA_SIEVE && snp_safe_release(guest, GUEST_CPU) < 0 && !ret)
		ret = SNP_EINVAL;
	free(v);
	mm_host_destroy(guest);
	return ret;
}
