// SPDX-License-Identifier: MIT
/*
 * repro.c - the changelog's scenario (shared/seed/, Brijesh Singh's steps
 * 1-4) end to end through the KVM model, with nothing placed by hand, on
 * the sequence the page allocator really produces (mm/page_alloc.c, 6.1
 * and 6.12), once per strategy from the same setup.  Six steps, named in
 * sim_repro_steps[] (the text, --help and the README use those names):
 *
 *   1. Setup: a freshly booted host: kvm_amd is loaded (each CPU's host
 *      save area through the strategy), the page cache (MOVABLE) holds
 *      files read on CPU 1, the VMM has created a VM on CPU 0, and kernel
 *      slab work on CPU 0 (GFP_KERNEL: UNMOVABLE, the type of KVM's pages)
 *      has used the UNMOVABLE pageblocks up: the refill of CPU 0's per-CPU
 *      list took a MOVABLE pageblock (__rmqueue_fallback()) whose first
 *      page, 2MB-aligned, is now on the list.  The slab work stops when
 *      that page is the one the VMCB's allocation would get: right after
 *      the pages vCPU creation takes first (run, pio_data, fpstate:
 *      snpsafe/kvm.h).  Only the amount of slab work is chosen;
 *   2. VMCB: KVM creates a vCPU from CPU 0; its VMCB comes from
 *      snp_safe_alloc_page(): naive takes the aligned page, upstream an
 *      order-1 block (keeps the unaligned half), the sieve sets the aligned
 *      page aside and takes the next (snpsafe/snp_alloc.h);
 *   3. VMRUN: VMRUN on CPU 1 marks the VMCB in-use;
 *   4. Buffer: another process on CPU 0 allocates a kernel buffer
 *      (UNMOVABLE): the head of CPU 0's list;
 *   5. Write: it writes the buffer through the direct map (a 1GB
 *      translation): on early SNP parts, a spurious RMP #PF when the 2MB
 *      region's base page is in-use.  A real host panics there; the model
 *      goes on (step 6 says so), so every run ends the same way;
 *   6. vmcb02 (not in the changelog): the process frees its buffer; after
 *      #VMEXIT the guest enables SVM (EFER.SVME): svm_allocate_nested() on
 *      CPU 0 allocates vmcb02 through the safe allocator or not, as the
 *      chosen KVM version's call site says (--kvm; kvm_version.c).  The
 *      result then counts, per page kind, what that version put through the
 *      safe allocator and what stays exposed.
 * The chosen version's call sites run from the start: under --kvm pml the
 * vCPU also takes a PML buffer right after its VMCB (so the VMCB's call is
 * the one before the last).
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPRO_MEM  SNP_GiB    /* one whole 1GB direct-map leaf */
#define REPRO_PAGE_CACHE 8192    /* 32 MiB of files read on CPU 1 */
#define REPRO_BEFORE_VMCB 3      /* order-0 pages vCPU creation takes before the VMCB */
#define REPRO_SLAB_MAX 8192      /* slab work tried at most */
#define REPRO_PAGEBLOCKS (REPRO_MEM / SNP_PAGE_SIZE / SNP_PTRS_PER_PMD)

static const struct {
	const char *name, *what;
} sim_repro_steps[SIM_REPRO_STEPS] = {
	[SIM_REPRO_STEP_SETUP]  = { "Setup", "kvm_amd loads (each CPU's host save area); slab work leaves a "
					     "2MB-aligned page on offer to the VMCB" },
	[SIM_REPRO_STEP_VMCB]   = { "VMCB", "KVM creates a vCPU; the strategy allocates its VMCB" },
	[SIM_REPRO_STEP_VMRUN]  = { "VMRUN", "VMRUN on CPU 1 marks the VMCB in-use" },
	[SIM_REPRO_STEP_BUFFER] = { "Buffer", "another process on CPU 0 allocates a kernel buffer" },
	[SIM_REPRO_STEP_WRITE]  = { "Write", "it writes the buffer through the direct map: the "
					     "erratum's #PF or none" },
	[SIM_REPRO_STEP_VMCB02] = { "vmcb02", "the buffer is freed; the guest enables SVM and gets "
					      "vmcb02 (not in the changelog)" },
};

