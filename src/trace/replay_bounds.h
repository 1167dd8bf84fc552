/* SPDX-License-Identifier: MIT */
/*
 * replay_bounds.h - which possible faults of a replay are proven: a TLB
 * fill the recorded stream forces, whatever the real TLB held.  Private to
 * src/trace/replay.c; docs/REPLAY.md "Bounds" gives the argument.
 *
 * A "gate" is a page whose in-use mark makes every write fill of an entry
 * fault: a 2MB region's base page gates the region's 2M entry (under the
 * erratum), a page gates its own 4K entry.  While a gate is marked no CPU can
 * gain a write-usable entry it gates; so a CPU provably lacks one when a
 * recorded flush dropped it after the last moment the CPU could have filled
 * it: in host mode, with the gate not in-use.
 *
 * Times are the caller's, strictly increasing between events; a VMRUN's
 * marks and its CPU's entry into guest mode share one time t, its
 * TLB_CONTROL flush comes at t + 1.
 */
#ifndef SNPSAFE_REPLAY_BOUNDS_H
#define SNPSAFE_REPLAY_BOUNDS_H

#include <snpsafe/replay.h>

struct rb;

/* A tracker for nr_cpus CPUs, all in host mode, nothing in-use.  0 or SNP_ENOMEM. */
SNP_MUST_CHECK int rb_create(unsigned int nr_cpus, struct rb **out);
void rb_destroy(struct rb *b);

/* pfn's in-use mark is now inuse (set or cleared at t).  0 or SNP_ENOMEM. */
SNP_MUST_CHECK int rb_set_inuse(struct rb *b, snp_pfn_t pfn, bool inuse, uint64_t t);
/* cpu entered guest mode at t (after the marks of its VMRUN), or left it. */
void rb_enter_guest(struct rb *b, unsigned int cpu, uint64_t t);
void rb_exit_guest(struct rb *b, unsigned int cpu);

/* Flushes certain to drop cpu's host entries: all of them, or those translating pfn. */
void rb_flush_all(struct rb *b, unsigned int cpu, uint64_t t);
void rb_flush_page(struct rb *b, unsigned int cpu, snp_pfn_t pfn, uint64_t t);

/* A recorded host store by cpu at t to pfn through a leaf of that level (after rb_judge).  0 or SNP_ENOMEM. */
SNP_MUST_CHECK int rb_store(struct rb *b, unsigned int cpu, snp_pfn_t pfn, enum snp_trace_level level,
			    uint64_t t);

/*
 * A host store by cpu at t to pfn through a leaf of the recorded level,
 * which a part checking the RMP on every access faults with rule: is it a
 * forced fill?  When proven, the #PF drops the entry, as the hardware does.
 */
enum sim_replay_why rb_judge(struct rb *b, const struct snp_profile *p, unsigned int cpu,
			     snp_pfn_t pfn, enum snp_trace_level level, uint64_t t);

#endif
