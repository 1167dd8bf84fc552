// SPDX-License-Identifier: MIT
/*
 * snpsafe_plugin.c - a QEMU TCG plugin that watches a real x86-64 Linux host
 * kernel run kvm_amd and records what early SNP hardware would care about
 * (docs/WATCH.md, format in include/snpsafe/trace.h):
 *
 *  - VMRUN (0F 01 D8): the VMCB's physical address is RAX at the
 *    instruction (APM Vol. 2 15.5.1), and its TLB_CONTROL byte (VMCB 0x058
 *    bits 39:32, the flush this VMRUN does); the VMSA (VMCB 0x108) and the AVIC
 *    backing page (VMCB 0x0E0) when the VMCB enables SEV-ES / AVIC.  The
 *    CPU stays in guest mode until it executes the instruction after that
 *    VMRUN (the #VMEXIT resumes the host there): that is the VMEXIT record.
 *  - WRMSR to VM_HSAVE_PA (0xC0010117, value in EDX:EAX): host save areas.
 *  - host stores through the kernel direct map, with the leaf size of the
 *    kernel's own translation (a walk of the page tables from CR3);
 *  - TLB flushes: MOV to CR3/CR4, INVLPG, INVLPGA, INVPCID.
 *
 * Stores are filtered here, not later: with filter=inguest (the default)
 * only stores to a 2MB region that holds a page of a VMRUN whose CPU is
 * still in guest mode are written, because only those can meet an in-use
 * mark when the mark is cleared at #VMEXIT (APM 15.36.12).  filter=ever
 * keeps stores to every region that ever held such a page or a save area
 * (for the counterfactual "mark kept after #VMEXIT"); filter=all keeps all.
 *
 * Under TCG the callbacks also run while a CPU executes its guest (the
 * guest's code is translated and instrumented like the host's), so each
 * CPU's host or guest mode is tracked from its VMRUN to that VMRUN's exit
 * marker, and a guest's stores, CR3 and CR4 writes, flushes, WRMSRs and
 * VMRUNs (a nested hypervisor's: intercepted, never the host's) are not
 * the host's and are not recorded.
 *
 * Order in the file is the order of the machine: a VMRUN's records and the
 * marking of its regions are one hold of the writer's lock, as are a
 * kept store's last check and its record, and an exit's record and the
 * unmarking.  So a store is recorded between a VMRUN and its exit exactly
 * when its check saw the region marked (see on_store()).
 *
 * What is decided from bytes and numbers (decoding, the exit marker, the
 * page walk, the filter) lives in plugin_logic.h, which
 * tests/test_plugin_logic.c tests without QEMU.
 *
 * Arguments: trace=PATH (required), mem=BYTES (guest RAM, required),
 * filter=inguest|ever|all, dmbase=HEX (page_offset_base; boot the guest
 * with nokaslr no5lvl for the default 0xffff888000000000).
 */
#include <glib.h>
#include <qemu-plugin.h>

#include <snpsafe/trace.h>

#include "plugin_logic.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* QEMU's names of the registers of enum pl_reg. */
static const char *const reg_names[PL_NR_REGS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "cr3", "cr4",
};

/*
 * One CPU's state.  Only its own vCPU thread reads or writes it (QEMU runs
 * a CPU's callbacks on its thread); at_exit() reads the counters last.
 */
struct vcpu {
	struct qemu_plugin_register *reg[PL_NR_REGS];
	GByteArray *buf;
	bool in_guest;                /* from its VMRUN to that VMRUN's exit marker */
	uint64_t vmrun_pc;            /* the VMRUN it is in guest mode from */
	/* Regions marked by that VMRUN: its VMCB, VMSA, AVIC page, and the save area (0: none). */
	uint64_t marked[PL_NR_PAGES + 1];
	uint64_t hsave;
	uint64_t cr3;                 /* the last CR3 this CPU loaded in host mode: its current one */
	uint64_t stores_seen;
	uint64_t guest_events;        /* VMRUN, WRMSR, flush callbacks in guest mode, not recorded */
	char pad[64];
};

