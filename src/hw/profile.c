// SPDX-License-Identifier: MIT
/*
 * profile.c - the three hardware presets and the knob parser.
 *
 * Every knob's default and its reason are in docs/MODEL.md; the values here
 * must match that table.
 */
#include <snpsafe/profile.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNP_KNOB_DEFAULTS \
	.rmpupdate_overlap = SNP_OVERLAP_STRICT, \
	.rmpread_2m_status = SNP_RMPREAD_2M_ANY_ASSIGNED, \
	.inuse_cleared_at_vmexit = true, \
	.vmrun_marks = SNP_ROLE_ALL, \
	.inuse_reads_fault = false, \
	.pml_inuse = true, \
	.rmp_check_every_access = false, \
	.rmpupdate_transient_inuse = false, \
	.uncovered_inuse = SNP_UNCOVERED_IGNORE

const struct snp_profile snp_profile_early_snp = {
	.name = "early-snp",
	.inuse_erratum = true,
	.hv_inuse_wr_allowed = false,
	.hv_inuse_wr_fixes_erratum = false,
	SNP_KNOB_DEFAULTS,
};

/*
 * A part that reports HvInUseWrAllowed (CPUID Fn8000_001F EAX[30]; upstream
 * keeps AVIC on with it, commit d81cadbe1642, v6.13).  inuse_erratum stays
 * set: whether the bit also removes the erratum is the knob, default per
 * AMD's Aug 2025 RFC (snp-facts §7).
 */
const struct snp_profile snp_profile_hv_inuse_wr = {
	.name = "hv-inuse-wr",
	.inuse_erratum = true,
	.hv_inuse_wr_allowed = true,
	.hv_inuse_wr_fixes_erratum = true,
	SNP_KNOB_DEFAULTS,
};

const struct snp_profile snp_profile_fixed = {
	.name = "fixed",
	.inuse_erratum = false,
	.hv_inuse_wr_allowed = true,
	.hv_inuse_wr_fixes_erratum = false,
	SNP_KNOB_DEFAULTS,
};

const char *const snp_profile_knob_names[] = {
	"inuse_erratum", "hv_inuse_wr_allowed", "hv_inuse_wr_fixes_erratum",
	"rmpupdate_overlap", "rmpread_2m_status", "inuse_cleared_at_vmexit",
	"vmrun_marks", "inuse_reads_fault", "pml_inuse", "rmp_check_every_access",
	"rmpupdate_transient_inuse", "uncovered_inuse", NULL,
};

const struct snp_profile *snp_profile_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "early-snp"))
		return &snp_profile_early_snp;
	if (!strcmp(name, "hv-inuse-wr"))
		return &snp_profile_hv_inuse_wr;
	if (!strcmp(name, "fixed"))
		return &snp_profile_fixed;
	return NULL;
}

const char *const snp_profile_preset_names[] = { "early-snp", "hv-inuse-wr", "fixed", NULL };

static SNP_MUST_CHECK int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcasecmp(v, "yes"))
		*out = true;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no"))
		*out = false;
	else
		return SNP_EINVAL;
	return 0;
}

/* "vmcb,vmsa,avic[,hsave]", "all" (the three documented roles) or "none" into a SNP_ROLE_* mask. */
static SNP_MUST_CHECK int parse_roles(const char *v, unsigned int *out)
{
	unsigned int mask = 0;
	char buf[64];
	char *save = NULL;

	/* An empty list or an empty item ("vmcb,,avic") is a mistake, not "none". */
	if (!*v || strlen(v) >= sizeof(buf) || strstr(v, ",,") || v[0] == ',' ||
	    v[strlen(v) - 1] == ',')
		return SNP_EINVAL;
	strcpy(buf, v);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "vmcb"))
			mask |= SNP_ROLE_VMCB;
		else if (!strcmp(tok, "vmsa"))
			mask |= SNP_ROLE_VMSA;
		else if (!strcmp(tok, "avic"))
			mask |= SNP_ROLE_AVIC;
		else if (!strcmp(tok, "hsave"))
			mask |= SNP_ROLE_HSAVE;
		else if (!strcmp(tok, "all"))
			mask |= SNP_ROLE_ALL;
		else if (strcmp(tok, "none") && strcmp(tok, "0"))
			return SNP_EINVAL;
	}
	*out = mask;
	return 0;
}