const char *sim_repro_step_name(enum sim_repro_step s)
{
	return (unsigned int)s < SIM_REPRO_STEPS ? sim_repro_steps[s].name : "?";
}

const char *sim_repro_step_what(enum sim_repro_step s)
{
	return (unsigned int)s < SIM_REPRO_STEPS ? sim_repro_steps[s].what : "?";
}

/* The next step's text, after its name: "Write: it wrote ...". */
static void step(struct sim_repro_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(struct sim_repro_result *r, const char *fmt, ...)
{
	char *text;
	int n;
	va_list ap;

	if (r->nr_steps >= SIM_REPRO_STEPS)
		return;
	text = r->steps[r->nr_steps];
	n = snprintf(text, SIM_REPRO_TEXT, "%s: ", sim_repro_step_name((enum sim_repro_step)r->nr_steps));
	r->nr_steps++;
	va_start(ap, fmt);
	vsnprintf(text + n, SIM_REPRO_TEXT - (size_t)n, fmt, ap);
	va_end(ap);
}

static unsigned long long ull(snp_pfn_t pfn)
{
	return (unsigned long long)pfn;
}

const char *sim_repro_base_name(enum sim_repro_base b)
{
	switch (b) {
	case SIM_REPRO_BASE_VMCB:      return "the VMCB, in-use";
	case SIM_REPRO_BASE_SET_ASIDE: return "set aside in the sieve's pool, not in-use";
	case SIM_REPRO_BASE_WRITTEN:   return "the written page itself, not in-use";
	case SIM_REPRO_BASE_FREE:      return "free, not in-use";
	case SIM_REPRO_BASE_OTHER:     return "allocated elsewhere, not in-use";
	}
	return "?";
}

/* The page CPU 0's order-0 UNMOVABLE list offers @index allocations from now. */
static snp_pfn_t offered(const struct mm_host *mm, unsigned int index)
{
	snp_pfn_t pfn;

	if (mm_pcp_peek(mm, 0, mm_nr_pages(mm) - 1, 0, MM_MT_UNMOVABLE, index, &pfn))
		return MM_PFN_INVALID;
	return pfn;
}

/* Was @pfn's pageblock MOVABLE before the slab work (@mt) and is it UNMOVABLE now? */
static bool stolen(const struct mm_host *mm, const signed char *mt, snp_pfn_t pfn)
{
	return mt[pfn / SNP_PTRS_PER_PMD] == MM_MT_MOVABLE &&
	       mm_pageblock_migratetype(mm, pfn) == MM_MT_UNMOVABLE;
}

/* The VM of the scenario: plain SVM, no guest memory, no in-kernel LAPIC. */
static SNP_MUST_CHECK int repro_vm(struct kvm_host *host)
{
	struct kvm_vm_config vc;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vc.guest_pages = 0;
	vc.lapic_in_kernel = false;
	vc.cpu = 0;
	return kvm_create_vm(host, &vc);
}

/*
 * Step 0: the page cache on CPU 1 (GFP_HIGHUSER_MOVABLE, filled by the
 * disk's DMA: no TLB holds their translations), the VM on CPU 0, then slab
 * work on CPU 0 (GFP_KERNEL, UNMOVABLE) until the page the VMCB would get
 * is 2MB-aligned and came from a pageblock that was MOVABLE before (the
 * path of docs/ERRATUM.md, "How a VMCB ends up 2MB-aligned").
 * Returns the VM, or a negative error (SNP_ENOENT: no such page came).
 */
static SNP_MUST_CHECK int prepare_host(struct kvm_host *host, struct sim_repro_result *r)
{
	struct mm_host *mm = kvm_host_mm(host);
	signed char mt[REPRO_PAGEBLOCKS];   /* each pageblock's type before the slab work */
	int vm;

	for (unsigned int i = 0; i < REPRO_PAGE_CACHE; i++)   /* page cache, read on CPU 1 */
		if (!mm_alloc_pages(mm, 1, MM_GFP_HIGHUSER_MOVABLE, 0))
			return SNP_ENOMEM;
	vm = repro_vm(host);
	if (vm < 0)
		return vm;
	for (snp_pfn_t pb = 0; pb < REPRO_PAGEBLOCKS; pb++)
		mt[pb] = (signed char)mm_pageblock_migratetype(mm, pb * SNP_PTRS_PER_PMD);
	r->offered_at = REPRO_BEFORE_VMCB;
	for (r->slab_pages = 0; r->slab_pages < REPRO_SLAB_MAX; r->slab_pages++) {
		r->offered_pfn = offered(mm, REPRO_BEFORE_VMCB);
		if (r->offered_pfn != MM_PFN_INVALID && snp_pfn_2m_aligned(r->offered_pfn) &&
		    stolen(mm, mt, r->offered_pfn))
			return vm;
		if (!mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0))
			return SNP_ENOMEM;
	}
	return SNP_ENOENT;
}

