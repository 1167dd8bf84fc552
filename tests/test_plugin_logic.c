// SPDX-License-Identifier: MIT
/*
 * test_plugin_logic.c - the watch plugin's decisions (watch/plugin_logic.h)
 * without QEMU: instruction bytes as Linux assembles them, the exit marker
 * after VMRUN, the pages a VMCB names, a page walk over hand-built tables
 * with every leaf size, and the store filter over 2MB regions.
 */
#include "ktap.h"

#include "../watch/plugin_logic.h"

#include <string.h>

/* ---- instructions ---- */

static enum pl_insn classify(const uint8_t *b, size_t n, struct pl_dec *d)
{
	memset(d, 0, sizeof(*d));
	return pl_classify(b, n, d);
}

/*
 * __svm_vcpu_run (arch/x86/kvm/svm/vmenter.S): "1: vmrun %rax" then the
 * host resumes at "2:" (the label the exception table pairs with it).
 * The exit marker is the address of the instruction after VMRUN.
 */
static void vmrun_and_its_exit_marker(void)
{
	/* vmrun %rax; cli (vmenter.S's next instruction is the host's first after #VMEXIT) */
	static const uint8_t code[] = { 0x0f, 0x01, 0xd8, 0xfa };
	const uint64_t pc = 0xffffffffc0a01000ULL;
	struct pl_dec d;

	KEXPECT_EQ(classify(code, sizeof(code), &d), PL_INSN_VMRUN);
	/* The next instruction (cli) decodes at pc + 3: that is where #VMEXIT resumes. */
	KEXPECT_EQ(classify(code + 3, 1, &d), PL_INSN_NONE);
	KEXPECT(pl_exit_marker(pc) == pc + sizeof(code) - 1);
	KEXPECT(pl_exit_marker(pc) != pc + 2);
	/* Neighbours of VMRUN in the 0F 01 space are not VMRUN. */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0xd9 }, 3, &d), PL_INSN_NONE); /* VMMCALL */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0xda }, 3, &d), PL_INSN_NONE); /* VMLOAD */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0xf8 }, 3, &d), PL_INSN_NONE); /* SWAPGS */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x01 }, 2, &d), PL_INSN_NONE);       /* cut short */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x30 }, 2, &d), PL_INSN_WRMSR);
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x32 }, 2, &d), PL_INSN_NONE);       /* RDMSR */
}

static void mov_to_cr3_and_cr4(void)
{
	struct pl_dec d;

	/* mov %rdi,%cr3 (0F 22 DF): source RDI */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x22, 0xdf }, 3, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_CR3);
	KEXPECT_EQ(d.rm, PL_RDI);
	/* mov %r8,%cr3 (41 0F 22 D8): REX.B selects R8 */
	KASSERT_EQ(classify((const uint8_t[]){ 0x41, 0x0f, 0x22, 0xd8 }, 4, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_CR3);
	KEXPECT_EQ(d.rm, PL_R8);
	/* mov %rax,%cr4 (0F 22 E0) */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x22, 0xe0 }, 3, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_CR4);
	KEXPECT_EQ(d.rm, PL_RAX);
	/* mov %rax,%cr0 and %cr8 (REX.R: 44 0F 22 C0), and a read of CR3 (0F 20 D8): not flushes */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x22, 0xc0 }, 3, &d), PL_INSN_NONE);
	KEXPECT_EQ(classify((const uint8_t[]){ 0x44, 0x0f, 0x22, 0xc0 }, 4, &d), PL_INSN_NONE);
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x20, 0xd8 }, 3, &d), PL_INSN_NONE);
}

/* Registers for pl_effective_address(): reg n holds 0x1000 * (n + 1). */
static uint64_t fake_reg(void *ctx, int r)
{
	(void)ctx;
	return 0x1000ULL * (uint64_t)(r + 1);
}

