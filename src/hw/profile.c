// SPDX-License-Identifier: MIT
/*
 * profile.c - the three hardware presets and the knob table.
 *
 * Every knob's default and its reason are in docs/MODEL.md; the values here
 * must match that table.  snp_knobs[] is the only place a knob is named: the
 * parser, the getter and everything the command prints go through it.
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

/* ---- The knob table ---------------------------------------------------------------- */

static const char *const bool_choices[] = { "off", "on", NULL };
static const char *const overlap_choices[] = {
	[SNP_OVERLAP_STRICT] = "strict", [SNP_OVERLAP_ALLOW_4K_SHARED] = "allow-4k-shared", NULL,
};
static const char *const rmpread_2m_choices[] = {
	[SNP_RMPREAD_2M_ANY_ASSIGNED] = "any-assigned", [SNP_RMPREAD_2M_IS_2M_ENTRY] = "is-2m-entry", NULL,
};
static const char *const uncovered_choices[] = {
	[SNP_UNCOVERED_IGNORE] = "ignore", [SNP_UNCOVERED_FAIL] = "fail", NULL,
};
/* Indexed by bit: SNP_ROLE_VMCB is bit 0 ... SNP_ROLE_HSAVE bit 3 (PML is its own knob). */
static const char *const role_choices[] = { "vmcb", "vmsa", "avic", "hsave", NULL };

/*
 * An enum knob is read and written as an unsigned int (through memcpy, so
 * the field keeps its own type): each enum must have that size.
 */
_Static_assert(sizeof(enum snp_overlap_rule) == sizeof(unsigned int), "enum knob size");
_Static_assert(sizeof(enum snp_rmpread_2m_status) == sizeof(unsigned int), "enum knob size");
_Static_assert(sizeof(enum snp_uncovered_inuse) == sizeof(unsigned int), "enum knob size");
_Static_assert(SNP_ROLE_VMCB == 1u << 0 && SNP_ROLE_VMSA == 1u << 1 && SNP_ROLE_AVIC == 1u << 2 &&
	       SNP_ROLE_HSAVE == 1u << 3, "role_choices[] is indexed by the role's bit");

#define KNOB(n, kd, field, ch, sum) \
	{ .name = n, .summary = sum, .kind = kd, \
	  .offset = offsetof(struct snp_profile, field), .choices = ch }
#define KNOB_BOOL(field, sum) KNOB(#field, SNP_KNOB_BOOL, field, bool_choices, sum)

const struct snp_knob snp_knobs[] = {
	KNOB_BOOL(inuse_erratum, "the part takes the 2MB in-use erratum (AMD erratum #1467)"),
	KNOB_BOOL(hv_inuse_wr_allowed,
		  "HvInUseWrAllowed, CPUID Fn8000_001F EAX[30]: writes to in-use pages allowed"),
	KNOB_BOOL(hv_inuse_wr_fixes_erratum,
		  "HvInUseWrAllowed removes the erratum too (AMD's 2025 RFC; unconfirmed)"),
	KNOB("rmpupdate_overlap", SNP_KNOB_ENUM, rmpupdate_overlap, overlap_choices,
	     "RMPUPDATE's overlap rule for a 4K page of a 2M-assigned region (unconfirmed)"),
	KNOB("rmpread_2m_status", SNP_KNOB_ENUM, rmpread_2m_status, rmpread_2m_choices,
	     "what RMPREAD's 2MB-region-status bit means (unconfirmed)"),
	KNOB_BOOL(inuse_cleared_at_vmexit,
		  "#VMEXIT clears VMRUN's in-use marks (APM 15.36.12; off: a counterfactual)"),
	KNOB("vmrun_marks", SNP_KNOB_ROLES, vmrun_marks, role_choices,
	     "the page roles VMRUN marks in-use; hsave is the host save area (VM_HSAVE_PA), "
	     "left out of all: no source says VMRUN marks it"),
	{ .name = "inuse_reads_fault", .old_name = "erratum_on_reads", .kind = SNP_KNOB_BOOL,
	  .offset = offsetof(struct snp_profile, inuse_reads_fault), .choices = bool_choices,
	  .summary = "reads fault as writes do (off: an assumption)" },
	KNOB_BOOL(pml_inuse, "VMRUN marks --kvm pml's PML buffer in-use (undocumented)"),
	KNOB_BOOL(rmp_check_every_access, "the RMP is checked on every access, not only at TLB fill"),
	KNOB_BOOL(rmpupdate_transient_inuse,
		  "an RMPUPDATE in flight on another CPU makes accesses fault (APM 15.36.10)"),
	KNOB("uncovered_inuse", SNP_KNOB_ENUM, uncovered_inuse, uncovered_choices,
	     "what VMRUN does with a page the RMP does not cover"),
	{ .name = NULL },
};