static struct {
	FILE *f;
	pthread_mutex_t lock;
	uint64_t nr_records;
	bool failed;
	struct timespec t0;
	uint64_t dmbase, mem, nr_regions;
	unsigned int filter;
	unsigned int nr_vcpus;
	struct vcpu *vcpu;
	/* Both written under lock only; on_store() reads them outside it too. */
	uint32_t *hot;                /* per 2MB region: VMRUN pages of CPUs in guest mode */
	uint8_t *ever;                /* per 2MB region: ever held a VMRUN page or save area */
	uint64_t stores_kept;
	/* pcs of VMRUN instructions seen, so that the next instruction marks the exit */
	pthread_mutex_t pc_lock;
	uint64_t vmrun_pcs[64];
	unsigned int nr_vmrun_pcs;
	bool dm_dumped;               /* dm_dump_splits() has run */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .pc_lock = PTHREAD_MUTEX_INITIALIZER,
	.dmbase = 0xffff888000000000ULL };

/* ---- the trace --------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - g.t0.tv_sec) * 1000000000ULL + (uint64_t)t.tv_nsec -
	       (uint64_t)g.t0.tv_nsec;
}

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/*
 * Append one record, with g.lock held; the time is taken under the lock so
 * the file is in time order.
 */
static void emit_locked(uint8_t type, unsigned int cpu, uint8_t arg, uint8_t level, uint32_t len,
			uint64_t pa, uint64_t va, uint64_t pc)
{
	unsigned char r[SNP_TRACE_REC_SIZE];

	r[0] = type;
	r[1] = (uint8_t)cpu;
	r[2] = arg;
	r[3] = level;
	le32(r + 4, len);
	le64(r + 16, pa);
	le64(r + 24, va);
	le64(r + 32, pc);
	le64(r + 8, now_ns());
	if (fwrite(r, 1, sizeof(r), g.f) != sizeof(r))
		g.failed = true;
	g.nr_records++;
}

/* One record on its own. */
static void emit(uint8_t type, unsigned int cpu, uint8_t arg, uint8_t level, uint32_t len,
		 uint64_t pa, uint64_t va, uint64_t pc)
{
	pthread_mutex_lock(&g.lock);
	emit_locked(type, cpu, arg, level, len, pa, va, pc);
	pthread_mutex_unlock(&g.lock);
}

static void write_header(unsigned int nr_cpus)
{
	unsigned char h[SNP_TRACE_HEADER_SIZE] = { 0 };

	memcpy(h, SNP_TRACE_MAGIC, 8);
	le32(h + 8, SNP_TRACE_VERSION);
	le32(h + 12, SNP_TRACE_HEADER_SIZE);
	le32(h + 16, nr_cpus);
	le32(h + 20, g.filter);
	le64(h + 32, g.mem);
	le64(h + 40, g.dmbase);
	if (fwrite(h, 1, sizeof(h), g.f) != sizeof(h))
		g.failed = true;
}

/* ---- registers and guest memory ------------------------------------------------------ */

static uint64_t reg(struct vcpu *v, int r)
{
	uint64_t x = 0;

	if (!v->reg[r])
		return 0;
	g_byte_array_set_size(v->buf, 0);
	if (qemu_plugin_read_register(v->reg[r], v->buf) <= 0)
		return 0;
	memcpy(&x, v->buf->data, v->buf->len < 8 ? v->buf->len : 8);
	return x;
}

/* pl_read_reg_t over this vCPU's registers. */
static uint64_t read_reg(void *ctx, int r)
{
	return reg(ctx, r);
}

/* Read 8 bytes of physical memory through the direct map; false if unmapped (pl_read_phys64_t). */
static bool read_phys64(void *ctx, uint64_t pa, uint64_t *out)
{
	struct vcpu *v = ctx;

	g_byte_array_set_size(v->buf, 0);
	if (!qemu_plugin_read_memory_vaddr(g.dmbase + pa, v->buf, 8) || v->buf->len < 8)
		return false;
	memcpy(out, v->buf->data, 8);
	return true;
}

/*
 * Leaf level of the kernel's translation of va, walked from this CPU's CR3.
 * The CR3 is the last one the CPU loaded in host mode (MOV CR3, seen by
 * on_flush), which is its current one: reading the register here would
 * make QEMU sync registers on every kernel store.  Not cached: only
 * recorded stores are walked, and a walk is always right where a cache
 * would need flush tracking.
 */
static uint8_t leaf_level(struct vcpu *v, uint64_t va)
{
	return pl_leaf_level(v->cr3, va, read_phys64, v);
}