static void invlpg_invlpga_invpcid(void)
{
	struct pl_dec d;

	/* invlpg (%rax) */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0x38 }, 3, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_INVLPG);
	KEXPECT(pl_effective_address(&d, fake_reg, NULL) == 0x1000);
	/* invlpg 0x8(%rsp,%rbx,4): SIB, disp8 */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0x7c, 0x9c, 0x08 }, 5, &d), PL_INSN_FLUSH);
	KEXPECT(pl_effective_address(&d, fake_reg, NULL) == 0x5000 + 4 * 0x4000 + 8);
	/* invlpg -0x10(%r13): REX.B, disp8 negative */
	KASSERT_EQ(classify((const uint8_t[]){ 0x41, 0x0f, 0x01, 0x7d, 0xf0 }, 5, &d), PL_INSN_FLUSH);
	KEXPECT(pl_effective_address(&d, fake_reg, NULL) == 0xe000 - 0x10);
	/* invlpg 0x100(%rip): from the next instruction */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0x3d, 0x00, 0x01, 0x00, 0x00 }, 7, &d),
		   PL_INSN_FLUSH);
	d.pc = 0xffffffff81000000ULL;
	d.len = 7;
	KEXPECT(pl_effective_address(&d, fake_reg, NULL) == 0xffffffff81000107ULL);
	/* a disp32 cut short is not decoded */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0x3d, 0x00, 0x01 }, 5, &d), PL_INSN_NONE);
	/* invlpga %rax,%ecx */
	KASSERT_EQ(classify((const uint8_t[]){ 0x0f, 0x01, 0xdf }, 3, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_INVLPGA);
	/* invpcid (%rdi),%rax (66 0F 38 82 07): type in RAX, descriptor at RDI */
	KASSERT_EQ(classify((const uint8_t[]){ 0x66, 0x0f, 0x38, 0x82, 0x07 }, 5, &d), PL_INSN_FLUSH);
	KEXPECT_EQ(d.kind, SNP_TRF_INVPCID);
	KEXPECT_EQ(d.reg, PL_RAX);
	KEXPECT(pl_effective_address(&d, fake_reg, NULL) == 0x8000);
	/* invpcid (%rsi),%r9 (66 44 0F 38 82 0E): REX.R */
	KASSERT_EQ(classify((const uint8_t[]){ 0x66, 0x44, 0x0f, 0x38, 0x82, 0x0e }, 6, &d),
		   PL_INSN_FLUSH);
	KEXPECT_EQ(d.reg, PL_R9);
	/* without 66 it is another instruction */
	KEXPECT_EQ(classify((const uint8_t[]){ 0x0f, 0x38, 0x82, 0x07 }, 4, &d), PL_INSN_NONE);
}

/* ---- memory for the walk and the VMCB: a few 8-byte words by address ---- */

struct fake_mem {
	uint64_t pa[16], val[16];
	unsigned int n;
	unsigned int reads;
};

static void mem_put(struct fake_mem *m, uint64_t pa, uint64_t val)
{
	KASSERT(m->n < 16);
	m->pa[m->n] = pa;
	m->val[m->n++] = val;
}

static bool mem_read(void *ctx, uint64_t pa, uint64_t *out)
{
	struct fake_mem *m = ctx;

	m->reads++;
	for (unsigned int i = 0; i < m->n; i++)
		if (m->pa[i] == pa) {
			*out = m->val[i];
			return true;
		}
	return false;
}

static void vmrun_pages_from_the_vmcb(void)
{
	const uint64_t vmcb = 0x523000;
	uint64_t pages[PL_NR_PAGES];
	struct fake_mem m = { .n = 0 };

	/* Plain SVM: only the VMCB; RAX's low bits are not part of it. */
	mem_put(&m, vmcb + PL_VMCB_NESTED_CTL, 1);                /* NP only */
	mem_put(&m, vmcb + PL_VMCB_VMSA_PA, 0xa00000);
	mem_put(&m, vmcb + PL_VMCB_AVIC_BACKING, 0xc00000);
	pl_vmrun_pages(vmcb | 0x10, mem_read, &m, pages);
	KEXPECT(pages[PL_PAGE_VMCB] == vmcb);
	KEXPECT(pages[PL_PAGE_VMSA] == 0 && pages[PL_PAGE_AVIC] == 0);
	/* SEV without SEV-ES (bit 1) names no VMSA; SEV-ES (bit 2) does. */
	m.val[0] = 2;
	pl_vmrun_pages(vmcb, mem_read, &m, pages);
	KEXPECT(pages[PL_PAGE_VMSA] == 0);
	m.val[0] = 1 | 4;
	pl_vmrun_pages(vmcb, mem_read, &m, pages);
	KEXPECT(pages[PL_PAGE_VMSA] == 0xa00000);
	KEXPECT(pages[PL_PAGE_AVIC] == 0);
	/* AVIC enable is VINTR bit 31; the backing page's low bits are not its address. */
	mem_put(&m, vmcb + PL_VMCB_VINTR, 1ULL << 31);
	m.val[2] = 0xc00000 | 0xfff;
	pl_vmrun_pages(vmcb, mem_read, &m, pages);
	KEXPECT(pages[PL_PAGE_AVIC] == 0xc00000);
	KEXPECT_EQ(PL_PAGE_VMSA, SNP_TRP_VMSA);
	KEXPECT_EQ(PL_PAGE_AVIC, SNP_TRP_AVIC);
	/* WRMSR writes EDX:EAX; the upper halves of RDX and RAX are not the value. */
	KEXPECT(pl_wrmsr_value(0xdeadbeef00000001ULL, 0xffffffff12345000ULL) == 0x112345000ULL);
}

