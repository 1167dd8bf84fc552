/* SPDX-License-Identifier: MIT */
/*
 * plugin_logic.h - what the watch plugin (watch/snpsafe_plugin.c) decides,
 * apart from QEMU and glib, so that tests/test_plugin_logic.c can hold each
 * decision without booting anything:
 *
 *  - which instruction a few bytes are (VMRUN, WRMSR, the TLB flushes) and
 *    the operands a flush callback needs;
 *  - where the CPU is back in host mode after a VMRUN (the exit marker);
 *  - the pages a VMRUN names besides the VMCB, read from the VMCB;
 *  - the leaf level of the kernel's translation (a 4-level page walk);
 *  - which direct-map stores are kept (the filter over 2MB regions).
 *
 * Memory and registers are read through callbacks, so the plugin passes
 * QEMU's readers and the test passes arrays.  Static inline: the plugin is
 * one shared object, the test one binary, and neither links the other.
 */
#ifndef SNPSAFE_WATCH_PLUGIN_LOGIC_H
#define SNPSAFE_WATCH_PLUGIN_LOGIC_H

#include <snpsafe/trace.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_KERNEL_TEXT_START 0xffff800000000000ULL   /* the upper half: kernel code */
#define PL_MSR_VM_HSAVE_PA   0xC0010117u
#define PL_REGION_SHIFT      21                       /* 2MB regions */
#define PL_NOADDR            (~0ULL)                  /* an address not decoded */
#define PL_PA_MASK           0x000ffffffffff000ULL    /* bits 51:12 */
#define PL_PTE_PRESENT       (1ULL << 0)
#define PL_PTE_PS            (1ULL << 7)              /* a leaf above the PTE level */

/* VMRUN is 0F 01 D8 (APM Vol. 3, VMRUN): three bytes, no operand. */
#define PL_VMRUN_LEN         3

/* VMCB control-area fields (APM Vol. 2 Appendix B, Table B-1). */
#define PL_VMCB_TLB_CTL      0x058   /* bits 39:32: TLB_CONTROL (APM Vol. 2 15.16.1) */
#define PL_VMCB_VINTR        0x060   /* bit 31: AVIC enable */
#define PL_VMCB_NESTED_CTL   0x090   /* bit 2: SEV-ES enable */
#define PL_VMCB_AVIC_BACKING 0x0e0   /* bits 51:12 */
#define PL_VMCB_VMSA_PA      0x108   /* bits 51:12 */
#define PL_VMCB_EXIT_CODE    0x070   /* EXITCODE, then EXITINFO1 (0x078), EXITINFO2 (0x080) */
#define PL_VMCB_EXIT_INT     0x088   /* EXITINTINFO: an event being delivered at the exit */
#define PL_VMCB_SAVE_CR3     0x550   /* state save area (0x400) + 0x150 (APM Vol. 2 Table B-2) */
#define PL_VMCB_SAVE_RIP     0x578   /* state save area (0x400) + 0x178 */
#define PL_HOST_HALF         0xffff800000000000ULL   /* x86-64 kernel half: bits 63:47 set */
#define PL_VINTR_AVIC        (1ULL << 31)
#define PL_NESTED_SEV_ES     (1ULL << 2)

/*
 * Registers the callbacks read: the 16 GPRs numbered as the instruction
 * encoding numbers them (ModRM/SIB with REX), then RIP, CR3, CR4.
 */
enum pl_reg {
	PL_RAX, PL_RCX, PL_RDX, PL_RBX, PL_RSP, PL_RBP, PL_RSI, PL_RDI,
	PL_R8, PL_R9, PL_R10, PL_R11, PL_R12, PL_R13, PL_R14, PL_R15,
	PL_RIP, PL_CR3, PL_CR4, PL_NR_REGS
};

/* Reads 8 bytes of physical memory; false if it cannot. */
typedef bool (*pl_read_phys64_t)(void *ctx, uint64_t pa, uint64_t *out);
/* Reads a register (enum pl_reg). */
typedef uint64_t (*pl_read_reg_t)(void *ctx, int reg);

/* ---- instructions ---------------------------------------------------------------------- */

/* A decoded instruction: what the flush callbacks need. */
struct pl_dec {
	uint64_t pc, len;
	uint8_t kind;                 /* enum snp_trace_flush */
	uint8_t cr;                   /* MOV CR: 3 or 4 */
	int reg;                      /* ModRM.reg (+REX.R): INVPCID's type register */
	int rm;                       /* ModRM.rm (+REX.B): MOV CR's source register */
	/* memory operand: base + index * scale + disp, or RIP-relative disp */
	int base, index, scale;
	int64_t disp;
	bool rip_rel, has_mem;
};

