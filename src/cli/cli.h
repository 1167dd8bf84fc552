/* SPDX-License-Identifier: MIT */
/*
 * cli.h - internals of the snpsafe command: option parsing with one-line
 * errors (exit 2), value parsers, a JSON writer and the subcommands.
 */
#ifndef SNPSAFE_CLI_H
#define SNPSAFE_CLI_H

#include <snpsafe/common.h>
#include <snpsafe/profile.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Exit statuses, the same for every command (the top-level --help lists
 * them, from cli_exit_codes[] in dispatch.c):
 *  0 done, nothing found;
 *  1 a finding, as a checker reports one (grep, diff): host says exposed,
 *    replay's trace takes an RMP #PF;
 *  2 bad usage or bad input: a flag, a value, a request too large, or a
 *    file named on the line that cannot be read or is not what it should be;
 *  3 the run failed, or its output could not be written.
 * A finding and a failed write are told apart: a checker's caller must not
 * read "exposed" from a full disk.
 */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FINDING = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_FAIL = 3 };

/*
 * Print "snpsafe CMD: MESSAGE" on one stderr line; returns CLI_EXIT_USAGE.
 * These two are not must-check: they always return the same exit code, for
 * "return cli_usage_error(...)"; a caller that only reports drops nothing.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "snpsafe CMD: MESSAGE" on one stderr line; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Value parsers: 0 on success, SNP_EINVAL for text that is not a value,
 * SNP_ERANGE outside [min, max].  Sizes take a K/M/G/T suffix (binary
 * multiples, optional trailing "B" or "iB").
 */
SNP_MUST_CHECK int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
SNP_MUST_CHECK int cli_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/*
 * "a, b, c": name(0) .. name(n - 1) into buf.  Help and errors list a
 * value table this way, so a value added to the table is listed too.
 */
const char *cli_join_names(const char *(*name)(unsigned int i), unsigned int n, char *buf,
			   size_t len);
/* "12.5G" style text of a byte count, into buf. */
const char *cli_fmt_size(uint64_t bytes, char *buf, size_t len);

/*
 * One option of a subcommand.  takes_value: "--name VALUE" or "--name=VALUE".
 * The parser refuses an empty value and a separate value that looks like an
 * option ("--svg --json"; "--svg=--json" is taken as written).  It calls
 * set() for each occurrence; set returns 0 or a negative code, and the parser
 * then prints "snpsafe CMD: bad value 'V' for --name (valid: VALID)" (or
 * set's own message if it printed one and returned CLI_EXIT_USAGE).
 */
struct cli_option {
	const char *name;       /* without the leading "--" */
	bool takes_value;
	int (*set)(void *ctx, const char *value);
	const char *help_arg;   /* "SIZE", "N", ... for --help */
	const char *help;
	const char *valid;      /* the valid values or range, for errors; NULL: help_arg */
};

/*
 * Parse argv (argv[0] is the subcommand).  Positional arguments go to
 * positional[] (at most max_pos).  Returns 0, CLI_EXIT_USAGE after printing
 * one line, or -1 when --help was asked for and the rest of the line was
 * valid (the help is printed; the caller exits 0).
 */
SNP_MUST_CHECK int cli_parse_args(const char *cmd, int argc, char **argv, const struct cli_option *opts,
		   void *ctx, const char *synopsis, const char **positional, int max_pos,
		   int *nr_pos);
/* As cli_parse_args(), with a printer for more help after the options. */
SNP_MUST_CHECK int cli_parse_args_ex(const char *cmd, int argc, char **argv, const struct cli_option *opts,
		      void *ctx, const char *synopsis, void (*extra_help)(void),
		      const char **positional, int max_pos, int *nr_pos);
/*
 * As cli_parse_args_ex(), for a command that takes positional arguments:
 * pos_usage names them on --help's usage line ("TRACE", "[ID|all]").
 */
SNP_MUST_CHECK int cli_parse_args_pos(const char *cmd, const char *pos_usage, int argc, char **argv,
		       const struct cli_option *opts, void *ctx, const char *synopsis,
		       void (*extra_help)(void), const char **positional, int max_pos, int *nr_pos);

