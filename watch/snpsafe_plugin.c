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
 * Arguments: trace=PATH (required), mem=BYTES (guest RAM, required),
 * filter=inguest|ever|all, dmbase=HEX (page_offset_base; boot the guest
 * with nokaslr no5lvl for the default 0xffff888000000000).
 */
#include <glib.h>
#include <qemu-plugin.h>

#include <snpsafe/trace.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define KERNEL_TEXT_START 0xffff800000000000ULL
#define MSR_VM_HSAVE_PA   0xC0010117u
#define REGION_SHIFT      21
#define NOADDR            (~0ULL)

/* VMCB control-area fields (APM Vol. 2 Appendix B, Table B-1). */
#define VMCB_TLB_CTL      0x058   /* bits 39:32: TLB_CONTROL (APM Vol. 2 15.16.1) */
#define VMCB_VINTR        0x060   /* bit 31: AVIC enable */
#define VMCB_NESTED_CTL   0x090   /* bit 2: SEV-ES enable */
#define VMCB_AVIC_BACKING 0x0e0   /* bits 51:12 */
#define VMCB_VMSA_PA      0x108   /* bits 51:12 */
#define PA_MASK           0x000ffffffffff000ULL

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
       R_RIP, R_CR3, R_CR4, R_NR };
static const char *const reg_names[R_NR] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "cr3", "cr4",
};