/* ---- the direct map's split regions, once (docs/WATCH.md "What watching changes") ---- */

#define DM_PTE_RW  (1ULL << 1)
#define DM_PTE_NX  (1ULL << 63)
/* The module mapping space of 4-level x86-64 (MODULES_VADDR..MODULES_END, Documentation/arch/x86/x86_64/mm.rst). */
#define DM_MODULES_START 0xffffffffc0000000ULL
#define DM_MODULES_END   0xffffffffff000000ULL

/*
 * The PD entry of va (the entry that is a 2M leaf or points at a page of
 * PTEs); false if a level above is missing or is a 1G leaf.
 */
static bool dm_pd_entry(struct vcpu *v, uint64_t cr3, uint64_t va, uint64_t *pde)
{
	static const int shift[3] = { 39, 30, 21 };
	uint64_t table = cr3 & PL_PA_MASK, e = 0;

	for (int lvl = 0; lvl < 3; lvl++) {
		if (!read_phys64(v, table + ((va >> shift[lvl]) & 511) * 8, &e) ||
		    !(e & PL_PTE_PRESENT) || (lvl == 1 && (e & PL_PTE_PS)))
			return false;
		table = e & PL_PA_MASK;
	}
	*pde = e;
	return true;
}

/*
 * Which 2MB regions of the direct map are mapped with 4K leaves, and in
 * each how many pages are read-only or executable there: a region split by
 * set_memory_ro()/set_memory_rox() on a module's or a kprobe slot's or an
 * ftrace trampoline's vmalloc page has the alias of that page read-only
 * (cpa_process_alias() in arch/x86/mm/pat/set_memory.c).  Then every page
 * of the module mapping space whose frame lies in such a region, with its
 * virtual address, which the watched kernel's kallsyms names (a module,
 * [__builtin__kprobes], [__builtin__ftrace], [bpf]).  Printed on stderr
 * (QEMU's log, qemu.out), once, at the first host VMRUN: after the modules
 * loaded and the probes were armed, before the workload's churn.
 */
static void dm_dump_splits(struct vcpu *v, uint64_t cr3)
{
	uint64_t pde, pte;

	for (uint64_t r = 0; r < g.nr_regions; r++) {
		unsigned int ro = 0, x = 0, np = 0;

		if (!dm_pd_entry(v, cr3, g.dmbase + (r << PL_REGION_SHIFT), &pde) ||
		    !(pde & PL_PTE_PRESENT) || (pde & PL_PTE_PS))
			continue;
		for (unsigned int i = 0; i < 512; i++) {
			if (!read_phys64(v, (pde & PL_PA_MASK) + i * 8, &pte) || !(pte & PL_PTE_PRESENT)) {
				np++;
				continue;
			}
			ro += !(pte & DM_PTE_RW);
			x += !(pte & DM_PTE_NX);
		}
		fprintf(stderr, "snpsafe plugin: directmap region %" PRIu64 " pa 0x%" PRIx64
			" 4K: read-only %u executable %u not-present %u\n",
			r, r << PL_REGION_SHIFT, ro, x, np);
	}
	for (uint64_t va = DM_MODULES_START; va < DM_MODULES_END; va += 1ULL << PL_REGION_SHIFT) {
		if (!dm_pd_entry(v, cr3, va, &pde) || !(pde & PL_PTE_PRESENT) || (pde & PL_PTE_PS))
			continue;
		for (unsigned int i = 0; i < 512; i++) {
			uint64_t pa, alias;

			if (!read_phys64(v, (pde & PL_PA_MASK) + i * 8, &pte) || !(pte & PL_PTE_PRESENT))
				continue;
			pa = pte & PL_PA_MASK;
			if (pa >= g.mem || !dm_pd_entry(v, cr3, g.dmbase + pa, &alias) ||
			    (alias & PL_PTE_PS))
				continue;
			fprintf(stderr, "snpsafe plugin: directmap module-space va 0x%" PRIx64
				" pa 0x%" PRIx64 " region %" PRIu64 "%s%s\n", va + (uint64_t)i * 4096, pa,
				pa >> PL_REGION_SHIFT, pte & DM_PTE_RW ? " rw" : " ro",
				pte & DM_PTE_NX ? "" : " x");
		}
	}
}

/* ---- VMRUN, #VMEXIT, VM_HSAVE_PA ------------------------------------------------------ */

