// SPDX-License-Identifier: MIT
/*
 * observer.c - the kernel functions that belong to watch's own tracing,
 * kept in this one place: the tracefs kprobe and kretprobe events that
 * watch/init.sh arms (provenance and counting probes), the kprobe-on-ftrace
 * and rethook machinery under them, their fetches, their filter, and the
 * trace ring buffer they write.  A store by one of these in a watched run
 * is the observer's, not the watched kernel's (docs/WATCH.md "What watching
 * changes": on one 6.12 run 13 of 21 possible spurious faults were theirs).
 *
 * Each entry names the file of Linux 6.1 / 6.12 that defines the function
 * (a fact about the kernel, no code of it).  A store is charged to the last
 * kallsyms symbol at or below its pc, so a generic helper the tracer calls
 * (memcpy, a string copy) is not labelled: the figures labelled here are a
 * floor of the observer's share, not all of it.
 */
#include <snpsafe/replay.h>

#include <string.h>

struct observer_fn {
	const char *name;
	bool prefix;          /* name is a prefix (a family of generated functions) */
	const char *source;
};

static const struct observer_fn observer_fns[] = {
	/* kprobes placed on an ftrace call site (every probe watch arms is at a function entry) */
	{ "kprobe_ftrace_handler", false, "arch/x86/kernel/kprobes/ftrace.c" },
	{ "kprobe_int3_handler", false, "arch/x86/kernel/kprobes/core.c" },
	{ "optimized_callback", false, "arch/x86/kernel/kprobes/opt.c" },
	{ "aggr_pre_handler", false, "kernel/kprobes.c" },
	{ "pre_handler_kretprobe", false, "kernel/kprobes.c" },
	{ "kretprobe_rethook_handler", false, "kernel/kprobes.c" },
	{ "kprobe_insn_page", false, "kernel/kprobes.c (kallsyms [__builtin__kprobes])" },
	{ "kprobe_optinsn_page", false, "kernel/kprobes.c (kallsyms [__builtin__kprobes])" },
	/* rethook: how a kretprobe catches the return */
	{ "rethook_hook", false, "kernel/trace/rethook.c" },
	{ "rethook_try_get", false, "kernel/trace/rethook.c" },
	{ "rethook_recycle", false, "kernel/trace/rethook.c" },
	{ "rethook_trampoline_handler", false, "kernel/trace/rethook.c" },
	{ "rethook_find_ret_addr", false, "kernel/trace/rethook.c" },
	{ "__rethook_find_ret_addr", false, "kernel/trace/rethook.c" },
	{ "rethook_free_rcu", false, "kernel/trace/rethook.c" },
	{ "arch_rethook_prepare", false, "arch/x86/kernel/rethook.c" },
	{ "arch_rethook_trampoline", false, "arch/x86/kernel/rethook.c" },
	{ "arch_rethook_trampoline_callback", false, "arch/x86/kernel/rethook.c" },
	{ "arch_rethook_fixup_return", false, "arch/x86/kernel/rethook.c" },
	/* the tracefs probe events: dispatch, argument fetches ($retval, @symbol), the record */
	{ "kprobe_dispatcher", false, "kernel/trace/trace_kprobe.c" },
	{ "kretprobe_dispatcher", false, "kernel/trace/trace_kprobe.c" },
	{ "kprobe_trace_func", false, "kernel/trace/trace_kprobe.c" },
	{ "__kprobe_trace_func", false, "kernel/trace/trace_kprobe.c" },
	{ "kretprobe_trace_func", false, "kernel/trace/trace_kprobe.c" },
	{ "__kretprobe_trace_func", false, "kernel/trace/trace_kprobe.c" },
	{ "kprobe_perf_func", false, "kernel/trace/trace_kprobe.c" },
	{ "kretprobe_perf_func", false, "kernel/trace/trace_kprobe.c" },
	{ "process_fetch_insn", false, "kernel/trace/trace_kprobe.c" },
	{ "fetch_store_string", false, "kernel/trace/trace_kprobe.c" },
	{ "fetch_store_strlen", false, "kernel/trace/trace_kprobe.c" },
	/*
	 * A probe's memory fetch (@vmemmap_base) reads through this; other
	 * kernel code uses it too (oops printing, BPF), none of it in a
	 * watched run's workload.
	 */
	{ "copy_from_kernel_nofault", false, "mm/maccess.c" },
	/* the event filter (__probe_ret_ip > _etext) */
	{ "filter_match_preds", false, "kernel/trace/trace_events_filter.c" },
	{ "filter_pred_", true, "kernel/trace/trace_events_filter.c" },
	/* the trace buffer the events are written to */
	{ "trace_event_buffer_reserve", false, "kernel/trace/trace_events.c" },
	{ "trace_event_ignore_this_pid", false, "kernel/trace/trace_events.c" },
	{ "trace_event_buffer_commit", false, "kernel/trace/trace.c" },
	{ "trace_event_buffer_lock_reserve", false, "kernel/trace/trace.c" },
	{ "trace_buffer_lock_reserve", false, "kernel/trace/trace.c" },
	{ "__trace_buffer_lock_reserve", false, "kernel/trace/trace.c" },
	{ "trace_buffer_unlock_commit_regs", false, "kernel/trace/trace.c" },
	{ "__buffer_unlock_commit", false, "kernel/trace/trace.c" },
	{ "tracing_gen_ctx_irq_test", false, "kernel/trace/trace.c" },
	{ "ring_buffer_lock_reserve", false, "kernel/trace/ring_buffer.c" },
	{ "ring_buffer_unlock_commit", false, "kernel/trace/ring_buffer.c" },
	{ "ring_buffer_discard_commit", false, "kernel/trace/ring_buffer.c" },
	{ "ring_buffer_event_data", false, "kernel/trace/ring_buffer.c" },
	{ "rb_reserve_next_event", false, "kernel/trace/ring_buffer.c" },
	{ "__rb_reserve_next", false, "kernel/trace/ring_buffer.c" },
	{ "rb_move_tail", false, "kernel/trace/ring_buffer.c" },
	{ "rb_commit", false, "kernel/trace/ring_buffer.c" },
	{ "rb_end_commit", false, "kernel/trace/ring_buffer.c" },
	{ "rb_set_commit_to_write", false, "kernel/trace/ring_buffer.c" },
	{ "rb_update_event", false, "kernel/trace/ring_buffer.c" },
	{ "rb_wakeups", false, "kernel/trace/ring_buffer.c" },
	{ "rb_tail_page_update", false, "kernel/trace/ring_buffer.c" },
	{ "rb_handle_head_page", false, "kernel/trace/ring_buffer.c" },
	{ "rb_try_to_discard", false, "kernel/trace/ring_buffer.c" },
	/* ftrace's entry code and trampolines, which call the kprobe handler */
	{ "ftrace_caller", false, "arch/x86/kernel/ftrace_64.S" },
	{ "ftrace_regs_caller", false, "arch/x86/kernel/ftrace_64.S" },
	{ "ftrace_call", false, "arch/x86/kernel/ftrace_64.S" },
	{ "ftrace_regs_call", false, "arch/x86/kernel/ftrace_64.S" },
	{ "ftrace_trampoline", false, "arch/x86/kernel/ftrace.c (kallsyms [__builtin__ftrace])" },
	{ "ftrace_ops_assist_func", false, "kernel/trace/ftrace.c" },
	{ "ftrace_ops_list_func", false, "kernel/trace/ftrace.c" },
	{ "arch_ftrace_ops_list_func", false, "kernel/trace/ftrace.c" },
};

/*
 * The length of a kallsyms name without its compiler suffix (".isra.0",
 * ".constprop.0", ".cold") and module tag (" [kvm]").
 */
static size_t base_len(const char *name)
{
	return strcspn(name, " \t.[");
}

const char *sim_replay_observer_source(const char *name)
{
	size_t n;

	if (!name)
		return NULL;
	n = base_len(name);
	for (size_t i = 0; i < sizeof(observer_fns) / sizeof(observer_fns[0]); i++) {
		const struct observer_fn *o = &observer_fns[i];
		size_t len = strlen(o->name);

		if (o->prefix ? n >= len && !strncmp(name, o->name, len) :
				n == len && !strncmp(name, o->name, len))
			return o->source;
	}
	return NULL;
}