/* The host save area counts as markable: a VMSAVE target (snp-facts §5), as in simulate. */
static SNP_MUST_CHECK int repro_host(const struct snp_profile *profile, enum snp_alloc_strategy s,
		      enum kvm_version kvm, struct kvm_host **out)
{
	struct kvm_host_config hc;

	kvm_host_config_init(&hc, REPRO_MEM, 2);
	hc.profile = profile;
	hc.strategy = s;
	hc.snp_enabled = true;
	hc.kvm_version = kvm;
	hc.vmsave_marks = true;
	return kvm_host_create(&hc, out);
}

/*
 * kvm_amd's host save areas, as loaded: their pfns and which are exposed.
 * repro's host has vmsave_marks (repro_host()), so a save area is markable
 * as a VMSAVE target (census.c) and exposed when its 2MB region is still
 * hugepage-mapped.  0 or SNP_E*.
 */
static SNP_MUST_CHECK int note_save_areas(struct kvm_host *host, struct sim_repro_result *r)
{
	for (unsigned int cpu = 0; cpu < SIM_REPRO_CPUS; cpu++) {
		enum snp_map_size size;
		int ret;

		r->hsave_pfn[cpu] = kvm_host_save_area_pfn(host, cpu);
		if (r->hsave_pfn[cpu] == SNP_NO_PAGE)
			return SNP_ENOENT;
		ret = snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(r->hsave_pfn[cpu]),
					    &size);
		if (ret)
			return ret;
		r->hsave_exposed[cpu] = size != SNP_MAP_4K;
	}
	return 0;
}

/* "pfn 0x3c00 (2MB-aligned)" or "pfn 0x3c01" into @buf. */
static const char *pfn_text(char *buf, size_t len, snp_pfn_t pfn)
{
	snprintf(buf, len, "pfn 0x%llx%s", ull(pfn), snp_pfn_2m_aligned(pfn) ? " (2MB-aligned)" : "");
	return buf;
}

/*
 * Setup's sentence on the save areas into @buf: where they are, and for a
 * 2MB-aligned exposed one what that means (a VMSAVE target is in-use while
 * VMSAVE writes it: snp-facts section 5; docs/MODEL.md "Pages the erratum
 * can reach").  @safe: the version's call site used snp_safe_alloc_page*().
 */
static void save_areas_text(const struct sim_repro_result *r, const struct snp_profile *p,
			    bool safe, char *buf, size_t len)
{
	char a[48], b[48];
	size_t n;

	n = (size_t)snprintf(buf, len, "svm_cpu_init() allocated each CPU's host save area %s%s: "
			     "CPU 0's %s, CPU 1's %s", safe ?
			     "through snp_safe_alloc_page_node()" : "with a plain alloc_page()",
			     !safe ? " (that KVM version's call site)" :
			     r->strategy == SNP_ALLOC_NAIVE ? " (naive: a plain order-0 page)" : "",
			     pfn_text(a, sizeof(a), r->hsave_pfn[0]), pfn_text(b, sizeof(b), r->hsave_pfn[1]));
	for (unsigned int cpu = 0; cpu < SIM_REPRO_CPUS && n < len; cpu++) {
		if (!snp_pfn_2m_aligned(r->hsave_pfn[cpu]) || !r->hsave_exposed[cpu])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "; CPU %u's, 2MB-aligned, is exposed: VMSAVE "
				      "to it before each VMRUN on CPU %u marks it in-use%s, and its 2MB "
				      "region is hugepage-mapped, so a hugepage write into that region at "
				      "that moment would take the spurious #PF step 5 shows (simulate "
				      "counts such writes: its VMSAVE window)", cpu, cpu,
				      p->vmrun_marks & SNP_ROLE_HSAVE ?
				      ", as VMRUN itself does (vmrun_marks has hsave)" : "");
	}
}