enum pl_insn { PL_INSN_NONE, PL_INSN_VMRUN, PL_INSN_WRMSR, PL_INSN_FLUSH };

static inline int32_t pl_le32s(const uint8_t *b)
{
	return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			 (uint32_t)b[3] << 24);
}

/* Decode a ModRM operand starting at b[0] (the ModRM byte); bytes used, or 0 if cut short. */
static inline int pl_decode_modrm(const uint8_t *b, size_t n, int rex, struct pl_dec *d)
{
	int mod, rm, used = 1;

	if (n < 1)
		return 0;
	mod = b[0] >> 6;
	rm = b[0] & 7;
	d->reg = ((rex & 4) << 1) | ((b[0] >> 3) & 7);
	d->rm = ((rex & 1) << 3) | rm;
	d->base = d->index = -1;
	d->scale = 1;
	d->disp = 0;
	d->rip_rel = false;
	d->has_mem = mod != 3;
	if (mod == 3)
		return used;
	if (rm == 4) {
		int sib, idx;

		if (n < 2)
			return 0;
		sib = b[1];
		idx = ((rex & 2) << 2) | ((sib >> 3) & 7);
		used++;
		d->scale = 1 << (sib >> 6);
		if (idx != 4)
			d->index = idx;
		if ((sib & 7) == 5 && mod == 0) {      /* no base: disp32 */
			if (n < (size_t)used + 4)
				return 0;
			d->disp = pl_le32s(b + used);
			return used + 4;
		}
		d->base = ((rex & 1) << 3) | (sib & 7);
	} else if (rm == 5 && mod == 0) {
		if (n < 5)
			return 0;
		d->rip_rel = true;
		d->disp = pl_le32s(b + 1);
		return 5;
	} else {
		d->base = d->rm;
	}
	if (mod == 1) {
		if (n < (size_t)used + 1)
			return 0;
		d->disp = (int8_t)b[used];
		used += 1;
	} else if (mod == 2) {
		if (n < (size_t)used + 4)
			return 0;
		d->disp = pl_le32s(b + used);
		used += 4;
	}
	return used;
}

static inline bool pl_is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x3e ||
	       b == 0x26 || b == 0x64 || b == 0x65 || b == 0x36 || b == 0xf0;
}

/* 0F 01 xx: VMRUN (D8), INVLPGA (DF), INVLPG (/7 with a memory operand). */
static inline enum pl_insn pl_classify_0f01(const uint8_t *b, size_t n, int rex, struct pl_dec *d)
{
	uint8_t m = b[0];

	if (m == 0xd8)
		return PL_INSN_VMRUN;
	if (m == 0xdf) {
		d->kind = SNP_TRF_INVLPGA;
		return PL_INSN_FLUSH;
	}
	if ((m >> 6) != 3 && ((m >> 3) & 7) == 7) {
		d->kind = SNP_TRF_INVLPG;
		return pl_decode_modrm(b, n, rex, d) ? PL_INSN_FLUSH : PL_INSN_NONE;
	}
	return PL_INSN_NONE;
}

/*
 * Classify an instruction by its bytes (n of them, at most the instruction
 * and what follows); fills d for flushes.  MOV to CR3/CR4 is 0F 22 /r
 * (CR number in ModRM.reg with REX.R), INVPCID 66 0F 38 82 /r (type in the
 * register of ModRM.reg, descriptor in memory), WRMSR 0F 30.
 */
static inline enum pl_insn pl_classify(const uint8_t *b, size_t n, struct pl_dec *d)
{
	size_t i = 0;
	int rex = 0;
	bool p66 = false;

	while (i < n && pl_is_legacy_prefix(b[i])) {
		p66 |= b[i] == 0x66;
		i++;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++] & 0xf;
	if (i + 1 >= n || b[i] != 0x0f)
		return PL_INSN_NONE;
	i++;
	if (b[i] == 0x30)
		return PL_INSN_WRMSR;
	if (b[i] == 0x01 && i + 1 < n)
		return pl_classify_0f01(b + i + 1, n - i - 1, rex, d);
	if (b[i] == 0x22 && i + 1 < n) {
		if (!pl_decode_modrm(b + i + 1, n - i - 1, rex, d) || (d->reg != 3 && d->reg != 4))
			return PL_INSN_NONE;
		d->cr = (uint8_t)d->reg;
		d->kind = d->cr == 3 ? SNP_TRF_CR3 : SNP_TRF_CR4;
		return PL_INSN_FLUSH;
	}
	if (p66 && b[i] == 0x38 && i + 2 < n && b[i + 1] == 0x82) {
		d->kind = SNP_TRF_INVPCID;
		if (!pl_decode_modrm(b + i + 2, n - i - 2, rex, d) || !d->has_mem)
			return PL_INSN_NONE;
		return PL_INSN_FLUSH;
	}
	return PL_INSN_NONE;
}