/* ---- Output: every write checked, the final flush too ------------------------- */

/*
 * Set by the fuzz target: commands stop after parsing and their up-front
 * checks, before any model work.
 */
extern bool cli_dry_run;

/* Run the command line argv[0..argc) (argv[0] is the program); the exit status. */
SNP_MUST_CHECK int cli_main(int argc, char **argv);
/*
 * Flush stdout and check that every write to it succeeded; if one failed,
 * print one line on stderr and return CLI_EXIT_FAIL (also over a finding,
 * whose report was lost), else status.
 */
SNP_MUST_CHECK int cli_finish_stdout(int status);

/* ---- --profile and --knob (profile_opts.c) ---------------------------------------- */

#define CLI_MAX_KNOBS 32

struct cli_profile_opts {
	struct snp_profile profile;
	const char *knobs[CLI_MAX_KNOBS];   /* "NAME=VALUE", in command-line order */
	unsigned int nr_knobs;
};
/* early-snp, no knobs. */
void cli_profile_opts_init(struct cli_profile_opts *po);
/* --profile: 0 or SNP_EINVAL for an unknown preset. */
SNP_MUST_CHECK int cli_profile_opts_set_profile(struct cli_profile_opts *po, const char *v);
/*
 * --knob NAME=VALUE: checked now, saying whether the name or the value is
 * wrong (one line, CLI_EXIT_USAGE), and kept for cli_profile_opts_apply().
 */
SNP_MUST_CHECK int cli_profile_opts_add_knob(struct cli_profile_opts *po, const char *cmd, const char *v);
/* The profile with every --knob applied over the preset; NULL if one no longer applies (a bug). */
const struct snp_profile *cli_profile_opts_apply(struct cli_profile_opts *po);
/*
 * Knobs of p that differ from its preset, as "name=value, name=value" into
 * buf ("" when none).  Returns how many differ.  CLI_KNOBS_TEXT_MAX holds
 * every knob at its longest value (tests/test_cli_knobs.c sets them all).
 */
#define CLI_KNOBS_TEXT_MAX 512
unsigned int cli_profile_knobs_text(const struct snp_profile *p, char *buf, size_t len);
struct json;
/* The same knobs as a JSON object "knobs": {"name": "value", ...}. */
void cli_json_knobs(struct json *j, const struct snp_profile *p);
/* Help lines: every knob, its values, what it answers and its default in every preset. */
void cli_print_knob_help(void);

/* ---- --kvm (profile_opts.c) ------------------------------------------------------------ */

#define CLI_KVM_HELP_MAX 160
#define CLI_KVM_VALID_MAX 64
/*
 * --kvm's help line and valid values, from kvm_version_name()'s table, with
 * dflt as the default: a version added to the model is listed everywhere.
 */
void cli_kvm_option_text(unsigned int dflt, char *help, size_t hlen, char *valid, size_t vlen);

/* ---- JSON writer: one object on stdout, nothing else ------------------------- */

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
/* key is NULL inside arrays and for the top-level object. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
/*
 * A count.  The JSON contract (README): a number, unless it is above 2^53
 * (where common readers lose precision), then a decimal string.
 */