struct vcpu {
	struct qemu_plugin_register *reg[R_NR];
	GByteArray *buf;
	bool in_guest;
	uint64_t guest_pages[3];      /* VMCB, VMSA, AVIC of the VMRUN in progress (0: none) */
	uint64_t hsave;
	uint64_t cr3;                 /* the last CR3 this CPU loaded: its current one */
	uint64_t stores_seen;
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
	uint32_t *hot;                /* per 2MB region: VMRUN pages of CPUs in guest mode */
	uint8_t *ever;                /* per 2MB region: ever held a VMRUN page or save area */
	uint64_t stores_kept;
	/* pcs of VMRUN instructions seen, so that the next instruction marks the exit */
	pthread_mutex_t pc_lock;
	uint64_t vmrun_pcs[64];
	unsigned int nr_vmrun_pcs;
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

/* Append one record; the time is taken under the lock so the file is in time order. */
static void emit(uint8_t type, unsigned int cpu, uint8_t arg, uint8_t level, uint32_t len,
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
	pthread_mutex_lock(&g.lock);
	le64(r + 8, now_ns());
	if (fwrite(r, 1, sizeof(r), g.f) != sizeof(r))
		g.failed = true;
	g.nr_records++;
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

/* Read 8 bytes of physical memory through the direct map; false if unmapped. */
static bool read_phys64(struct vcpu *v, uint64_t pa, uint64_t *out)
{
	g_byte_array_set_size(v->buf, 0);
	if (!qemu_plugin_read_memory_vaddr(g.dmbase + pa, v->buf, 8) || v->buf->len < 8)
		return false;
	memcpy(out, v->buf->data, 8);
	return true;
}

/*
 * Leaf level of the kernel's translation of va: walk the 4-level tables from
 * this CPU's CR3 (the guest boots with no5lvl), reading each table through
 * the direct map.  The CR3 is the last one the CPU loaded (MOV CR3, seen by
 * on_flush), which is its current one: reading the register here would make
 * QEMU sync registers on every kernel store.  Not cached: only recorded
 * stores are walked, and a walk is always right where a cache would need
 * flush tracking.
 */
static uint8_t leaf_level(struct vcpu *v, uint64_t va)
{
	uint64_t table = v->cr3 & PA_MASK, e;

	if (!table)
		return SNP_TRL_UNKNOWN;
	static const int shift[4] = { 39, 30, 21, 12 };

	for (int lvl = 0; lvl < 4; lvl++) {
		if (!read_phys64(v, table + ((va >> shift[lvl]) & 511) * 8, &e) || !(e & 1))
			return SNP_TRL_UNKNOWN;
		if (lvl == 1 && (e & 0x80))
			return SNP_TRL_1G;
		if (lvl == 2 && (e & 0x80))
			return SNP_TRL_2M;
		table = e & PA_MASK;
	}
	return SNP_TRL_4K;
}

/* ---- VMRUN, #VMEXIT, VM_HSAVE_PA ------------------------------------------------------ */

static void region_mark(uint64_t pa, int delta)
{
	uint64_t r = pa >> REGION_SHIFT;

	if (!pa || r >= g.nr_regions)
		return;
	__atomic_add_fetch(&g.hot[r], (uint32_t)delta, __ATOMIC_SEQ_CST);
	if (delta > 0)
		__atomic_store_n(&g.ever[r], 1, __ATOMIC_RELAXED);
}

static void on_vmrun(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	uint64_t pc = (uint64_t)(uintptr_t)udata, vmcb = reg(v, R_RAX) & PA_MASK;
	uint64_t ctl = 0, vintr = 0, p = 0, asid_tlb = 0;
	/* The TLB flush this VMRUN does (replay applies it); level 0: not read. */
	bool tlb_read = read_phys64(v, vmcb + VMCB_TLB_CTL, &asid_tlb);

	emit(SNP_TR_VMRUN, cpu, tlb_read ? (uint8_t)(asid_tlb >> 32) : 0,
	     tlb_read ? SNP_TRACE_TLBCTL_READ : 0, 0, vmcb, 0, pc);
	v->cr3 = reg(v, R_CR3);
	v->guest_pages[0] = vmcb;
	v->guest_pages[1] = v->guest_pages[2] = 0;
	if (read_phys64(v, vmcb + VMCB_NESTED_CTL, &ctl) && (ctl & 4) &&
	    read_phys64(v, vmcb + VMCB_VMSA_PA, &p) && (p & PA_MASK)) {
		v->guest_pages[1] = p & PA_MASK;
		emit(SNP_TR_VMRUN_PAGE, cpu, SNP_TRP_VMSA, 0, 0, p & PA_MASK, 0, 0);
	}
	if (read_phys64(v, vmcb + VMCB_VINTR, &vintr) && (vintr & (1ULL << 31)) &&
	    read_phys64(v, vmcb + VMCB_AVIC_BACKING, &p) && (p & PA_MASK)) {
		v->guest_pages[2] = p & PA_MASK;
		emit(SNP_TR_VMRUN_PAGE, cpu, SNP_TRP_AVIC, 0, 0, p & PA_MASK, 0, 0);
	}
	for (int i = 0; i < 3; i++)
		region_mark(v->guest_pages[i], +1);
	region_mark(v->hsave, +1);
	v->in_guest = true;
}

static void on_after_vmrun(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];

	if (!v->in_guest)
		return;
	v->in_guest = false;
	for (int i = 0; i < 3; i++)
		region_mark(v->guest_pages[i], -1);
	region_mark(v->hsave, -1);
	emit(SNP_TR_VMEXIT, cpu, 0, 0, 0, 0, 0, (uint64_t)(uintptr_t)udata);
}

static void on_wrmsr(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	uint64_t val;

	if ((uint32_t)reg(v, R_RCX) != MSR_VM_HSAVE_PA)
		return;
	val = (reg(v, R_RDX) & 0xffffffffULL) << 32 | (reg(v, R_RAX) & 0xffffffffULL);
	v->hsave = val & PA_MASK;
	if (v->hsave)
		__atomic_store_n(&g.ever[v->hsave >> REGION_SHIFT < g.nr_regions ?
					 v->hsave >> REGION_SHIFT : 0], 1, __ATOMIC_RELAXED);
	emit(SNP_TR_HSAVE, cpu, 0, 0, 0, val, 0, 0);
}

/* ---- stores -------------------------------------------------------------------------- */

static bool region_kept(uint64_t pa)
{
	uint64_t r = pa >> REGION_SHIFT;

	switch (g.filter) {
	case SNP_TRACE_FILTER_ALL:
		return true;
	case SNP_TRACE_FILTER_EVER:
		return r < g.nr_regions && __atomic_load_n(&g.ever[r], __ATOMIC_RELAXED);
	default:
		return r < g.nr_regions && __atomic_load_n(&g.hot[r], __ATOMIC_SEQ_CST);
	}
}

static void on_store(unsigned int cpu, qemu_plugin_meminfo_t info, uint64_t va, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	unsigned int size = 1u << qemu_plugin_mem_size_shift(info);
	uint64_t pa;

	if (v->in_guest || va < g.dmbase || va - g.dmbase >= g.mem)
		return;
	v->stores_seen++;
	pa = va - g.dmbase;
	/* A store that crosses into the next region is judged by both. */
	if (!region_kept(pa) && !region_kept(pa + size - 1))
		return;
	emit(SNP_TR_STORE, cpu, (uint8_t)size, leaf_level(v, va), 0, pa, va,
	     (uint64_t)(uintptr_t)udata);
	__atomic_add_fetch(&g.stores_kept, 1, __ATOMIC_RELAXED);
}

/* ---- TLB flushes ------------------------------------------------------------------------ */

/* A decoded instruction: what the flush callbacks need. */
struct dec {
	uint64_t pc, len;
	uint8_t kind;                 /* enum snp_trace_flush, or 0xff WRMSR */
	uint8_t cr;                   /* MOV CR: 3 or 4 */
	int reg;                      /* ModRM.reg (+REX.R): INVPCID type register */
	int rm;                       /* ModRM.rm (+REX.B): MOV CR source */
	/* memory operand: base + index * scale + disp (+ rip) */
	int base, index, scale;
	int64_t disp;
	bool rip_rel, has_mem;
};

static uint64_t effective_address(struct vcpu *v, const struct dec *d)
{
	uint64_t a = (uint64_t)d->disp;

	if (d->rip_rel)
		return a + d->pc + d->len;
	if (d->base >= 0)
		a += reg(v, d->base);
	if (d->index >= 0)
		a += reg(v, d->index) * (uint64_t)d->scale;
	return a;
}

static void on_flush(unsigned int cpu, void *udata)
{
	struct vcpu *v = &g.vcpu[cpu];
	const struct dec *d = udata;
	uint64_t va = NOADDR, pa = 0, desc[2];
	uint32_t len = 0;

	switch (d->kind) {
	case SNP_TRF_CR3:
		pa = reg(v, d->rm);
		v->cr3 = pa;
		break;
	case SNP_TRF_CR4:
		va = reg(v, R_CR4);
		pa = reg(v, d->rm);
		break;
	case SNP_TRF_INVLPG:
		va = effective_address(v, d);
		break;
	case SNP_TRF_INVLPGA:
		va = reg(v, R_RAX);
		len = (uint32_t)reg(v, R_RCX);
		break;
	case SNP_TRF_INVPCID:
		len = (uint32_t)reg(v, d->reg);
		if (len > 3)
			return;       /* #GP on real hardware: nothing flushed */
		g_byte_array_set_size(v->buf, 0);
		if (len == 0 && qemu_plugin_read_memory_vaddr(effective_address(v, d), v->buf, 16) &&
		    v->buf->len >= 16) {
			memcpy(desc, v->buf->data, 16);
			va = desc[1];
		}
		break;
	}
	emit(SNP_TR_FLUSH, cpu, d->kind, 0, len, pa, va, d->pc);
}

/* Map the 4-bit GPR number of the encoding to our register table. */
static int gpr(int n)
{
	static const int map[16] = { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
				     R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
	return map[n & 15];
}

/* Decode a ModRM memory operand starting at b[0] (the ModRM byte); bytes used or 0. */
static int decode_modrm(const uint8_t *b, size_t n, int rex, struct dec *d)
{
	int mod = b[0] >> 6, rm = b[0] & 7, used = 1;

	d->reg = ((rex & 4) << 1) | ((b[0] >> 3) & 7);
	d->rm = ((rex & 1) << 3) | rm;
	d->base = d->index = -1;
	d->scale = 1;
	d->disp = 0;
	d->has_mem = mod != 3;
	if (mod == 3)
		return used;
	if (rm == 4) {
		if (n < 2)
			return 0;
		int sib = b[1], idx = ((rex & 2) << 2) | ((sib >> 3) & 7), base = ((rex & 1) << 3) | (sib & 7);

		used++;
		d->scale = 1 << (sib >> 6);
		if (idx != 4)
			d->index = gpr(idx);
		if ((sib & 7) == 5 && mod == 0) {
			if (n < (size_t)used + 4)
				return 0;
			d->disp = (int32_t)(b[used] | b[used + 1] << 8 | b[used + 2] << 16 |
					    (uint32_t)b[used + 3] << 24);
			return used + 4;
		}
		d->base = gpr(base);
	} else if (rm == 5 && mod == 0) {
		if (n < 5)
			return 0;
		d->rip_rel = true;
		d->disp = (int32_t)(b[1] | b[2] << 8 | b[3] << 16 | (uint32_t)b[4] << 24);
		return 5;
	} else {
		d->base = gpr(d->rm);
	}
	if (mod == 1) {
		if (n < (size_t)used + 1)
			return 0;
		d->disp = (int8_t)b[used];
		used += 1;
	} else if (mod == 2) {
		if (n < (size_t)used + 4)
			return 0;
		d->disp = (int32_t)(b[used] | b[used + 1] << 8 | b[used + 2] << 16 |
				    (uint32_t)b[used + 3] << 24);
		used += 4;
	}
	return used;
}

enum insn_class { I_NONE, I_VMRUN, I_WRMSR, I_FLUSH };

/* Classify an instruction by its bytes; fills d for flushes. */
static enum insn_class classify(const uint8_t *b, size_t n, struct dec *d)
{
	size_t i = 0;
	int rex = 0;
	bool p66 = false;

	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf2 || b[i] == 0xf3 ||
			 b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x64 ||
			 b[i] == 0x65 || b[i] == 0x36 || b[i] == 0xf0)) {
		p66 |= b[i] == 0x66;
		i++;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++] & 0xf;
	if (i + 1 >= n || b[i] != 0x0f)
		return I_NONE;
	i++;
	if (b[i] == 0x30)
		return I_WRMSR;
	if (b[i] == 0x01 && i + 1 < n) {
		uint8_t m = b[i + 1];

		if (m == 0xd8)
			return I_VMRUN;
		if (m == 0xdf) {
			d->kind = SNP_TRF_INVLPGA;
			return I_FLUSH;
		}
		if ((m >> 6) != 3 && ((m >> 3) & 7) == 7) {
			d->kind = SNP_TRF_INVLPG;
			return decode_modrm(b + i + 1, n - i - 1, rex, d) ? I_FLUSH : I_NONE;
		}
		return I_NONE;
	}
	if (b[i] == 0x22 && i + 1 < n) {
		if (!decode_modrm(b + i + 1, n - i - 1, rex, d))
			return I_NONE;
		d->cr = (uint8_t)(d->reg & 7);
		if (d->cr != 3 && d->cr != 4)
			return I_NONE;
		d->kind = d->cr == 3 ? SNP_TRF_CR3 : SNP_TRF_CR4;
		d->rm = gpr(d->rm);
		return I_FLUSH;
	}
	if (p66 && b[i] == 0x38 && i + 2 < n && b[i + 1] == 0x82) {
		d->kind = SNP_TRF_INVPCID;
		if (!decode_modrm(b + i + 2, n - i - 2, rex, d))
			return I_NONE;
		d->reg = gpr(d->reg);
		return I_FLUSH;
	}
	return I_NONE;
}