/* Mark (+1) or unmark (-1) the 2MB region of pa; with g.lock held. */
static void region_mark_locked(uint64_t pa, int delta)
{
	uint64_t r = pa >> PL_REGION_SHIFT;

	if (!pa || r >= g.nr_regions)
		return;
	__atomic_store_n(&g.hot[r], g.hot[r] + (uint32_t)delta, __ATOMIC_RELEASE);
	if (delta > 0)
		__atomic_store_n(&g.ever[r], 1, __ATOMIC_RELAXED);
}

/*
 * A callback at a host-only instruction (VMRUN, WRMSR, a flush) that runs
 * while the CPU is in guest mode: the guest's, not the host's.
 */
static bool guest_mode(struct vcpu *v)
{
	if (!v->in_guest)
		return false;
	v->guest_events++;
	return true;
}

/*
 * VMRUN, before it executes (an instruction callback runs before its
 * instruction): RAX names the VMCB.  Its records and the marking of its
 * regions are one lock hold, so no other CPU's record lands between the
 * VMRUN and its pages, and a store checked after the marking is recorded
 * after the VMRUN.
 */
/*
 * The stuck vCPU's probe (docs/WATCH.md "It recurred"): report, once per
 * VMCB and place, a VMCB whose saved guest RIP is the host's, at a VMRUN
 * (the state the VMRUN loads) or at the #VMEXIT (the state the exit just
 * saved), with the exit fields it holds.  Which of the two sees a VMCB
 * first says whether an exit wrote the host's state or something between
 * an exit and the next VMRUN did.
 */
#define HOST_RIP_REPORTS 64

static struct {
	uint64_t vmcb[2][HOST_RIP_REPORTS];
	unsigned int nr[2];
	uint64_t seen[2];
} host_rip;

static void check_host_rip(struct vcpu *v, unsigned int cpu, uint64_t vmcb, int at_exit)
{
	static const char *const where[2] = { "VMRUN", "#VMEXIT" };
	struct pl_vmcb_state st;
	bool known = false;
	uint64_t rip;

	/* every VMRUN and exit: one read; the rest only for a VMCB worth reporting */
	if (!vmcb || !read_phys64(v, (vmcb & PL_PA_MASK) + PL_VMCB_SAVE_RIP, &rip) ||
	    !pl_rip_is_host(rip) || !pl_vmcb_read_state(vmcb, read_phys64, v, &st))
		return;
	pthread_mutex_lock(&g.lock);
	host_rip.seen[at_exit]++;
	for (unsigned int i = 0; i < host_rip.nr[at_exit] && !known; i++)
		known = host_rip.vmcb[at_exit][i] == vmcb;
	if (!known && host_rip.nr[at_exit] < HOST_RIP_REPORTS) {
		host_rip.vmcb[at_exit][host_rip.nr[at_exit]++] = vmcb;
		fprintf(stderr, "snpsafe plugin: host RIP in VMCB 0x%" PRIx64 " at %s on CPU %u, t %"
			PRIu64 " ns: rip 0x%" PRIx64 " cr3 0x%" PRIx64 " exitcode 0x%" PRIx64
			" exitinfo1 0x%" PRIx64 " exitinfo2 0x%" PRIx64 " exitintinfo 0x%" PRIx64 "\n",
			vmcb, where[at_exit], cpu, now_ns(), st.rip, st.cr3, st.exit_code, st.info1,
			st.info2, st.int_info);
	}
	pthread_mutex_unlock(&g.lock);
}