/* Setup's text: the same for every strategy but for the figures it reports. */
static void step_setup(struct kvm_host *host, struct sim_repro_result *r)
{
	struct kvm_host_stats st;
	char hsave[SIM_REPRO_TEXT / 2];

	save_areas_text(r, snp_machine_profile(kvm_host_machine(host)),
			!kvm_host_get_stats(host, &st) && st.sensitive_safe[KVM_PAGE_HSAVE] ==
			st.sensitive_allocated[KVM_PAGE_HSAVE], hsave, sizeof(hsave));
	step(r, "kvm_amd loaded (KVM %s call sites%s); %s.  The page cache (MOVABLE) held %u pages "
	     "read on CPU 1; the VMM created a VM on CPU 0; slab work on CPU 0 (UNMOVABLE, %u pages) "
	     "used the UNMOVABLE pageblocks up, so refilling CPU 0's per-CPU list took a MOVABLE "
	     "pageblock and re-typed it (__rmqueue_fallback()): its first page, pfn 0x%llx, "
	     "2MB-aligned, is on CPU 0's UNMOVABLE list right after the %u pages vCPU creation takes "
	     "first (run, pio_data, fpstate), so it is the page on offer when the VMCB is allocated.",
	     kvm_version_name(r->kvm), r->kvm == KVM_VERSION_PML ?
	     ": the vCPU takes a PML buffer from snp_safe_alloc_page() right after its VMCB" : "",
	     hsave, REPRO_PAGE_CACHE, r->slab_pages, ull(r->offered_pfn), r->offered_at);
}

static void step_vmcb_naive(struct sim_repro_result *r)
{
	char a[48];

	step(r, "KVM created vCPU 0 from CPU 0; svm_vcpu_create() allocated the VMCB with a plain "
	     "order-0 allocation (naive, no workaround) and got the page on offer: %s%s.",
	     pfn_text(a, sizeof(a), r->vmcb_pfn),
	     r->vmcb_pfn == r->offered_pfn ? ", the aligned page of the setup" : "");
}

/*
 * Why a page the call freed inside the VMCB's own 2MB region is harmless,
 * into @buf ("" when it freed none there): the erratum reads only the
 * region's base entry (docs/MODEL.md, rule ERRATUM_2M_BASE_INUSE), the
 * VMCB is not the base, and a freed page is not in-use, so a write to it
 * breaks no in-use rule of its own either (INUSE_WRITE; src/hw/mmu.c).
 */
static const char *freed_note(const struct sim_repro_result *r, char *buf, size_t len)
{
	const struct snp_alloc_call *c = &r->vmcb_call;
	snp_pfn_t base = r->region_pfn, freed = c->nr_freed ? c->freed[0] : MM_PFN_INVALID;
	const char *next = r->freed_at_head ? ", which step 4's buffer gets," : "";

	buf[0] = 0;
	if (!c->nr_freed || snp_pfn_2m_base(freed) != base)
		return buf;
	if (freed == base)
		snprintf(buf, len, "  The freed page is the base of the VMCB's own 2MB region "
			 "[0x%llx-0x%llx], harmlessly: the erratum checks a hugepage access to the "
			 "region against that base entry only, and the freed page%s is not in-use; the VMCB, "
			 "which VMRUN marks in-use (step 3), is not the base.", ull(base),
			 ull(base + SNP_PTRS_PER_PMD - 1), next);
	else
		snprintf(buf, len, "  The freed page shares the VMCB's own 2MB region "
			 "[0x%llx-0x%llx], harmlessly: the erratum checks a hugepage access to the "
			 "region against its base entry only, pfn 0x%llx; the VMCB, which VMRUN marks in-use "
			 "(step 3), is not the base, and the freed page%s is not in-use.", ull(base),
			 ull(base + SNP_PTRS_PER_PMD - 1), ull(base), next);
	return buf;
}