const struct snp_knob *snp_knob_find(const char *name)
{
	const struct snp_knob *k;

	if (!name)
		return NULL;
	snp_for_each_knob(k)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

const struct snp_knob *snp_knob_find_renamed(const char *old_name)
{
	const struct snp_knob *k;

	if (!old_name)
		return NULL;
	snp_for_each_knob(k)
		if (k->old_name && !strcmp(k->old_name, old_name))
			return k;
	return NULL;
}

/* The knob's field as an unsigned int (a bool reads as 0 or 1). */
static unsigned int knob_load(const struct snp_profile *p, const struct snp_knob *k)
{
	const char *field = (const char *)p + k->offset;
	unsigned int v;
	bool b;

	if (k->kind == SNP_KNOB_BOOL) {
		memcpy(&b, field, sizeof(b));
		return b;
	}
	memcpy(&v, field, sizeof(v));
	return v;
}

static void knob_store(struct snp_profile *p, const struct snp_knob *k, unsigned int v)
{
	char *field = (char *)p + k->offset;
	bool b = v != 0;

	if (k->kind == SNP_KNOB_BOOL)
		memcpy(field, &b, sizeof(b));
	else
		memcpy(field, &v, sizeof(v));
}

static SNP_MUST_CHECK int parse_bool(const char *v, unsigned int *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcasecmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no"))
		*out = 0;
	else
		return SNP_EINVAL;
	return 0;
}

/* The index of the choice named v; -1 for none. */
static int choice_index(const char *v, const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (!strcmp(v, choices[i]))
			return i;
	return -1;
}

/* One of choices by name, or by its index written in decimal ("0", "1"). */
static SNP_MUST_CHECK int parse_choice(const char *v, const char *const *choices, unsigned int *out)
{
	int i = choice_index(v, choices);

	for (int n = 0; i < 0 && choices[n]; n++) {
		char idx[12];

		snprintf(idx, sizeof(idx), "%d", n);
		if (!strcmp(v, idx))
			i = n;
	}
	if (i < 0)
		return SNP_EINVAL;
	*out = (unsigned int)i;
	return 0;
}

/* "vmcb,vmsa,avic[,hsave]", "all" (the three documented roles) or "none" into a SNP_ROLE_* mask. */
static SNP_MUST_CHECK int parse_roles(const char *v, const char *const *choices, unsigned int *out)
{
	unsigned int mask = 0;
	char buf[64];
	int bit;
	char *save = NULL;

	/* An empty list or an empty item ("vmcb,,avic") is a mistake, not "none". */
	if (!*v || strlen(v) >= sizeof(buf) || strstr(v, ",,") || v[0] == ',' ||
	    v[strlen(v) - 1] == ',')
		return SNP_EINVAL;
	strcpy(buf, v);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all"))
			mask |= SNP_ROLE_ALL;
		else if ((bit = choice_index(tok, choices)) >= 0)
			mask |= 1u << bit;
		else if (strcmp(tok, "none") && strcmp(tok, "0"))
			return SNP_EINVAL;
	}
	*out = mask;
	return 0;
}

int snp_knob_set(struct snp_profile *p, const struct snp_knob *k, const char *value)
{
	unsigned int v;
	int ret;

	if (!p || !k || !k->name || !value)
		return SNP_EINVAL;
	switch (k->kind) {
	case SNP_KNOB_BOOL:
		ret = parse_bool(value, &v);
		break;
	case SNP_KNOB_ENUM:
		ret = parse_choice(value, k->choices, &v);
		break;
	case SNP_KNOB_ROLES:
		ret = parse_roles(value, k->choices, &v);
		break;
	default:
		ret = SNP_EINVAL;
	}
	if (!ret)
		knob_store(p, k, v);
	return ret;
}

int snp_profile_set_knob(struct snp_profile *p, const char *assignment)
{
	const char *eq;
	char name[48];
	size_t n;

	if (!p || !assignment || !(eq = strchr(assignment, '=')))
		return SNP_EINVAL;
	n = (size_t)(eq - assignment);
	if (n == 0 || n >= sizeof(name))
		return SNP_EINVAL;
	memcpy(name, assignment, n);
	name[n] = '\0';
	return snp_knob_set(p, snp_knob_find(name), eq + 1);
}

/* The names of choices as "a, b, c", into buf. */
static const char *choices_text(const char *const *choices, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; choices[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", choices[i]);
	return buf;
}

/* A role mask as the comma list parse_roles() reads; "none" for no role. */
static const char *roles_text(unsigned int mask, const char *const *choices, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; choices[i] && off < len; i++)
		if (mask & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "", choices[i]);
	if (!off)
		snprintf(buf, len, "none");
	return buf;
}

const char *snp_knob_values(const struct snp_knob *k, char *buf, size_t len)
{
	char names[SNP_KNOB_TEXT_MAX], all[SNP_KNOB_TEXT_MAX], rest[SNP_KNOB_TEXT_MAX];
	unsigned int n = 0, left_out;

	switch (k->kind) {
	case SNP_KNOB_BOOL:
		snprintf(buf, len, "on, off");
		break;
	case SNP_KNOB_ROLES:
		/* "all" as parse_roles() reads it, and the roles it leaves out by name */
		while (k->choices[n])
			n++;
		left_out = ((1u << n) - 1) & ~(unsigned int)SNP_ROLE_ALL;
		snprintf(buf, len, "a comma list of %s; or all (%s%s%s) or none",
			 choices_text(k->choices, names, sizeof(names)),
			 roles_text(SNP_ROLE_ALL, k->choices, all, sizeof(all)),
			 left_out ? ", not " : "",
			 left_out ? roles_text(left_out, k->choices, rest, sizeof(rest)) : "");
		break;
	default:
		choices_text(k->choices, buf, len);
	}
	return buf;
}

const char *snp_knob_get(const struct snp_profile *p, const struct snp_knob *k,
			 char *buf, size_t len)
{
	unsigned int v = knob_load(p, k), n = 0;

	while (k->choices[n])
		n++;
	/*
	 * The setter stores only what choices can spell; a preset beyond them
	 * would be a bug, printed as its number so that a rerun from the
	 * printed configuration refuses it loudly instead of dropping it.
	 */
	if (k->kind == SNP_KNOB_ROLES && !(v >> n))
		return roles_text(v, k->choices, buf, len);
	if (k->kind != SNP_KNOB_ROLES && v < n)
		snprintf(buf, len, "%s", k->choices[v]);
	else
		snprintf(buf, len, "%#x", v);
	return buf;
}