static void on_vmrun(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	uint64_t pages[PL_NR_PAGES];
	uint8_t tlbctl = 0;
	bool tlb_read;

	if (guest_mode(v))
		return;
	v->cr3 = reg(v, PL_CR3);
	if (!__atomic_exchange_n(&g.dm_dumped, true, __ATOMIC_RELAXED))
		dm_dump_splits(v, v->cr3);
	pl_vmrun_pages(reg(v, PL_RAX), read_phys64, v, pages);
	/* The TLB flush this VMRUN does (replay applies it); level 0: not read. */
	tlb_read = pl_vmrun_tlb_control(pages[PL_PAGE_VMCB], read_phys64, v, &tlbctl);
	check_host_rip(v, cpu, pages[PL_PAGE_VMCB], 0);
	pthread_mutex_lock(&g.lock);
	emit_locked(SNP_TR_VMRUN, cpu, tlbctl, tlb_read ? SNP_TRACE_TLBCTL_READ : 0, 0,
		    pages[PL_PAGE_VMCB], 0, (uint64_t)(uintptr_t)udata);
	for (int k = PL_PAGE_VMSA; k < PL_NR_PAGES; k++)
		if (pages[k])
			emit_locked(SNP_TR_VMRUN_PAGE, cpu, (uint8_t)k, 0, 0, pages[k], 0, 0);
	for (int k = 0; k < PL_NR_PAGES; k++)
		v->marked[k] = pages[k];
	v->marked[PL_NR_PAGES] = v->hsave;
	for (int k = 0; k <= PL_NR_PAGES; k++)
		region_mark_locked(v->marked[k], +1);
	v->vmrun_pc = (uint64_t)(uintptr_t)udata;
	v->in_guest = true;
	pthread_mutex_unlock(&g.lock);
}

/*
 * The first instruction after a VMRUN (pl_exit_marker()), before it
 * executes: the CPU is back in host mode.  Only this CPU's own VMRUN's
 * marker counts; the record goes out before the regions are unmarked, in
 * the same lock hold, so a store kept while they were marked is recorded
 * before the exit.
 */
static void on_after_vmrun(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	uint64_t pc = (uint64_t)(uintptr_t)udata;

	if (!v->in_guest || pc != pl_exit_marker(v->vmrun_pc))
		return;
	check_host_rip(v, cpu, v->marked[PL_PAGE_VMCB], 1);
	pthread_mutex_lock(&g.lock);
	emit_locked(SNP_TR_VMEXIT, cpu, 0, 0, 0, 0, 0, pc);
	for (int k = 0; k <= PL_NR_PAGES; k++)
		region_mark_locked(v->marked[k], -1);
	v->in_guest = false;
	pthread_mutex_unlock(&g.lock);
}

static void on_wrmsr(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	uint64_t val;

	if (guest_mode(v) || (uint32_t)reg(v, PL_RCX) != PL_MSR_VM_HSAVE_PA)
		return;
	val = pl_wrmsr_value(reg(v, PL_RDX), reg(v, PL_RAX));
	v->hsave = val & PL_PA_MASK;
	pthread_mutex_lock(&g.lock);
	if (v->hsave && v->hsave >> PL_REGION_SHIFT < g.nr_regions)
		__atomic_store_n(&g.ever[v->hsave >> PL_REGION_SHIFT], 1, __ATOMIC_RELAXED);
	emit_locked(SNP_TR_HSAVE, cpu, 0, 0, 0, val, 0, 0);
	pthread_mutex_unlock(&g.lock);
}

/* ---- stores -------------------------------------------------------------------------- */

static bool store_kept(uint64_t pa, unsigned int size)
{
	return pl_store_kept(g.filter, pa, size, g.nr_regions, g.hot, g.ever);
}

/*
 * A store, after it is done (a memory callback runs after the access).
 * Most stores are to cold regions and are dropped by the first check,
 * outside the lock: a region the check saw unmarked was unmarked when the
 * store was done too, or became so after it, and this CPU does nothing in
 * between.  A store that passes is checked again under the lock and
 * recorded in the same hold, so it lands before the exit that unmarks its
 * region (an exit first makes it a store after the exit: dropped).
 */
static void on_store(unsigned int cpu, qemu_plugin_meminfo_t info, uint64_t va, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	unsigned int size = 1u << qemu_plugin_mem_size_shift(info);
	uint64_t pa;
	uint8_t level;

	if (v->in_guest || !pl_direct_map_pa(va, g.dmbase, g.mem, &pa))
		return;
	v->stores_seen++;
	if (!store_kept(pa, size))
		return;
	level = leaf_level(v, va);
	pthread_mutex_lock(&g.lock);
	if (store_kept(pa, size)) {
		emit_locked(SNP_TR_STORE, cpu, (uint8_t)size, level, 0, pa, va,
			    (uint64_t)(uintptr_t)udata);
		g.stores_kept++;
	}
	pthread_mutex_unlock(&g.lock);
}

/* ---- TLB flushes ------------------------------------------------------------------------ */