static void step_vmcb_upstream(struct sim_repro_result *r)
{
	const struct snp_alloc_call *c = &r->vmcb_call;
	snp_pfn_t first = c->nr_taken ? c->taken[0] : MM_PFN_INVALID;
	char a[48], b[48], note[SIM_REPRO_TEXT / 2];

	step(r, "KVM created vCPU 0 from CPU 0; svm_vcpu_create() allocated the VMCB with "
	     "snp_safe_alloc_page() (upstream): it took an order-%u block, pfns 0x%llx-0x%llx, "
	     "split_page() it, kept %s as the VMCB and freed %s%s.%s  The aligned page on offer, "
	     "pfn 0x%llx, was not taken.",
	     c->nr_taken ? c->taken_order[0] : 0, ull(first), ull(first + 1),
	     pfn_text(a, sizeof(a), r->vmcb_pfn),
	     c->nr_freed ? pfn_text(b, sizeof(b), c->freed[0]) : "nothing",
	     r->freed_at_head ? " (it went to the head of CPU 0's list)" : "",
	     freed_note(r, note, sizeof(note)), ull(r->offered_pfn));
}

/* What the call did with the page it took at @pfn: kept, set aside or freed. */
static const char *fate(const struct snp_alloc_call *c, snp_pfn_t pfn)
{
	if (pfn == c->returned)
		return "kept as the VMCB";
	for (unsigned int i = 0; i < c->nr_set_aside && i < SNP_ALLOC_CALL_MAX; i++)
		if (c->set_aside[i] == pfn)
			return "set aside in node 0's pool";
	return "freed";
}

static void step_vmcb_sieve(struct sim_repro_result *r)
{
	const struct snp_alloc_call *c = &r->vmcb_call;
	char list[SIM_REPRO_TEXT / 2] = "", a[48], note[SIM_REPRO_TEXT / 2];
	size_t n = 0;

	for (unsigned int i = 0; i < c->nr_taken && i < SNP_ALLOC_CALL_MAX && n < sizeof(list); i++)
		if (c->taken_order[i])   /* its fallback: upstream's order-1 method */
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%sorder-1 block 0x%llx-0x%llx, "
					      "split: 0x%llx %s, 0x%llx %s", i ? "; " : "",
					      ull(c->taken[i]), ull(c->taken[i] + 1), ull(c->taken[i]),
					      fate(c, c->taken[i]), ull(c->taken[i] + 1),
					      fate(c, c->taken[i] + 1));
		else
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s, %s", i ? "; " : "",
					      pfn_text(a, sizeof(a), c->taken[i]), fate(c, c->taken[i]));
	step(r, "KVM created vCPU 0 from CPU 0; svm_vcpu_create() allocated the VMCB with "
	     "snp_safe_alloc_page() (sieve): it took %u page(s) from CPU 0's list in turn: %s.%s",
	     c->nr_taken, list, freed_note(r, note, sizeof(note)));
}

/* What became of the VMCB region's base page, from the model's state. */
static enum sim_repro_base base_state(struct kvm_host *host, const struct sim_repro_result *r)
{
	struct mm_host *mm = kvm_host_mm(host);

	if (r->region_pfn == r->vmcb_pfn)
		return SIM_REPRO_BASE_VMCB;
	for (unsigned int i = 0; i < r->vmcb_call.nr_set_aside && i < SNP_ALLOC_CALL_MAX; i++)
		if (r->vmcb_call.set_aside[i] == r->region_pfn)
			return SIM_REPRO_BASE_SET_ASIDE;
	if (r->region_pfn == r->write_pfn)
		return SIM_REPRO_BASE_WRITTEN;
	return mm_page_allocated(mm, mm_pfn_to_page(mm, r->region_pfn)) > 0 ?
	       SIM_REPRO_BASE_OTHER : SIM_REPRO_BASE_FREE;
}

/*
 * Buffer and Write: another process on CPU 0 takes a kernel buffer and
 * writes it; then it frees the buffer (told in step 6).  0 or SNP_E*.
 */