/* The memory operand's address (a RIP-relative one counts from the next instruction). */
static inline uint64_t pl_effective_address(const struct pl_dec *d, pl_read_reg_t reg, void *ctx)
{
	uint64_t a = (uint64_t)d->disp;

	if (d->rip_rel)
		return a + d->pc + d->len;
	if (d->base >= 0)
		a += reg(ctx, d->base);
	if (d->index >= 0)
		a += reg(ctx, d->index) * (uint64_t)d->scale;
	return a;
}

/* ---- VMRUN and its exit ------------------------------------------------------------------ */

/*
 * Where the CPU is back in host mode: a #VMEXIT resumes the host at the
 * RIP VMRUN saved, the instruction after it (APM Vol. 2 15.5.1, 15.6), so
 * the first instruction executed at vmrun_pc + 3 marks the exit.
 */
static inline uint64_t pl_exit_marker(uint64_t vmrun_pc)
{
	return vmrun_pc + PL_VMRUN_LEN;
}

/* Pages a VMRUN uses, indexed as the trace's VMRUN_PAGE kinds (0 the VMCB itself). */
enum { PL_PAGE_VMCB, PL_PAGE_VMSA = SNP_TRP_VMSA, PL_PAGE_AVIC = SNP_TRP_AVIC, PL_NR_PAGES };

/*
 * The pages the VMCB at vmcb names, 0 where none: the VMSA when SEV-ES is
 * enabled (VMCB 0x090 bit 2), the AVIC backing page when AVIC is
 * (VMCB 0x060 bit 31); APM Vol. 2 Table 15-41.
 */
static inline void pl_vmrun_pages(uint64_t vmcb, pl_read_phys64_t rd, void *ctx,
				  uint64_t pages[PL_NR_PAGES])
{
	uint64_t ctl = 0, vintr = 0, p = 0;

	pages[PL_PAGE_VMCB] = vmcb & PL_PA_MASK;
	pages[PL_PAGE_VMSA] = pages[PL_PAGE_AVIC] = 0;
	if (rd(ctx, pages[0] + PL_VMCB_NESTED_CTL, &ctl) && (ctl & PL_NESTED_SEV_ES) &&
	    rd(ctx, pages[0] + PL_VMCB_VMSA_PA, &p))
		pages[PL_PAGE_VMSA] = p & PL_PA_MASK;
	if (rd(ctx, pages[0] + PL_VMCB_VINTR, &vintr) && (vintr & PL_VINTR_AVIC) &&
	    rd(ctx, pages[0] + PL_VMCB_AVIC_BACKING, &p))
		pages[PL_PAGE_AVIC] = p & PL_PA_MASK;
}

/*
 * The TLB_CONTROL byte of the VMCB at vmcb (VMCB 0x058 bits 39:32: the flush
 * this VMRUN does, APM Vol. 2 15.16.1) in *ctl; false when it could not be read.
 */
static inline bool pl_vmrun_tlb_control(uint64_t vmcb, pl_read_phys64_t rd, void *ctx, uint8_t *ctl)
{
	uint64_t q;

	if (!rd(ctx, (vmcb & PL_PA_MASK) + PL_VMCB_TLB_CTL, &q))
		return false;
	*ctl = (uint8_t)(q >> 32);
	return true;
}

/*
 * A VMCB whose saved guest RIP is in the kernel half of the address space
 * (docs/WATCH.md "It recurred"): the workload's guest runs in real mode at
 * 0x1000, so such a RIP is the host's, written where the guest's should be.
 * The exit fields and CR3 come with it, for the report.
 */
struct pl_vmcb_state {
	uint64_t rip, cr3, exit_code, info1, info2, int_info;
};