static void on_flush(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	const struct pl_dec *d = udata;
	uint64_t va = PL_NOADDR, pa = 0, desc[2];
	uint32_t len = 0;

	/* A guest's CR3 is not the host's: the page walk must keep the host's. */
	if (guest_mode(v))
		return;
	switch (d->kind) {
	case SNP_TRF_CR3:
		pa = reg(v, d->rm);
		v->cr3 = pa;
		break;
	case SNP_TRF_CR4:
		va = reg(v, PL_CR4);
		pa = reg(v, d->rm);
		break;
	case SNP_TRF_INVLPG:
		va = pl_effective_address(d, read_reg, v);
		break;
	case SNP_TRF_INVLPGA:
		va = reg(v, PL_RAX);
		len = (uint32_t)reg(v, PL_RCX);
		break;
	case SNP_TRF_INVPCID:
		len = (uint32_t)reg(v, d->reg);
		if (len > 3)
			return;       /* #GP on real hardware: nothing flushed */
		g_byte_array_set_size(v->buf, 0);
		if (len == 0 &&
		    qemu_plugin_read_memory_vaddr(pl_effective_address(d, read_reg, v), v->buf, 16) &&
		    v->buf->len >= 16) {
			memcpy(desc, v->buf->data, 16);
			va = desc[1];
		}
		break;
	}
	emit(SNP_TR_FLUSH, cpu, d->kind, 0, len, pa, va, d->pc);
}

/* ---- translation ------------------------------------------------------------------------ */

static bool is_after_vmrun(uint64_t pc)
{
	bool hit = false;

	pthread_mutex_lock(&g.pc_lock);
	for (unsigned int i = 0; i < g.nr_vmrun_pcs && !hit; i++)
		hit = pl_exit_marker(g.vmrun_pcs[i]) == pc;
	pthread_mutex_unlock(&g.pc_lock);
	return hit;
}

static void remember_vmrun(uint64_t pc)
{
	pthread_mutex_lock(&g.pc_lock);
	bool known = false;
	for (unsigned int i = 0; i < g.nr_vmrun_pcs; i++)
		known |= g.vmrun_pcs[i] == pc;
	if (!known && g.nr_vmrun_pcs < 64)
		g.vmrun_pcs[g.nr_vmrun_pcs++] = pc;
	pthread_mutex_unlock(&g.pc_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t pc = qemu_plugin_insn_vaddr(insn);
		uint8_t b[16];
		size_t len;
		struct pl_dec d = { 0 };

		if (pc < PL_KERNEL_TEXT_START)
			continue;
		if (is_after_vmrun(pc))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_after_vmrun, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)pc);
		qemu_plugin_register_vcpu_mem_cb(insn, on_store, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_W, (void *)(uintptr_t)pc);
		len = qemu_plugin_insn_data(insn, b, sizeof(b));
		switch (pl_classify(b, len, &d)) {
		case PL_INSN_VMRUN:
			remember_vmrun(pc);
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_vmrun, QEMU_PLUGIN_CB_R_REGS,
							       (void *)(uintptr_t)pc);
			break;
		case PL_INSN_WRMSR:
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_wrmsr, QEMU_PLUGIN_CB_R_REGS, NULL);
			break;
		case PL_INSN_FLUSH: {
			struct pl_dec *keep = g_new(struct pl_dec, 1);    /* lives as long as the TB may */

			d.pc = pc;
			d.len = qemu_plugin_insn_size(insn);
			*keep = d;
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_flush, QEMU_PLUGIN_CB_R_REGS, keep);
			break;
		}
		default:
			break;
		}
	}
}

/* ---- setup and exit ------------------------------------------------------------------- */

