// SPDX-License-Identifier: MIT
/*
 * cmd_host.c - `snpsafe host [--root DIR] [--json]`: is this machine (or the
 * fixture host in DIR) exposed to the SNP in-use erratum?  Prints the facts,
 * the verdict and its reasons.  Exit 0 not exposed, 1 exposed, 2 bad input,
 * 3 the output could not be written (never read as a verdict).
 * Reads only; see docs/HOST.md for each check and its source.
 */
#include "cli.h"

#include <snpsafe/host.h>

#include <string.h>

struct host_opts {
	const char *root;
	bool json;
};

static SNP_MUST_CHECK int set_root(void *ctx, const char *v)
{
	((struct host_opts *)ctx)->root = v;
	return 0;
}

static SNP_MUST_CHECK int set_json(void *ctx, const char *v)
{
	((struct host_opts *)ctx)->json = true;
	return 0;
}

static const struct cli_option host_options[] = {
	{ "root", true, set_root, "DIR", "read a fixture host from DIR instead of this machine", NULL },
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

#define BIT(x, n) (((x) >> (n)) & 1)

/* ---- text ---- */

static void print_fn1f(const struct host_cpu *c)
{
	static const struct { unsigned int bit; const char *name; } bits[] = {
		{ HOST_FN1F_SME, "SME" }, { HOST_FN1F_SEV, "SEV" }, { HOST_FN1F_SEV_ES, "SEV-ES" },
		{ HOST_FN1F_SEV_SNP, "SNP" }, { HOST_FN1F_VMPL, "VMPL" },
		{ HOST_FN1F_HV_INUSE_WR_ALLOWED, "HvInUseWrAllowed" },
	};

	if (c->fn1f_state != HOST_OK) {
		printf("  Fn8000_001F         absent (largest extended leaf 0x%x)\n", c->max_ext_leaf);
		return;
	}
	printf("  Fn8000_001F EAX     0x%08x:", c->fn1f[0]);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		printf(" %s %u%s", bits[i].name, BIT(c->fn1f[0], bits[i].bit),
		       i + 1 < sizeof(bits) / sizeof(bits[0]) ? "," : "\n");
	printf("  Fn8000_001F EBX-EDX C-bit %u, encrypted guests %u, minimum SEV ASID %u\n",
	       c->fn1f[1] & 0x3f, c->fn1f[2], c->fn1f[3]);
}

static void print_cpu(const struct host_facts *f)
{
	const struct host_cpu *c = &f->cpu;

	printf("CPU (%s)\n", c->source);
	printf("  vendor              %s\n", c->vendor);
	printf("  family/model/step   %02xh/%02xh/%u  %s\n", c->family, c->model, c->stepping,
	       strcmp(c->vendor, "AuthenticAMD") ? "(not AMD)" :
	       c->product ? c->product : "(model not in snpsafe's table)");
	printf("  hypervisor bit      %u%s\n", c->hypervisor,
	       c->hypervisor ? " (running as a virtual machine)" : "");
	print_fn1f(c);
	if (f->live)
		printf("  /dev/cpu/0/cpuid    %s\n", c->dev_state != HOST_OK ?
		       host_state_text(c->dev_state) : c->dev_agrees ? "agrees" : "DISAGREES");
}

static void print_msr(const char *name, enum host_state st, uint64_t v)
{
	if (st == HOST_OK)
		printf("  %-19s 0x%llx\n", name, (unsigned long long)v);
	else
		printf("  %-19s %s\n", name, host_state_text(st));
}

static void print_msrs(const struct host_msr *m)
{
	printf("MSRs (%s)\n", m->source);
	if (m->syscfg_state == HOST_OK)
		printf("  SYSCFG C001_0010    0x%llx (MemEncrypt bit 23 = %u, SNP_EN bit 24 = %u)\n",
		       (unsigned long long)m->syscfg, (unsigned int)BIT(m->syscfg, HOST_SYSCFG_MEM_ENCRYPT_BIT),
		       (unsigned int)BIT(m->syscfg, HOST_SYSCFG_SNP_EN_BIT));
	else
		print_msr("SYSCFG C001_0010", m->syscfg_state, 0);
	print_msr("RMP_BASE C001_0132", m->rmp_base_state, m->rmp_base);
	print_msr("RMP_END C001_0133", m->rmp_end_state, m->rmp_end);
}

static const char *or_dash(const char *s)
{
	return s[0] ? s : "-";
}

static void print_kernel(const struct host_kernel *k)
{
	printf("Kernel\n");
	printf("  version             %s\n", k->version_state == HOST_OK ? k->version :
	       host_state_text(k->version_state));
	if (k->kallsyms_state == HOST_OK)
		printf("  kallsyms            workaround %s; kvm_amd code %s; SNP host code %s\n",
		       k->workaround_sym[0] ? k->workaround_sym : "not found",
		       k->kvm_symbols ? "yes" : "no", k->snp_host_symbols ? "yes" : "no");
	else
		printf("  kallsyms            %s\n", host_state_text(k->kallsyms_state));
	if (k->kvm_amd_loaded)
		printf("  kvm_amd             loaded: sev=%s sev_es=%s sev_snp=%s avic=%s\n",
		       or_dash(k->sev), or_dash(k->sev_es), or_dash(k->sev_snp), or_dash(k->avic));
	else
		printf("  kvm_amd             not loaded\n");
	printf("  /dev/sev            %s\n", host_state_text(k->dev_sev_state));
	if (k->dmesg_state != HOST_OK) {
		printf("  dmesg               %s\n", host_state_text(k->dmesg_state));
		return;
	}
	printf("  dmesg               %u line%s about SEV/SNP/RMP%s\n", k->nr_dmesg,
	       k->nr_dmesg == 1 ? "" : "s", k->nr_dmesg == HOST_MAX_DMESG ? " (first ones)" : "");
	for (unsigned int i = 0; i < k->nr_dmesg; i++)
		printf("    %s\n", k->dmesg[i]);
}

static void print_report(const struct host_facts *f, const struct host_report *r)
{
	printf("snpsafe host: %s%s\n\n", f->live ? "this machine" : "fixture ", f->root);
	print_cpu(f);
	print_msrs(&f->msr);
	print_kernel(&f->kernel);
	printf("\nVerdict: %s -> %s (exit %d)\n", host_verdict_text(r->verdict),
	       r->exposed ? "EXPOSED" : "not exposed", r->exposed ? CLI_EXIT_FINDING : CLI_EXIT_OK);
	for (unsigned int i = 0; i < r->nr_reasons; i++)
		printf("  - %s = %s:\n      %s\n", r->reasons[i].fact, r->reasons[i].value,
		       r->reasons[i].because);
}

/* ---- JSON ---- */

static void json_state(struct json *j, enum host_state st)
{
	json_str(j, "state", st == HOST_OK ? "ok" : st == HOST_ABSENT ? "absent" : "needs-root");
}

static void json_msr(struct json *j, const char *key, enum host_state st, uint64_t v)
{
	json_obj_begin(j, key);
	json_state(j, st);
	if (st == HOST_OK)
		json_hex(j, "value", v);
	json_obj_end(j);
}

static void json_cpu(struct json *j, const struct host_cpu *c, bool live)
{
	json_obj_begin(j, "cpu");
	json_str(j, "vendor", c->vendor);
	json_u64(j, "family", c->family);
	json_u64(j, "model", c->model);
	json_u64(j, "stepping", c->stepping);
	json_str(j, "product", c->product);
	json_bool(j, "hypervisor", c->hypervisor);
	json_u64(j, "max_ext_leaf", c->max_ext_leaf);
	json_obj_begin(j, "fn8000_001f");
	json_state(j, c->fn1f_state);
	if (c->fn1f_state == HOST_OK) {
		json_u64(j, "eax", c->fn1f[0]);
		json_bool(j, "sme", BIT(c->fn1f[0], HOST_FN1F_SME));
		json_bool(j, "sev", BIT(c->fn1f[0], HOST_FN1F_SEV));
		json_bool(j, "sev_es", BIT(c->fn1f[0], HOST_FN1F_SEV_ES));
		json_bool(j, "snp", BIT(c->fn1f[0], HOST_FN1F_SEV_SNP));
		json_bool(j, "vmpl", BIT(c->fn1f[0], HOST_FN1F_VMPL));
		json_bool(j, "hv_inuse_wr_allowed", BIT(c->fn1f[0], HOST_FN1F_HV_INUSE_WR_ALLOWED));
		json_u64(j, "c_bit", c->fn1f[1] & 0x3f);
		json_u64(j, "encrypted_guests", c->fn1f[2]);
		json_u64(j, "min_sev_asid", c->fn1f[3]);
	}
	json_obj_end(j);
	if (live)
		json_str(j, "cpuid_dev", c->dev_state != HOST_OK ? host_state_text(c->dev_state) :
			 c->dev_agrees ? "agrees" : "disagrees");
	json_obj_end(j);
}

static void json_kernel(struct json *j, const struct host_kernel *k)
{
	json_obj_begin(j, "kernel");
	json_str(j, "version", k->version_state == HOST_OK ? k->version : NULL);
	json_obj_begin(j, "kallsyms");
	json_state(j, k->kallsyms_state);
	json_str(j, "workaround_symbol", k->workaround_sym[0] ? k->workaround_sym : NULL);
	json_bool(j, "kvm_amd_code", k->kvm_symbols);
	json_bool(j, "snp_host_code", k->snp_host_symbols);
	json_obj_end(j);
	json_obj_begin(j, "kvm_amd");
	json_bool(j, "loaded", k->kvm_amd_loaded);
	json_str(j, "sev", k->sev[0] ? k->sev : NULL);
	json_str(j, "sev_es", k->sev_es[0] ? k->sev_es : NULL);
	json_str(j, "sev_snp", k->sev_snp[0] ? k->sev_snp : NULL);
	json_str(j, "avic", k->avic[0] ? k->avic : NULL);
	json_obj_end(j);
	json_bool(j, "dev_sev", k->dev_sev_state == HOST_OK);
	json_obj_begin(j, "dmesg");
	json_state(j, k->dmesg_state);
	json_arr_begin(j, "lines");
	for (unsigned int i = 0; i < k->nr_dmesg; i++)
		json_str(j, NULL, k->dmesg[i]);
	json_arr_end(j);
	json_obj_end(j);
	json_obj_end(j);
}

static void json_report(const struct host_facts *f, const struct host_report *r)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "source", f->live ? "live" : "fixture");
	json_str(&j, "root", f->live ? NULL : f->root);
	json_cpu(&j, &f->cpu, f->live);
	json_obj_begin(&j, "msr");
	json_msr(&j, "syscfg", f->msr.syscfg_state, f->msr.syscfg);
	json_msr(&j, "rmp_base", f->msr.rmp_base_state, f->msr.rmp_base);
	json_msr(&j, "rmp_end", f->msr.rmp_end_state, f->msr.rmp_end);
	json_obj_end(&j);
	json_kernel(&j, &f->kernel);
	json_str(&j, "verdict", host_verdict_id(r->verdict));
	json_str(&j, "verdict_text", host_verdict_text(r->verdict));
	json_bool(&j, "exposed", r->exposed);
	json_arr_begin(&j, "reasons");
	for (unsigned int i = 0; i < r->nr_reasons; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "fact", r->reasons[i].fact);
		json_str(&j, "value", r->reasons[i].value);
		json_str(&j, "because", r->reasons[i].because);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

int cmd_host(int argc, char **argv)
{
	static const char synopsis[] =
		"Is this machine exposed to the SEV-SNP in-use erratum?  Reads CPUID, the SYSCFG\n"
		"and RMP MSRs (root, msr module), the kernel's symbols, kvm_amd's parameters,\n"
		"/dev/sev and the kernel log, changing nothing, and gives a verdict with the\n"
		"fact behind each step.  Exit 0: not exposed; 1: exposed; 2: bad input;\n"
		"3: the output could not be written.\n"
		"--root DIR reads a fixture host laid out as docs/HOST.md describes.\n";
	static struct host_facts f;
	struct host_opts o = { 0 };
	struct host_report r;
	char err[512];
	int ret;

	ret = cli_parse_args("host", argc, argv, host_options, &o, synopsis, NULL, 0, NULL);
	if (ret || cli_dry_run)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (host_read_facts(o.root, &f, err, sizeof(err)))
		return cli_usage_error("host", "%s", err);
	host_decide(&f, &r);
	if (o.json)
		json_report(&f, &r);
	else
		print_report(&f, &r);
	return r.exposed ? CLI_EXIT_FINDING : CLI_EXIT_OK;
}