static inline bool pl_vmcb_read_state(uint64_t vmcb, pl_read_phys64_t rd, void *ctx,
				      struct pl_vmcb_state *st)
{
	const uint64_t base = vmcb & PL_PA_MASK;

	return rd(ctx, base + PL_VMCB_SAVE_RIP, &st->rip) && rd(ctx, base + PL_VMCB_SAVE_CR3, &st->cr3) &&
	       rd(ctx, base + PL_VMCB_EXIT_CODE, &st->exit_code) &&
	       rd(ctx, base + PL_VMCB_EXIT_CODE + 8, &st->info1) &&
	       rd(ctx, base + PL_VMCB_EXIT_CODE + 16, &st->info2) &&
	       rd(ctx, base + PL_VMCB_EXIT_INT, &st->int_info);
}

static inline bool pl_rip_is_host(uint64_t rip)
{
	return (rip & PL_HOST_HALF) == PL_HOST_HALF;
}

/* The value WRMSR writes: EDX:EAX (the upper halves of RDX and RAX are ignored). */
static inline uint64_t pl_wrmsr_value(uint64_t rdx, uint64_t rax)
{
	return (rdx & 0xffffffffULL) << 32 | (rax & 0xffffffffULL);
}

/* ---- the page walk ---------------------------------------------------------------------- */

/*
 * Leaf level of the translation of va under cr3: a 4-level walk (the guest
 * boots with no5lvl), each entry read from physical memory.  PS in a PDPT
 * entry is a 1G leaf, in a PD entry a 2M leaf (SDM Vol. 3 4.5, APM Vol. 2
 * 5.3); a PTE is 4K.  SNP_TRL_UNKNOWN if CR3 is 0, an entry cannot be read
 * or is not present.  CR3's PCID (bits 11:0) and no-flush bit 63 are not
 * part of the table's address.
 */
static inline uint8_t pl_leaf_level(uint64_t cr3, uint64_t va, pl_read_phys64_t rd, void *ctx)
{
	static const int shift[4] = { 39, 30, 21, 12 };
	uint64_t table = cr3 & PL_PA_MASK, e;

	if (!table)
		return SNP_TRL_UNKNOWN;
	for (int lvl = 0; lvl < 4; lvl++) {
		if (!rd(ctx, table + ((va >> shift[lvl]) & 511) * 8, &e) || !(e & PL_PTE_PRESENT))
			return SNP_TRL_UNKNOWN;
		if (lvl == 1 && (e & PL_PTE_PS))
			return SNP_TRL_1G;
		if (lvl == 2 && (e & PL_PTE_PS))
			return SNP_TRL_2M;
		table = e & PL_PA_MASK;
	}
	return SNP_TRL_4K;
}

/* ---- stores ---------------------------------------------------------------------------- */

/* The physical address of a direct-map va, if va is in [dmbase, dmbase + mem). */
static inline bool pl_direct_map_pa(uint64_t va, uint64_t dmbase, uint64_t mem, uint64_t *pa)
{
	if (va < dmbase || va - dmbase >= mem)
		return false;
	*pa = va - dmbase;
	return true;
}

/*
 * The store filter over 2MB regions (docs/TRACE.md): all keeps everything,
 * ever a region that ever held a VMRUN page or a save area (ever[]),
 * inguest a region holding a page of a VMRUN whose CPU is in guest mode
 * now (hot[] > 0).  hot[] and ever[] change under the plugin's lock; the
 * loads are atomic so a check outside it reads a whole value.
 */
static inline bool pl_region_kept(unsigned int filter, uint64_t pa, uint64_t nr_regions,
				  const uint32_t *hot, const uint8_t *ever)
{
	uint64_t r = pa >> PL_REGION_SHIFT;

	switch (filter) {
	case SNP_TRACE_FILTER_ALL:
		return true;
	case SNP_TRACE_FILTER_EVER:
		return r < nr_regions && __atomic_load_n(&ever[r], __ATOMIC_RELAXED);
	default:
		return r < nr_regions && __atomic_load_n(&hot[r], __ATOMIC_ACQUIRE);
	}
}

/* A store of size bytes at pa: kept if either region it touches is (it may cross into the next). */
static inline bool pl_store_kept(unsigned int filter, uint64_t pa, unsigned int size,
				 uint64_t nr_regions, const uint32_t *hot, const uint8_t *ever)
{
	return pl_region_kept(filter, pa, nr_regions, hot, ever) ||
	       pl_region_kept(filter, pa + size - 1, nr_regions, hot, ever);
}

#endif