static void vcpu_init(qemu_plugin_id_t id, unsigned int cpu)
{
	GArray *regs = qemu_plugin_get_registers();
	struct vcpu *v;

	if (cpu >= g.nr_vcpus) {
		fprintf(stderr, "snpsafe plugin: vCPU %u beyond %u\n", cpu, g.nr_vcpus);
		abort();
	}
	v = &g.vcpu[cpu];
	v->buf = g_byte_array_new();
	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *r = &g_array_index(regs, qemu_plugin_reg_descriptor, i);

		for (int k = 0; k < PL_NR_REGS; k++)
			if (!strcmp(r->name, reg_names[k]))
				v->reg[k] = r->handle;
	}
	g_array_free(regs, TRUE);
	for (int k = 0; k < PL_NR_REGS; k++)
		if (!v->reg[k])
			fprintf(stderr, "snpsafe plugin: no register %s on vCPU %u\n", reg_names[k], cpu);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	unsigned char r[SNP_TRACE_REC_SIZE] = { SNP_TR_END };
	uint64_t seen = 0, guest = 0;

	for (unsigned int i = 0; i < g.nr_vcpus; i++) {
		seen += g.vcpu[i].stores_seen;
		guest += g.vcpu[i].guest_events;
	}
	pthread_mutex_lock(&g.lock);
	le64(r + 8, now_ns());
	le64(r + 16, g.nr_records);
	le64(r + 24, seen);
	le64(r + 32, seen - g.stores_kept);
	if (fwrite(r, 1, sizeof(r), g.f) != sizeof(r) || fclose(g.f))
		g.failed = true;
	pthread_mutex_unlock(&g.lock);
	if (g.failed)
		fprintf(stderr, "snpsafe plugin: writing the trace failed (disk full?)\n");
	if (guest)
		fprintf(stderr, "snpsafe plugin: %" PRIu64 " VMRUN, WRMSR or flush callbacks in "
			"guest mode, not recorded (a guest's own)\n", guest);
	fprintf(stderr, "snpsafe plugin: host RIP in a VMCB: at %" PRIu64 " VMRUNs (%u VMCBs), "
		"at %" PRIu64 " #VMEXITs (%u VMCBs)\n", host_rip.seen[0], host_rip.nr[0],
		host_rip.seen[1], host_rip.nr[1]);
}

static int parse_args(int argc, char **argv, const char **file)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;

		if (!eq)
			goto bad;
		*eq = '\0';
		const char *k = argv[i], *val = eq + 1;

		if (!strcmp(k, "trace")) {
			*file = val;
		} else if (!strcmp(k, "mem")) {
			g.mem = strtoull(val, &end, 0);
			if (*end || !g.mem)
				goto bad;
		} else if (!strcmp(k, "dmbase")) {
			g.dmbase = strtoull(val, &end, 16);
			if (*end)
				goto bad;
		} else if (!strcmp(k, "filter")) {
			if (!strcmp(val, "inguest"))
				g.filter = SNP_TRACE_FILTER_INGUEST;
			else if (!strcmp(val, "ever"))
				g.filter = SNP_TRACE_FILTER_EVER;
			else if (!strcmp(val, "all"))
				g.filter = SNP_TRACE_FILTER_ALL;
			else
				goto bad;
		} else {
			goto bad;
		}
		*eq = '=';
		continue;
bad:
		if (eq)
			*eq = '=';
		fprintf(stderr, "snpsafe plugin: bad argument '%s' (trace=PATH mem=BYTES "
				"[filter=inguest|ever|all] [dmbase=HEX])\n", argv[i]);
		return -1;
	}
	if (!*file || !g.mem) {
		fprintf(stderr, "snpsafe plugin: trace= and mem= are required\n");
		return -1;
	}
	return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *file = NULL;

	if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "snpsafe plugin: needs qemu-system-x86_64\n");
		return -1;
	}
	if (parse_args(argc, argv, &file))
		return -1;
	g.nr_vcpus = (unsigned int)info->system.max_vcpus;
	if (g.nr_vcpus == 0 || g.nr_vcpus > SNP_TRACE_MAX_CPUS) {
		fprintf(stderr, "snpsafe plugin: %u vCPUs (1 to %d)\n", g.nr_vcpus, SNP_TRACE_MAX_CPUS);
		return -1;
	}
	g.nr_regions = (g.mem + (1ULL << PL_REGION_SHIFT) - 1) >> PL_REGION_SHIFT;
	g.vcpu = calloc(g.nr_vcpus, sizeof(*g.vcpu));
	g.hot = calloc(g.nr_regions, sizeof(*g.hot));
	g.ever = calloc(g.nr_regions, 1);
	g.f = fopen(file, "wb");
	if (!g.vcpu || !g.hot || !g.ever || !g.f) {
		fprintf(stderr, "snpsafe plugin: cannot start (%s)\n", g.f ? "out of memory" : file);
		return -1;
	}
	setvbuf(g.f, NULL, _IOFBF, 1 << 20);
	clock_gettime(CLOCK_MONOTONIC, &g.t0);
	write_header(g.nr_vcpus);
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
