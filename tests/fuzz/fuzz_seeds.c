// SPDX-License-Identifier: MIT
/*
 * fuzz_seeds.c - writes the seed corpus of `make fuzz-trace` into DIR: the
 * hand-written traces of the replay tests (tests/trace_util.h), so the
 * fuzzer starts from well-formed files with every record type.
 */
#include "../trace_util.h"

static void seed_all_records(const char *path)
{
	struct tu b;

	tu_open(&b, path, 3, 64 * SNP_MiB);
	tu_put(&b, SNP_TR_STR, 0, SNP_TRK_KERNEL, 0, 0, 0, 0, 0, "6.1.0-test");
	tu_prologue(&b);
	tu_hsave(&b, 2, 0x1238000);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_vmrun_page(&b, 1, SNP_TRP_VMSA, 0x600000);
	tu_vmrun_page(&b, 1, SNP_TRP_AVIC, 0x801000);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_store(&b, 2, 0x600ffc, 8, SNP_TRL_2M, TU_PC_OTHER);
	tu_flush(&b, 0, SNP_TRF_CR3, 0, 0x1000, 0);
	tu_flush(&b, 0, SNP_TRF_CR4, 0x80, 0, 0);
	tu_flush(&b, 0, SNP_TRF_INVLPG, TU_DMAP_BASE + TU_NEIGHBOUR, 0, 0);
	tu_flush(&b, 0, SNP_TRF_INVLPGA, TU_DMAP_BASE, 0, 3);
	tu_flush(&b, 0, SNP_TRF_INVPCID, UINT64_MAX, 0, 2);
	tu_store(&b, 0, TU_VMCB, 64, SNP_TRL_4K, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_hsave(&b, 1, 0);
	tu_close(&b);
}

int main(int argc, char **argv)
{
	static const enum snp_trace_level levels[] = { SNP_TRL_UNKNOWN, SNP_TRL_4K, SNP_TRL_2M, SNP_TRL_1G };
	char path[512];

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	for (unsigned int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/changelog-%u.trace", argv[1], i);
		tu_write_changelog(path, levels[i]);
	}
	snprintf(path, sizeof(path), "%s/all-records.trace", argv[1]);
	seed_all_records(path);
	return 0;
}