static bool is_after_vmrun(uint64_t pc)
{
	bool hit = false;

	pthread_mutex_lock(&g.pc_lock);
	for (unsigned int i = 0; i < g.nr_vmrun_pcs && !hit; i++)
		hit = g.vmrun_pcs[i] + 3 == pc;
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
		struct dec d = { 0 };

		if (pc < KERNEL_TEXT_START)
			continue;
		if (is_after_vmrun(pc))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_after_vmrun, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)pc);
		qemu_plugin_register_vcpu_mem_cb(insn, on_store, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_W, (void *)(uintptr_t)pc);
		len = qemu_plugin_insn_data(insn, b, sizeof(b));
		switch (classify(b, len, &d)) {
		case I_VMRUN:
			remember_vmrun(pc);
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_vmrun, QEMU_PLUGIN_CB_R_REGS,
							       (void *)(uintptr_t)pc);
			break;
		case I_WRMSR:
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_wrmsr, QEMU_PLUGIN_CB_R_REGS, NULL);
			break;
		case I_FLUSH: {
			struct dec *keep = g_new(struct dec, 1);    /* lives as long as the TB may */

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

		for (int k = 0; k < R_NR; k++)
			if (!strcmp(r->name, reg_names[k]))
				v->reg[k] = r->handle;
	}
	g_array_free(regs, TRUE);
	for (int k = 0; k < R_NR; k++)
		if (!v->reg[k])
			fprintf(stderr, "snpsafe plugin: no register %s on vCPU %u\n", reg_names[k], cpu);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	unsigned char r[SNP_TRACE_REC_SIZE] = { SNP_TR_END };
	uint64_t seen = 0;

	for (unsigned int i = 0; i < g.nr_vcpus; i++)
		seen += g.vcpu[i].stores_seen;
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
	g.nr_regions = (g.mem + (1ULL << REGION_SHIFT) - 1) >> REGION_SHIFT;
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
