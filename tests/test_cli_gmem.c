// SPDX-License-Identifier: MIT
/*
 * test_cli_gmem.c - simulate's SNP guest memory (guest_memfd at first
 * private use; issue 25 item 5) through the built command: the figure "KVM
 * pages sharing a pageblock with SNP guest_memfd pages", in JSON and in the
 * text (only with SNP guests in the mix), none when no guest page is
 * faulted in, and --guest-pages / --gmem-faulted refused out of range.
 */
#include "cli_json.h"

/* THP never: the figures below were measured before khugepaged's min_free_kbytes was modeled. */
#define GMEM "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 16 --trials 2 --mix snp " \
	     "--strategy naive --threads 2 --thp-min-free off"

/* SNP guests whose memory is all faulted in: some of KVM's pages share its pageblocks. */
static void shared_figure_in_json_and_text(void)
{
	struct jl *doc = run_json(GMEM " --json");
	const struct jl *r = sim_result0(doc);
	struct cli_run t = cli_run(GMEM);
	double k = num(r, "gmem_pageblock_shared"), n = num(r, "live_sensitive_pages");
	char want[128];

	ktap_log("%g of %g live sensitive pages share a pageblock with guest_memfd pages", k, n);
	KEXPECT(n > 0 && k > 0 && k <= n);
	KEXPECT_EQ(num(jl_get(doc, "config"), "gmem_faulted"), 100);
	KEXPECT_EQ(num(jl_get(doc, "config"), "guest_pages"), 0);
	snprintf(want, sizeof(want), "  naive     %8.0f of %8.0f (", k, n);
	KEXPECT(strstr(t.out, "KVM pages sharing a pageblock with SNP guest_memfd pages") != NULL);
	KEXPECT(strstr(t.out, want) != NULL);
	cli_run_free(&t);
	jl_free(doc);
}

/* No page faulted in (0%), or no SNP guest: nothing shares; without SNP guests no line. */
static void nothing_faulted_nothing_shared(void)
{
	struct jl *doc = run_json(GMEM " --gmem-faulted 0 --json");
	struct cli_run t = cli_run(GMEM " --mix svm");

	KEXPECT_EQ(num(sim_result0(doc), "gmem_pageblock_shared"), 0);
	KEXPECT(num(sim_result0(doc), "live_sensitive_pages") > 0);
	jl_free(doc);
	doc = run_json(GMEM " --mix svm --json");
	KEXPECT_EQ(num(sim_result0(doc), "gmem_pageblock_shared"), 0);
	KEXPECT(strstr(t.out, "sharing a pageblock") == NULL);
	cli_run_free(&t);
	jl_free(doc);
}

/*
 * --guest-pages sets every guest's size: with one VM in five an SNP guest,
 * 2048-page guests share more of KVM's pageblocks than 16-page ones (5 and
 * 20 of 38 live pages, seed 1).
 */
static void guest_size_is_the_flag(void)
{
	struct jl *small = run_json(GMEM " --mix svm:4,snp:1 --guest-pages 16 --json");
	struct jl *big = run_json(GMEM " --mix svm:4,snp:1 --guest-pages 2048 --json");

	KEXPECT(num(sim_result0(small), "gmem_pageblock_shared") < num(sim_result0(big), "gmem_pageblock_shared"));
	KEXPECT_EQ(num(jl_get(big, "config"), "guest_pages"), 2048);
	jl_free(small);
	jl_free(big);
}

static void bad_values_refused(void)
{
	static const char *const bad[] = { "--gmem-faulted 101", "--gmem-faulted -1", "--gmem-faulted x",
					   "--guest-pages 1048577", "--guest-pages -2" };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char args[128];
		struct cli_run r;

		snprintf(args, sizeof(args), "simulate %s", bad[i]);
		r = cli_run(args);
		KEXPECT_EQ(r.status, 2);
		KEXPECT_EQ(cli_lines(r.err), 1);
		KEXPECT(!*r.out);
		cli_run_free(&r);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(shared_figure_in_json_and_text),
	KTAP_CASE(nothing_faulted_nothing_shared),
	KTAP_CASE(guest_size_is_the_flag),
	KTAP_CASE(bad_values_refused),
};

KTAP_MAIN("cli_gmem", cases)