/*
 * TLB_CONTROL is VMCB 0x058 bits 39:32 (APM Vol. 2 Table B-1): the byte
 * above the guest ASID in the same quadword, read from the VMCB's page
 * whatever RAX's low bits, and "not read" when the VMCB cannot be read.
 */
static void vmrun_tlb_control(void)
{
	const uint64_t vmcb = 0x523000;
	struct fake_mem m = { .n = 0 };
	uint8_t ctl = 0xee;

	KEXPECT(!pl_vmrun_tlb_control(vmcb, mem_read, &m, &ctl));
	KEXPECT_EQ(ctl, 0xee);
	mem_put(&m, vmcb + 0x058, 0x00000003000000ffULL | (0x07ULL << 40));   /* ASID 0xff */
	KEXPECT(pl_vmrun_tlb_control(vmcb | 0x10, mem_read, &m, &ctl));
	KEXPECT_EQ(ctl, 3);
	m.val[0] = 1ULL << 32 | 5;
	KEXPECT(pl_vmrun_tlb_control(vmcb, mem_read, &m, &ctl));
	KEXPECT_EQ(ctl, 1);
}

/*
 * The stuck vCPU's probe: the saved guest RIP (state save area 0x178, VMCB
 * 0x578), CR3 (0x550) and the exit fields (0x070-0x088, APM Vol. 2 Tables
 * B-1 and B-2) read from the VMCB's page; a RIP in the kernel half is the
 * host's (docs/WATCH.md "It recurred": __svm_vcpu_run+0xa0), the
 * workload's real-mode RIP and a user address are not.
 */
static void vmcb_host_rip(void)
{
	const uint64_t vmcb = 0x67e0000;
	struct fake_mem m = { .n = 0 };
	struct pl_vmcb_state st = { 0 };

	mem_put(&m, vmcb + 0x578, 0xffffffffc03a6b40ULL);
	mem_put(&m, vmcb + 0x550, 0x4b02000);
	mem_put(&m, vmcb + 0x070, 0x400);
	mem_put(&m, vmcb + 0x078, 0x20000000eULL);
	KEXPECT(!pl_vmcb_read_state(vmcb, mem_read, &m, &st));   /* 0x080, 0x088 unreadable */
	mem_put(&m, vmcb + 0x080, 0x4b02fe0);
	mem_put(&m, vmcb + 0x088, 0x80000b0eULL);
	KEXPECT(pl_vmcb_read_state(vmcb | 0x10, mem_read, &m, &st));
	KEXPECT(st.rip == 0xffffffffc03a6b40ULL && st.cr3 == 0x4b02000 && st.exit_code == 0x400);
	KEXPECT(st.info1 == 0x20000000eULL && st.info2 == 0x4b02fe0 && st.int_info == 0x80000b0eULL);
	KEXPECT(pl_rip_is_host(st.rip));
	KEXPECT(pl_rip_is_host(0xffff800000000000ULL));
	KEXPECT(!pl_rip_is_host(0x1005));
	KEXPECT(!pl_rip_is_host(0x00007fffffffe000ULL));
	KEXPECT(!pl_rip_is_host(0xffff7fffffffffffULL));
}

/* ---- the page walk ---- */

#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD   0x3000ULL
#define PT   0x4000ULL

static uint64_t slot(uint64_t table, uint64_t va, int shift)
{
	return table + ((va >> shift) & 511) * 8;
}

/*
 * One direct-map address of each leaf size: va1g's PDPT entry is a 1G
 * leaf, va2m's PD entry a 2M leaf, va4k's goes down to a PTE.  All share
 * the PML4 entry; va1g and the others differ in the PDPT index.
 */