void json_u64(struct json *j, const char *key, uint64_t v);
/* An address, pfn or register value: always a hex string "0x...". */
void json_hex(struct json *j, const char *key, uint64_t v);
/* A 64-bit value that may exceed 2^53 (seeds): always a decimal string. */
void json_u64_str(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_double(struct json *j, const char *key, double v);   /* non-finite -> null */
/* The same with as many digits as reading it back needs to give v again (a config to rerun). */
void json_double_exact(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
/* Ends the document with a newline. */
void json_finish(struct json *j);

/* ---- Result tables (table.c) ------------------------------------------------------- */

/* x with prec decimals, or "n/a" when it is not a number (a rate over no observation). */
const char *cli_fmt_fixed(double x, int prec, char *buf, size_t len);
/* x as a percentage, 3 significant digits ("3.12%", "16%", "0%"), or "n/a". */
const char *cli_fmt_pct(double x, char *buf, size_t len);

/* One column of a table and what it holds. */
struct cli_legend {
	const char *name;   /* as in the header; no ':' */
	const char *def;    /* no "; " (entries are separated by it) */
};
/* "Columns: NAME: DEF; NAME: DEF." on stdout, wrapped at 80 columns, never inside a name. */
void cli_print_legend(const struct cli_legend *l, unsigned int n);

/* ---- JSON reader: strict RFC 8259, for files the command reads back (json_read.c) ---- */

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	char *key;                  /* its name, for a member of an object; else NULL */
	char *text;                 /* a string decoded; a number as written; else NULL */
	double num;                 /* a number's value */
	struct json_node *child;    /* an object's first member, an array's first element */
	struct json_node *next;     /* the next member or element */
	unsigned int line, col;     /* where it starts (a member: its key), from 1 */
};

/*
 * Parse text[0..len) as one JSON value into a tree (*out, freed with
 * json_node_free()).  0, or SNP_EINVAL with "line L, column C: what is
 * wrong" in err (its first error; columns count bytes).
 */
SNP_MUST_CHECK int json_parse(const char *text, size_t len, struct json_node **out, char *err,
			      size_t errlen);
void json_node_free(struct json_node *n);
/* The member of obj named key, or NULL (also when obj is not an object). */
const struct json_node *json_member(const struct json_node *obj, const char *key);
/*
 * A one-line usage error about a JSON file the command read: "FLAGPATH, line
 * L, column C: ..." at node at, or "FLAGPATH: ..." without one (flag: the
 * option that named the file and a space, or ""); CLI_EXIT_USAGE.
 */
int cli_json_error(const char *cmd, const char *flag, const char *path, const struct json_node *at,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "a number", "a string", "an object", ... for messages. */
const char *json_type_name(enum json_type t);

/* ---- Progress bar on stderr, only when it is a terminal ---------------------------- */

struct cli_progress {
	bool enabled;
	uint64_t total;
	unsigned int width;      /* columns a line may take: the terminal's less one, else 79 */
	char last[256];      /* the line shown now */
};
void cli_progress_init(struct cli_progress *p, uint64_t total);
/* Show line (at most p->width columns) in place of the last one, if it differs. */
void cli_progress_show(struct cli_progress *p, const char *line);
/* Erase the line, leaving the cursor at column 0. */
void cli_progress_done(struct cli_progress *p);

/* ---- A fault as the kernel prints it (oops.c) ------------------------------------ */

struct snp_fault_record;
/*
 * The page-fault oops and dump_rmpentry() lines of a host RMP #PF, with
 * snpsafe's verdict (rule, spurious or real, the in-use page's owner), on
 * stdout.  Its last line is the panic; callers add their own lines before it
 * with cli_print_oops_ctx().
 */
void cli_print_oops(const struct snp_fault_record *f);
/* The same, with extra "  snpsafe: ..." lines (NULL-terminated) before the panic. */
void cli_print_oops_ctx(const struct snp_fault_record *f, const char *const *extra);

/* ---- Subcommands ------------------------------------------------------------------- */

SNP_MUST_CHECK int cmd_repro(int argc, char **argv);
SNP_MUST_CHECK int cmd_simulate(int argc, char **argv);
SNP_MUST_CHECK int cmd_merge(int argc, char **argv);
SNP_MUST_CHECK int cmd_explain(int argc, char **argv);
SNP_MUST_CHECK int cmd_bench(int argc, char **argv);
SNP_MUST_CHECK int cmd_watch(int argc, char **argv);

/* replay's verdict printers, also used by watch (which replays what it recorded). */
struct sim_replay_result;
void cli_replay_print_verdicts(const struct sim_replay_result *r);
void cli_replay_print_funcs(const struct sim_replay_result *r);
void cli_replay_json_verdicts(struct json *j, const struct sim_replay_result *r);
SNP_MUST_CHECK int cmd_host(int argc, char **argv);
SNP_MUST_CHECK int cmd_replay(int argc, char **argv);

#endif