static SNP_MUST_CHECK int other_process(struct kvm_host *host, struct sim_repro_result *r)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct snp_machine *m = kvm_host_machine(host);
	struct page *p;
	char a[48];
	int ret;

	p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);   /* UNMOVABLE, as KVM's pages */
	r->write_pfn = p ? mm_page_to_pfn(mm, p) : MM_PFN_INVALID;
	r->same_region = p && snp_pfn_2m_base(r->write_pfn) == r->region_pfn;
	if (!p)
		return SNP_ENOMEM;
	r->base = base_state(host, r);
	ret = snp_direct_map_lookup(m, snp_pfn_to_virt(r->write_pfn), &r->write_map);
	if (ret)
		return ret;
	step(r, "another process on CPU 0 allocated a kernel buffer (UNMOVABLE, the head of CPU 0's "
	     "list): %s, %s the VMCB's 2MB region [0x%llx-0x%llx]%s%s.",
	     pfn_text(a, sizeof(a), r->write_pfn), r->same_region ? "inside" : "outside",
	     ull(r->region_pfn), ull(r->region_pfn + SNP_PTRS_PER_PMD - 1),
	     r->vmcb_call.nr_freed && r->vmcb_call.freed[0] == r->write_pfn ? ", the page " : "",
	     r->vmcb_call.nr_freed && r->vmcb_call.freed[0] == r->write_pfn ?
	     (r->strategy == SNP_ALLOC_UPSTREAM ? "upstream freed a moment ago" :
	      "the VMCB's allocation freed a moment ago") : "");
	r->write_ret = snp_host_write(m, 0, snp_pfn_to_virt(r->write_pfn));
	if (r->write_ret && r->write_ret != SNP_EFAULT)
		return r->write_ret;   /* the model refused the write: no step to tell */
	r->faults = snp_fault_count(m);
	r->spurious_faults = snp_fault_count_spurious(m);
	r->have_fault = snp_fault_get(m, 0, &r->fault) == 0;
	step(r, "it wrote the buffer through the physmap (direct map, %s translation); the RMP check "
	     "of a hugepage access reads the 2MB region's base entry, pfn 0x%llx (%s): %s.",
	     snp_map_size_name(r->write_map), ull(r->region_pfn), sim_repro_base_name(r->base),
	     r->write_ret == 0 ? "no fault" :
	     r->have_fault && r->fault.spurious ? "spurious RMP violation #PF" : "RMP violation #PF");
	ret = mm_free_pages(mm, 0, p, 0);
	r->buffer_freed_at_head = !ret && offered(mm, 0) == r->write_pfn;
	return ret;
}

/* VMCB: KVM creates the vCPU; what the strategy did with the page on offer. */
static SNP_MUST_CHECK int create_vcpu(struct kvm_host *host, int vm, struct sim_repro_result *r)
{
	static void (*const tell[SNP_ALLOC_NR_STRATEGIES])(struct sim_repro_result *) = {
		[SNP_ALLOC_NAIVE] = step_vmcb_naive,
		[SNP_ALLOC_UPSTREAM] = step_vmcb_upstream,
		[SNP_ALLOC_SIEVE] = step_vmcb_sieve,
	};
	struct kvm_vcpu_pages pg;
	int ret = kvm_create_vcpu(host, vm, 0, 0);

	if (!ret)
		ret = kvm_vcpu_get_pages(host, vm, 0, &pg);
	/* With a PML buffer, the VMCB's call is the one before the buffer's. */
	if (!ret)
		ret = snp_alloc_recent_call(kvm_host_mm(host), pg.pml != SNP_NO_PAGE, &r->vmcb_call);
	if (ret)
		return ret;
	if (r->vmcb_call.returned != pg.vmcb01)
		return SNP_EINVAL;   /* the VMCB's must be that SNP-safe allocation */
	r->vmcb_pfn = pg.vmcb01;
	r->vmcb_aligned = snp_pfn_2m_aligned(pg.vmcb01);
	r->region_pfn = snp_pfn_2m_base(pg.vmcb01);
	r->freed_at_head = r->vmcb_call.nr_freed &&
			   offered(kvm_host_mm(host), 0) == r->vmcb_call.freed[0];
	tell[r->strategy](r);
	return 0;
}