int snp_profile_set_knob(struct snp_profile *p, const char *assignment)
{
	const char *eq;
	char name[48];
	size_t n;
	bool b;

	if (!p || !assignment || !(eq = strchr(assignment, '=')))
		return SNP_EINVAL;
	n = (size_t)(eq - assignment);
	if (n == 0 || n >= sizeof(name))
		return SNP_EINVAL;
	memcpy(name, assignment, n);
	name[n] = '\0';
	const char *v = eq + 1;

	if (!strcmp(name, "vmrun_marks"))
		return parse_roles(v, &p->vmrun_marks);
	if (!strcmp(name, "rmpupdate_overlap")) {
		if (!strcmp(v, "strict") || !strcmp(v, "0"))
			p->rmpupdate_overlap = SNP_OVERLAP_STRICT;
		else if (!strcmp(v, "allow-4k-shared") || !strcmp(v, "1"))
			p->rmpupdate_overlap = SNP_OVERLAP_ALLOW_4K_SHARED;
		else
			return SNP_EINVAL;
		return 0;
	}
	if (!strcmp(name, "rmpread_2m_status")) {
		if (!strcmp(v, "any-assigned") || !strcmp(v, "0"))
			p->rmpread_2m_status = SNP_RMPREAD_2M_ANY_ASSIGNED;
		else if (!strcmp(v, "is-2m-entry") || !strcmp(v, "1"))
			p->rmpread_2m_status = SNP_RMPREAD_2M_IS_2M_ENTRY;
		else
			return SNP_EINVAL;
		return 0;
	}
	if (!strcmp(name, "uncovered_inuse")) {
		if (!strcmp(v, "ignore") || !strcmp(v, "0"))
			p->uncovered_inuse = SNP_UNCOVERED_IGNORE;
		else if (!strcmp(v, "fail") || !strcmp(v, "1"))
			p->uncovered_inuse = SNP_UNCOVERED_FAIL;
		else
			return SNP_EINVAL;
		return 0;
	}
	if (parse_bool(v, &b))
		return SNP_EINVAL;
	if (!strcmp(name, "inuse_erratum"))
		p->inuse_erratum = b;
	else if (!strcmp(name, "hv_inuse_wr_allowed"))
		p->hv_inuse_wr_allowed = b;
	else if (!strcmp(name, "hv_inuse_wr_fixes_erratum"))
		p->hv_inuse_wr_fixes_erratum = b;
	else if (!strcmp(name, "inuse_cleared_at_vmexit"))
		p->inuse_cleared_at_vmexit = b;
	else if (!strcmp(name, "inuse_reads_fault") || !strcmp(name, "erratum_on_reads"))
		p->inuse_reads_fault = b;   /* the second name: before reads of the page itself counted */
	else if (!strcmp(name, "pml_inuse"))
		p->pml_inuse = b;
	else if (!strcmp(name, "rmp_check_every_access"))
		p->rmp_check_every_access = b;
	else if (!strcmp(name, "rmpupdate_transient_inuse"))
		p->rmpupdate_transient_inuse = b;
	else
		return SNP_EINVAL;
	return 0;
}

/* Valid values of each knob, for help text and error messages. */
const char *snp_profile_knob_values(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "vmrun_marks"))
		return "a comma list of vmcb, vmsa, avic, hsave; or all (vmcb,vmsa,avic) or none";
	if (!strcmp(name, "rmpupdate_overlap"))
		return "strict, allow-4k-shared";
	if (!strcmp(name, "rmpread_2m_status"))
		return "any-assigned, is-2m-entry";
	if (!strcmp(name, "uncovered_inuse"))
		return "ignore, fail";
	if (!strcmp(name, "erratum_on_reads"))   /* the old name of inuse_reads_fault */
		return "on, off";
	for (const char *const *n = snp_profile_knob_names; *n; n++)
		if (!strcmp(*n, name))
			return "on, off";
	return NULL;
}

static const char *roles_text(unsigned int mask, char *buf, size_t len)
{
	static const struct { unsigned int bit; const char *name; } roles[] = {
		{ SNP_ROLE_VMCB, "vmcb" }, { SNP_ROLE_VMSA, "vmsa" },
		{ SNP_ROLE_AVIC, "avic" }, { SNP_ROLE_HSAVE, "hsave" },
	};
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if ((mask & roles[i].bit) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						roles[i].name);
	if (!mask)
		snprintf(buf, len, "none");
	return buf;
}

int snp_profile_get_knob(const struct snp_profile *p, const char *name, char *buf, size_t len)
{
	const char *v = NULL;

	if (!p || !name || !buf || !len)
		return SNP_EINVAL;
	if (!strcmp(name, "vmrun_marks"))
		v = roles_text(p->vmrun_marks, buf, len);
	else if (!strcmp(name, "rmpupdate_overlap"))
		v = p->rmpupdate_overlap == SNP_OVERLAP_STRICT ? "strict" : "allow-4k-shared";
	else if (!strcmp(name, "rmpread_2m_status"))
		v = p->rmpread_2m_status == SNP_RMPREAD_2M_ANY_ASSIGNED ? "any-assigned" : "is-2m-entry";
	else if (!strcmp(name, "uncovered_inuse"))
		v = p->uncovered_inuse == SNP_UNCOVERED_IGNORE ? "ignore" : "fail";
	else if (!strcmp(name, "inuse_erratum"))
		v = p->inuse_erratum ? "on" : "off";
	else if (!strcmp(name, "hv_inuse_wr_allowed"))
		v = p->hv_inuse_wr_allowed ? "on" : "off";
	else if (!strcmp(name, "inuse_cleared_at_vmexit"))
		v = p->inuse_cleared_at_vmexit ? "on" : "off";
	else if (!strcmp(name, "inuse_reads_fault") || !strcmp(name, "erratum_on_reads"))
		v = p->inuse_reads_fault ? "on" : "off";
	else if (!strcmp(name, "pml_inuse"))
		v = p->pml_inuse ? "on" : "off";
	else if (!strcmp(name, "rmp_check_every_access"))
		v = p->rmp_check_every_access ? "on" : "off";
	else if (!strcmp(name, "rmpupdate_transient_inuse"))
		v = p->rmpupdate_transient_inuse ? "on" : "off";
	if (!v)
		return SNP_EINVAL;
	if (v != buf)
		snprintf(buf, len, "%s", v);
	return 0;
}
