// SPDX-License-Identifier: MIT
/*
 * oops.c - a host RMP #PF as a kernel engineer sees it: the page-fault oops
 * (arch/x86/mm/fault.c, show_fault_oops) and the RMP entries as
 * dump_rmpentry() (arch/x86/virt/svm/sev.c) prints them, then snpsafe's
 * verdict.  Shared by `repro` (the modeled scenario) and `replay` (a
 * recorded real kernel).
 */
#include "cli.h"

#include <snpsafe/mmu.h>

#include <string.h>

void cli_print_oops_ctx(const struct snp_fault_record *f, const char *const *extra)
{
	printf("\n  BUG: unable to handle page fault for address: %016llx\n",
	       (unsigned long long)f->va);
	printf("  #PF: supervisor %s access in kernel mode\n", f->write ? "write" : "read");
	printf("  #PF: error_code(0x%08llx) - RMP violation\n", (unsigned long long)f->exc.error_code);
	printf("  CPU: %u  translation: %s%s\n", f->cpu, snp_map_size_name(f->size),
	       f->size == SNP_MAP_4K ? "" : " (checked as 2MB for the RMP)");
	for (const char *line = f->rmp_dump; *line;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		printf("  SEV: RMP entry %.*s\n", len, line);
		line += len + (nl ? 1 : 0);
	}
	printf("  snpsafe: rule %s: %s\n", snp_fault_rule_name(f->rule),
	       f->spurious ? "SPURIOUS - the write broke no architectural rule (in-use erratum)"
			   : "a real RMP violation");
	if (f->inuse_owner[0])
		printf("  snpsafe: %s the %s\n", f->rule == SNP_RULE_INUSE_WRITE ?
		       "the page written is" : "the 2MB region's in-use page is", f->inuse_owner);
	for (; extra && *extra; extra++)
		printf("  snpsafe: %s\n", *extra);
	printf("  Kernel panic - not syncing: Fatal exception (a host kernel write faulted)\n\n");
}

void cli_print_oops(const struct snp_fault_record *f)
{
	cli_print_oops_ctx(f, NULL);
}