/*
 * vmcb02: the buffer was freed; the guest enables SVM, and vmcb02 comes from
 * CPU 0's list through the version's call site.  After a faulted write the
 * model goes on where a real host has panicked, and says so.  Then the
 * per-kind tally of the whole host.
 */
static SNP_MUST_CHECK int step_nested(struct kvm_host *host, int vm, struct sim_repro_result *r)
{
	struct kvm_vcpu_pages pg;
	struct kvm_host_stats st;
	struct kvm_page_census c;
	char a[48];
	int ret;

	ret = kvm_vcpu_enable_nested(host, vm, 0);
	if (!ret)
		ret = kvm_vcpu_get_pages(host, vm, 0, &pg);
	if (!ret)
		ret = kvm_host_get_stats(host, &st);
	if (!ret)
		ret = kvm_host_census(host, &c);
	if (ret)
		return ret;
	r->vmcb02_pfn = pg.vmcb02;
	step(r, "%sthe process freed its buffer, pfn 0x%llx%s; after #VMEXIT the guest enabled SVM "
	     "(EFER.SVME) and svm_allocate_nested() on CPU 0 allocated vmcb02 %s (KVM %s): %s%s.",
	     r->write_ret ? "a real host stops at step 5's panic; the model goes on, so that this run "
	     "ends as the others do: " : "", ull(r->write_pfn),
	     r->buffer_freed_at_head ? " (back at the head of CPU 0's list)" : "",
	     st.sensitive_safe[KVM_PAGE_VMCB02] ? "through snp_safe_alloc_page()" :
	     "with a plain alloc_page()", kvm_version_name(r->kvm), pfn_text(a, sizeof(a), pg.vmcb02),
	     pg.vmcb02 == r->write_pfn ? ", the page step 4's buffer held until it was freed" : "");
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		r->kind_allocated[k] = c.allocated[k];
		r->kind_safe[k] = st.sensitive_safe[k];
		r->kind_aligned[k] = c.aligned[k];
		r->kind_exposed[k] = c.exposed[k];
		r->kind_exposed_aligned[k] = c.exposed_aligned[k];
	}
	return 0;
}

int sim_repro_run(const struct snp_profile *profile, enum snp_alloc_strategy strategy,
		  enum kvm_version kvm, struct sim_repro_result *r)
{
	struct snp_vmrun_result res;
	struct kvm_host *host;
	int vm, ret;

	if (!profile || !r || (unsigned int)strategy >= SNP_ALLOC_NR_STRATEGIES ||
	    (unsigned int)kvm >= KVM_NR_VERSIONS)
		return SNP_EINVAL;
	memset(r, 0, sizeof(*r));
	r->profile = profile->name;
	r->strategy = strategy;
	r->kvm = kvm;
	ret = repro_host(profile, strategy, kvm, &host);
	if (ret)
		return ret;
	vm = ret = prepare_host(host, r);
	if (ret < 0)
		goto out;
	ret = note_save_areas(host, r);
	if (ret)
		goto out;
	step_setup(host, r);
	ret = create_vcpu(host, vm, r);
	if (ret)
		goto out;
	ret = kvm_vcpu_run(host, vm, 0, 1, &res);
	step(r, "CPU 1 %s with the VMCB; its RMP entry is %s.",
	     !ret && res.outcome == SNP_VMRUN_ENTERED ? "entered the guest" : "failed to enter the guest",
	     snp_rmp_inuse(snp_machine_rmp(kvm_host_machine(host)), r->vmcb_pfn) ?
	     "marked in-use" : "not in-use");
	if (ret || res.outcome != SNP_VMRUN_ENTERED) {
		ret = ret ? ret : SNP_EPERM;
		goto out;
	}
	ret = other_process(host, r);
	r->fault_after_step = r->nr_steps;
	if (!ret)
		ret = kvm_vcpu_exit(host, vm, 0);
	if (!ret)
		ret = step_nested(host, vm, r);
out:
	kvm_host_destroy(host);
	return ret;
}