static void page_walk_leaf_levels(void)
{
	const uint64_t base = 0xffff888000000000ULL;
	const uint64_t va1g = base + 0x40000000, va2m = base + 0x200000, va4k = base + 0x401000;
	const uint64_t cr3 = PML4 | 0x5 | (1ULL << 63);  /* PCID 5, no-flush bit: not the address */
	struct fake_mem m = { .n = 0 };

	mem_put(&m, slot(PML4, base, 39), PDPT | 0x63);
	mem_put(&m, slot(PDPT, va1g, 30), 0x40000000 | 0x80 | 0x63);     /* PS: 1G */
	mem_put(&m, slot(PDPT, va2m, 30), PD | 0x63);
	mem_put(&m, slot(PD, va2m, 21), 0x200000 | 0x80 | 0x63);         /* PS: 2M */
	mem_put(&m, slot(PD, va4k, 21), PT | 0x63);
	mem_put(&m, slot(PT, va4k, 12), 0x401000 | 0x63);

	KEXPECT_EQ(pl_leaf_level(cr3, va1g, mem_read, &m), SNP_TRL_1G);
	KEXPECT_EQ(pl_leaf_level(cr3, va2m, mem_read, &m), SNP_TRL_2M);
	m.reads = 0;
	KEXPECT_EQ(pl_leaf_level(cr3, va4k, mem_read, &m), SNP_TRL_4K);
	KEXPECT_EQ(m.reads, 4);
	/* PS in a PTE is PAT, not a size: still 4K. */
	m.val[5] |= 0x80;
	KEXPECT_EQ(pl_leaf_level(cr3, va4k, mem_read, &m), SNP_TRL_4K);
	/* A PD entry without PS is a table, whatever the PDPT's. */
	m.val[3] &= ~0x80ULL;
	KEXPECT_EQ(pl_leaf_level(cr3, va2m, mem_read, &m), SNP_TRL_UNKNOWN);  /* table at 0x200000: unread */
	/* Not present, unreadable, or no CR3 yet: unknown. */
	m.val[2] &= ~1ULL;
	KEXPECT_EQ(pl_leaf_level(cr3, va4k, mem_read, &m), SNP_TRL_UNKNOWN);
	KEXPECT_EQ(pl_leaf_level(cr3, base + (1ULL << 39), mem_read, &m), SNP_TRL_UNKNOWN);
	KEXPECT_EQ(pl_leaf_level(0, va1g, mem_read, &m), SNP_TRL_UNKNOWN);
}

/* ---- stores and the filter ---- */

static void direct_map_addresses(void)
{
	const uint64_t base = 0xffff888000000000ULL, mem = 1ULL << 30;
	uint64_t pa = 7;

	KEXPECT(pl_direct_map_pa(base + 0x1234, base, mem, &pa) && pa == 0x1234);
	KEXPECT(pl_direct_map_pa(base + mem - 1, base, mem, &pa) && pa == mem - 1);
	KEXPECT(!pl_direct_map_pa(base + mem, base, mem, &pa));
	KEXPECT(!pl_direct_map_pa(base - 1, base, mem, &pa));
	KEXPECT(!pl_direct_map_pa(0xffffffff81000000ULL, base, mem, &pa));  /* kernel text */
}

/*
 * Regions 0..3 of 2MB: region 1 is hot (a VMRUN page of a CPU in guest
 * mode), region 2 only ever held one.  Each filter keeps what
 * docs/TRACE.md says.
 */
static void filter_by_region(void)
{
	const uint32_t hot[4] = { 0, 1, 0, 0 };
	const uint8_t ever[4] = { 0, 1, 1, 0 };
	const uint64_t r = 1ULL << PL_REGION_SHIFT;
	static const struct { unsigned int filter; bool keep[5]; } want[] = {
		/* regions 0, 1, 2, 3, and beyond memory */
		{ SNP_TRACE_FILTER_INGUEST, { false, true, false, false, false } },
		{ SNP_TRACE_FILTER_EVER,    { false, true, true, false, false } },
		{ SNP_TRACE_FILTER_ALL,     { true, true, true, true, true } },
	};

	for (size_t f = 0; f < KTAP_ARRAY_SIZE(want); f++)
		for (unsigned int i = 0; i < 5; i++) {
			bool got = pl_store_kept(want[f].filter, i * r + 0x800, 8, 4, hot, ever);

			if (got != want[f].keep[i])
				ktap_fail(__FILE__, __LINE__, "filter %u, region %u: kept %d", want[f].filter,
					  i, got);
		}
	/* A store that crosses from a cold region into a hot one is kept; one that stops short is not. */
	KEXPECT(pl_store_kept(SNP_TRACE_FILTER_INGUEST, r - 4, 8, 4, hot, ever));
	KEXPECT(!pl_store_kept(SNP_TRACE_FILTER_INGUEST, r - 8, 8, 4, hot, ever));
	KEXPECT(pl_store_kept(SNP_TRACE_FILTER_INGUEST, 2 * r - 4, 8, 4, hot, ever));  /* hot to cold */
	KEXPECT(!pl_store_kept(SNP_TRACE_FILTER_INGUEST, 3 * r - 4, 8, 4, hot, ever)); /* ever only */
}

static const struct ktap_case cases[] = {
	KTAP_CASE(vmrun_and_its_exit_marker),
	KTAP_CASE(mov_to_cr3_and_cr4),
	KTAP_CASE(invlpg_invlpga_invpcid),
	KTAP_CASE(vmrun_pages_from_the_vmcb),
	KTAP_CASE(vmrun_tlb_control),
	KTAP_CASE(vmcb_host_rip),
	KTAP_CASE(page_walk_leaf_levels),
	KTAP_CASE(direct_map_addresses),
	KTAP_CASE(filter_by_region),
};

KTAP_MAIN("plugin_logic", cases)
