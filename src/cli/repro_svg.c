// SPDX-License-Identifier: MIT
/*
 * repro_svg.c - `snpsafe repro --svg FILE`: one picture, a panel per run
 * shown (naive, upstream, sieve; or the one --strategy names), each the
 * VMCB's 2MB region as 512 cells of 4K with their offsets, for a kernel
 * engineer: the region's base page (the RMP entry a hugepage access is
 * checked against, the page the workaround keeps away from the VMCB), the
 * in-use VMCB, the page the other process wrote and whether that write
 * faulted, the direct-map leaf it went through, a colour key and each
 * panel's result.  Every figure comes from the runs (struct
 * sim_repro_result); nothing is placed by hand.  The picture is as wide as
 * its panels; the title, the setup and the key wrap to that width.
 */
#include "cli.h"
#include "repro_svg.h"

#include <string.h>

/* Geometry (px).  A monospace glyph is 0.6em wide (DejaVu Sans Mono: 0.602em). */
#define CELL      14
#define COLS      32
#define ROWS      (SNP_PTRS_PER_PMD / COLS)
#define MARGIN    24
#define LABEL_W   52                      /* the "+0x1e0" row labels */
#define PANEL_W   (LABEL_W + COLS * CELL)
#define GAP       40
#define GRID_DY   116                     /* panel header top to grid top */
#define NOTES_DY  (ROWS * CELL + 22)      /* grid top to the notes under it */
#define KEY_DY    76                      /* notes to the key's first row */
#define KEY_COL_W 380
#define KEY_ROW_H 20
#define KEY_LINE  15                      /* a wrapped key label's next line */
#define TEXT_MAX_CHARS 130                /* the setup text's lines at most */
#define LINES_MAX 16

/* Where everything goes, from the number of panels (layout()). */
struct layout {
	unsigned int panels, width, height;
	unsigned int panel_y, grid_y, notes_y, legend_y;
};

/* A line of wrapped text: @len bytes from @start. */
struct span {
	const char *start;
	unsigned int len;
};

/* The colour key: one entry per kind of cell or mark. */
enum cell_kind { K_PAGE, K_VMCB, K_FAULTED, K_WRITTEN, K_SET_ASIDE, K_OFFERED, K_NR };

static const struct { const char *fill, *label; } kinds[K_NR] = {
	[K_PAGE]      = { "#e4e4e4", "other 4K page" },
	[K_VMCB]      = { "#d62728", "VMCB, in-use (VMRUN marked it)" },
	[K_FAULTED]   = { "#ff7f0e", "page written by CPU 0: spurious #PF" },
	[K_WRITTEN]   = { "#2ca02c", "page written by CPU 0: no fault" },
	[K_SET_ASIDE] = { "#9467bd", "set aside in the sieve's pool" },
	[K_OFFERED]   = { "#f2c14e", "aligned page on offer, not taken" },
};

static unsigned long long ull(snp_pfn_t pfn)
{
	return (unsigned long long)pfn;
}

/* Text from the command line (knob values) goes through this. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:  fputc(*s, f);
		}
	}
}

static bool was_set_aside(const struct sim_repro_result *r, snp_pfn_t pfn)
{
	for (unsigned int i = 0; i < r->vmcb_call.nr_set_aside && i < SNP_ALLOC_CALL_MAX; i++)
		if (r->vmcb_call.set_aside[i] == pfn)
			return true;
	return false;
}

/* What a cell of @r's region shows, and a tooltip. */
static enum cell_kind cell_kind(const struct sim_repro_result *r, snp_pfn_t pfn, const char **what)
{
	if (pfn == r->vmcb_pfn) {
		*what = "VMCB, in-use";
		return K_VMCB;
	}
	if (pfn == r->write_pfn) {
		*what = r->write_ret ? "written by CPU 0: faulted" : "written by CPU 0: no fault";
		return r->write_ret ? K_FAULTED : K_WRITTEN;
	}
	if (was_set_aside(r, pfn)) {
		*what = "set aside in the sieve's pool";
		return K_SET_ASIDE;
	}
	if (pfn == r->offered_pfn) {
		*what = "the aligned page on offer, not taken";
		return K_OFFERED;
	}
	*what = "page";
	return K_PAGE;
}

static const char *result_text(const struct sim_repro_result *r)
{
	if (r->spurious_faults)
		return "FAULT: spurious RMP #PF";
	return r->faults ? "FAULT: RMP #PF" : "no fault";
}

/* Header lines of a panel: the strategy, the result, the pages involved. */
static void panel_header(FILE *f, const struct layout *l, unsigned int x,
			 const struct sim_repro_result *r)
{
	snp_pfn_t base = r->region_pfn;
	unsigned int y = l->panel_y;

	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"16\" font-weight=\"bold\">%s%s</text>\n",
		x, y, snp_alloc_strategy_name(r->strategy),
		r->strategy == SNP_ALLOC_NAIVE ? " (no workaround)" : "");
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"15\" font-weight=\"bold\" fill=\"%s\">"
		   "%s</text>\n", x, y + 22, r->faults ? "#c00000" : "#1a7f1a", result_text(r));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">2MB region pfn 0x%llx-0x%llx</text>\n",
		x, y + 42, ull(base), ull(base + SNP_PTRS_PER_PMD - 1));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">VMCB pfn 0x%llx (+0x%03llx)%s</text>\n",
		x, y + 57, ull(r->vmcb_pfn), ull(r->vmcb_pfn - base),
		r->vmcb_aligned ? ", 2MB-aligned" : "");
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">write: pfn 0x%llx", x, y + 72,
		ull(r->write_pfn));
	if (r->same_region)
		fprintf(f, " (+0x%03llx)", ull(r->write_pfn - base));
	fprintf(f, " via a %s direct-map leaf</text>\n", snp_map_size_name(r->write_map));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">base +0x000: %s</text>\n",
		x, y + 87, sim_repro_base_name(r->base));
}

/* Offsets: row labels on the left, a few column labels above. */
static void grid_labels(FILE *f, const struct layout *l, unsigned int x)
{
	for (unsigned int row = 0; row < ROWS; row++)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"10\" text-anchor=\"end\" "
			   "fill=\"#555555\">+0x%03x</text>\n", x + LABEL_W - 6,
			l->grid_y + row * CELL + CELL - 2, row * COLS);
	for (unsigned int col = 0; col < COLS; col += 8)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"10\" fill=\"%s\">+0x%02x</text>\n",
			x + LABEL_W + col * CELL, l->grid_y - 9, "#555555", col);
}

static void cell_center(const struct layout *l, unsigned int x, snp_pfn_t off, unsigned int *cx,
			unsigned int *cy)
{
	*cx = x + LABEL_W + (unsigned int)(off % COLS) * CELL + CELL / 2;
	*cy = l->grid_y + (unsigned int)(off / COLS) * CELL + CELL / 2;
}

/*
 * The translation: a hugepage leaf covers the whole region (dashed frame),
 * and its TLB fill checks the base RMP entry (an arrow from the written
 * page to the base).  A 4K leaf checks only the written page's own entry.
 */
static void grid_translation(FILE *f, const struct layout *l, unsigned int x,
			     const struct sim_repro_result *r)
{
	unsigned int gx = x + LABEL_W, wx, wy, bx, by;

	if (r->write_map != SNP_MAP_4K)
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
			   "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
			gx - 4, l->grid_y - 4, COLS * CELL + 8, ROWS * CELL + 8);
	/* The base page: the entry the RMP check of a hugepage access reads. */
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
		   "stroke=\"#000000\" stroke-width=\"2.5\"><title>pfn 0x%llx (+0x000): the 2MB "
		   "region's base, %s</title></rect>\n", gx - 1, l->grid_y - 1, CELL + 2, CELL + 2,
		ull(r->region_pfn), sim_repro_base_name(r->base));
	if (!r->same_region || r->write_map == SNP_MAP_4K || r->write_pfn == r->region_pfn)
		return;
	cell_center(l, x, r->write_pfn - r->region_pfn, &wx, &wy);
	cell_center(l, x, 0, &bx, &by);
	fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#000000\" "
		   "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>the write's RMP check "
		   "reads the base entry</title></line>\n", wx, wy + CELL, bx + 2, by + CELL / 2 + 2);
}

/* One callout: a label on a white box inside the grid, a line to its cell. */
static void callout(FILE *f, const struct layout *l, unsigned int x, unsigned int slot, snp_pfn_t off,
		    const char *label)
{
	unsigned int cx, cy, lx = x + LABEL_W + 9 * CELL, ly = l->grid_y + (3 + 3 * slot) * CELL;
	unsigned int w = (unsigned int)strlen(label) * 7 + 10;

	cell_center(l, x, off, &cx, &cy);
	fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#333333\" "
		   "stroke-width=\"1\"/>\n", cx, cy, lx, ly + CELL / 2);
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"#ffffff\" "
		   "stroke=\"#333333\" rx=\"3\"/>\n", lx, ly - 2, w, CELL + 6);
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">%s</text>\n", lx + 5,
		ly + CELL - 1, label);
}

/* Name the pages that matter, in the grid itself: a 4K cell is small. */
static void panel_callouts(FILE *f, const struct layout *l, unsigned int x,
			   const struct sim_repro_result *r)
{
	snp_pfn_t base = r->region_pfn;
	unsigned int slot = 0;
	char label[64];

	snprintf(label, sizeof(label), "+0x%03llx VMCB, in-use", ull(r->vmcb_pfn - base));
	callout(f, l, x, slot++, r->vmcb_pfn - base, label);
	if (r->same_region) {
		snprintf(label, sizeof(label), "+0x%03llx written: %s", ull(r->write_pfn - base),
			 r->write_ret ? "#PF" : "no fault");
		callout(f, l, x, slot++, r->write_pfn - base, label);
	}
	for (unsigned int i = 0; i < r->vmcb_call.nr_set_aside && i < SNP_ALLOC_CALL_MAX; i++) {
		snp_pfn_t pfn = r->vmcb_call.set_aside[i];

		if (snp_pfn_2m_base(pfn) != base)
			continue;
		snprintf(label, sizeof(label), "+0x%03llx set aside (pool)", ull(pfn - base));
		callout(f, l, x, slot++, pfn - base, label);
	}
	if (r->base == SIM_REPRO_BASE_FREE || r->base == SIM_REPRO_BASE_OTHER)
		callout(f, l, x, slot, 0, r->base == SIM_REPRO_BASE_FREE ? "+0x000 base: free" :
			"+0x000 base: someone else's page");
}

static void panel_grid(FILE *f, const struct layout *l, unsigned int x, const struct sim_repro_result *r)
{
	grid_labels(f, l, x);
	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++) {
		snp_pfn_t pfn = r->region_pfn + i;
		const char *what;
		enum cell_kind k = cell_kind(r, pfn, &what);

		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
			   "stroke=\"#ffffff\"><title>pfn 0x%llx (+0x%03x): %s</title></rect>\n",
			x + LABEL_W + (i % COLS) * CELL, l->grid_y + (i / COLS) * CELL, CELL, CELL,
			kinds[k].fill, ull(pfn), i, what);
	}
	grid_translation(f, l, x, r);
	panel_callouts(f, l, x, r);
}

/* Under the grid: what the strategy did with the aligned page on offer. */
static void panel_notes(FILE *f, const struct layout *l, unsigned int x, const struct sim_repro_result *r)
{
	const struct snp_alloc_call *c = &r->vmcb_call;
	unsigned int y = l->notes_y;

	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">aligned page on offer: pfn 0x%llx",
		x, y, ull(r->offered_pfn));
	if (r->offered_pfn == r->vmcb_pfn)
		fputs(": became the VMCB</text>\n", f);
	else if (was_set_aside(r, r->offered_pfn))
		fputs(": set aside</text>\n", f);
	else
		fprintf(f, ": not taken%s</text>\n",
			snp_pfn_2m_base(r->offered_pfn) == r->region_pfn ?
			"" : " (another region)");
	y += 16;
	if (c->nr_taken && c->taken_order[0] == 1)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">snp_safe_alloc_page: order-1 "
			   "0x%llx-0x%llx, kept 0x%llx</text>\n", x, y, ull(c->taken[0]),
			ull(c->taken[0] + 1), ull(c->returned));
	else
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">VMCB allocation: %u order-0 "
			   "page(s) taken, kept 0x%llx</text>\n", x, y, c->nr_taken, ull(c->returned));
	y += 16;
	if (c->nr_freed)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">freed 0x%llx%s</text>\n", x, y,
			ull(c->freed[0]), r->freed_at_head ? ": now the head of CPU 0's list" : "");
}

/*
 * Split @text at spaces into lines of at most @max_chars (a word longer
 * than that is cut).  Returns the number of lines, at most LINES_MAX.
 */
static unsigned int wrap(const char *text, unsigned int max_chars, struct span out[LINES_MAX])
{
	unsigned int n = 0;
	const char *p = text;

	if (max_chars < 1)
		max_chars = 1;
	while (*p && n < LINES_MAX) {
		const char *line, *q, *brk = NULL;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		line = p;
		for (q = p; *q && (unsigned int)(q - line) < max_chars; q++)
			if (*q == ' ')
				brk = q;
		if (!*q || *q == ' ')
			brk = q;   /* the text ends, or a space follows the full line */
		else if (!brk)
			brk = q;   /* one word longer than the line */
		out[n].start = line;
		out[n++].len = (unsigned int)(brk - line);
		p = brk;
	}
	return n;
}

/* How many characters of @size px fit in @px. */
static unsigned int chars_in(unsigned int px, unsigned int size)
{
	return px * 10 / (size * 6);
}

/*
 * @text wrapped to @max_chars, one <text> per line from baseline @y, @step
 * apart (with @f NULL, only counted).  Returns the number of lines.
 */
static unsigned int text_lines(FILE *f, unsigned int x, unsigned int y, unsigned int step,
			       const char *attrs, const char *text, unsigned int max_chars)
{
	struct span lines[LINES_MAX];
	unsigned int n = wrap(text, max_chars, lines);
	char buf[256];

	for (unsigned int i = 0; f && i < n; i++) {
		snprintf(buf, sizeof(buf), "%.*s", (int)lines[i].len, lines[i].start);
		fprintf(f, "<text x=\"%u\" y=\"%u\" %s>", x, y + i * step, attrs);
		put_escaped(f, buf);
		fputs("</text>\n", f);
	}
	return n;
}

/* The two marks the key explains besides the cells' colours. */
enum key_mark { MARK_BASE, MARK_LEAF, MARK_NR };

static const char *const mark_labels[MARK_NR] = {
	[MARK_BASE] = "base page +0x000 (2MB-aligned): the RMP entry a hugepage access checks",
	[MARK_LEAF] = "hugepage (2M/1G) direct-map leaf over the region; arrow: the write's RMP check",
};

static void key_swatch(FILE *f, unsigned int x, unsigned int y, int kind, int mark)
{
	if (kind >= 0)
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
			   "stroke=\"#999999\"/>\n", x, y, CELL, CELL, kinds[kind].fill);
	else if (mark == MARK_BASE)
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
			   "stroke=\"#000000\" stroke-width=\"2.5\"/>\n", x + 1, y + 1, CELL - 2, CELL - 2);
	else
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
			   "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
			x, y, CELL * 2, CELL);
}

/*
 * The key: the kinds of cell the panels drew (@used), a column each, then
 * the two marks, on a row of their own, two columns each where there are
 * two (their labels are long); labels wrap to their columns.  Drawn from
 * @l->legend_y (with @f NULL, only measured).  Returns its height.
 */
static unsigned int legend(FILE *f, const struct layout *l, const bool used[K_NR])
{
	unsigned int cols = (l->width - 2 * MARGIN) / KEY_COL_W, col = 0, y = 0, row_h = KEY_ROW_H;

	cols = cols < 1 ? 1 : cols > 4 ? 4 : cols;
	if (f)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"12\" font-weight=\"bold\">Key</text>\n",
			MARGIN, l->legend_y - 8);
	for (int e = 0; e < K_NR + MARK_NR; e++) {
		int kind = e < K_NR ? e : -1, mark = e - K_NR;
		unsigned int span = kind >= 0 ? 1 : cols < 2 ? cols : 2;
		unsigned int sw = mark == MARK_LEAF ? 2 * CELL : CELL;   /* the swatch's width */
		const char *label = kind >= 0 ? kinds[kind].label : mark_labels[mark];
		unsigned int x, n;

		if (kind >= 0 && !used[kind])
			continue;
		if (col + span > cols || (e == K_NR && col)) {   /* a new row */
			y += row_h;
			row_h = KEY_ROW_H;
			col = 0;
		}
		x = MARGIN + col * KEY_COL_W;
		if (f)
			key_swatch(f, x, l->legend_y + y, kind, mark);
		n = text_lines(f, x + sw + 8, l->legend_y + y + CELL - 1, KEY_LINE, "font-size=\"12\"",
			       label, chars_in(span * KEY_COL_W - sw - 18, 12));
		if (KEY_ROW_H + (n - 1) * KEY_LINE > row_h)
			row_h = KEY_ROW_H + (n - 1) * KEY_LINE;
		col += span;
	}
	return y + row_h;
}

/* "naive, upstream and sieve" or "sieve": the strategies shown. */
static void names_text(const struct sim_repro_result *runs, unsigned int nr, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < nr && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : i + 1 == nr ? " and " : ", ",
				      snp_alloc_strategy_name(runs[i].strategy));
}

/*
 * The title and the setup, wrapped to the width (with @f NULL, only
 * measured).  Returns the baseline of the setup's last line.
 */
static unsigned int intro(FILE *f, const struct layout *l, const struct sim_repro_result *runs,
			  unsigned int nr, const char *knobs)
{
	unsigned int w = l->width - 2 * MARGIN, y = 32, n, max13 = chars_in(w, 13);
	char names[64], text[512];

	names_text(runs, nr, names, sizeof(names));
	snprintf(text, sizeof(text), "RMP in-use erratum: one VMCB allocation, %s%s (%s profile%s%s)",
		 nr > 1 ? "" : "under ", nr > 1 ? "three strategies" : names, runs[0].profile,
		 knobs[0] ? " with " : "", knobs);
	n = text_lines(f, MARGIN, y, 24, "font-size=\"20\" font-weight=\"bold\"", text,
		       chars_in(w, 20));
	y += (n - 1) * 24 + 24;
	snprintf(text, sizeof(text), "%s: pfn 0x%llx, 2MB-aligned, is the page on offer to the VMCB "
		 "on CPU 0's per-CPU list. VMRUN on CPU 1 marks the VMCB in-use; then another "
		 "process on CPU 0 takes the head of that list and writes it through the direct map. "
		 "On early SNP parts a hugepage access is checked against the RMP entry of its 2MB "
		 "region's base page: if that page is in-use, the write faults.",
		 nr > 1 ? "Same setup in each run" : "Setup", ull(runs[0].offered_pfn));
	n = text_lines(f, MARGIN, y, 18, "font-size=\"13\"", text,
		       max13 < TEXT_MAX_CHARS ? max13 : TEXT_MAX_CHARS);
	return y + (n - 1) * 18;
}

/* Which kinds of cell the panels will draw. */
static void kinds_used(const struct sim_repro_result *runs, unsigned int nr, bool used[K_NR])
{
	const char *what;

	for (unsigned int p = 0; p < nr; p++)
		for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++)
			used[cell_kind(&runs[p], runs[p].region_pfn + i, &what)] = true;
}

/* Size and place everything for @nr panels. */
static void layout(struct layout *l, const struct sim_repro_result *runs, unsigned int nr,
		   const char *knobs, const bool used[K_NR])
{
	memset(l, 0, sizeof(*l));
	l->panels = nr;
	l->width = 2 * MARGIN + nr * PANEL_W + (nr - 1) * GAP;
	l->panel_y = intro(NULL, l, runs, nr, knobs) + 36;
	l->grid_y = l->panel_y + GRID_DY;
	l->notes_y = l->grid_y + NOTES_DY;
	l->legend_y = l->notes_y + KEY_DY;
	l->height = l->legend_y + legend(NULL, l, used) + 10;
}

static void header(FILE *f, const struct layout *l, const struct sim_repro_result *runs,
		   unsigned int nr, const char *knobs)
{
	char names[64];

	names_text(runs, nr, names, sizeof(names));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
		   "viewBox=\"0 0 %u %u\" font-family=\"DejaVu Sans Mono, monospace\" "
		   "font-size=\"12\">\n", l->width, l->height, l->width, l->height);
	fprintf(f, "<title>snpsafe repro: the in-use erratum under %s, %s profile</title>\n",
		names, runs[0].profile);
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
	      "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#000000\"/></marker></defs>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n",
		l->width, l->height);
	intro(f, l, runs, nr, knobs);
}

void cli_repro_write_svg(FILE *f, const struct sim_repro_result *runs, unsigned int nr,
			 const char *knobs)
{
	bool used[K_NR] = { false };
	struct layout l;

	if (!nr)
		return;
	kinds_used(runs, nr, used);
	layout(&l, runs, nr, knobs, used);
	header(f, &l, runs, nr, knobs);
	for (unsigned int p = 0; p < nr; p++) {
		unsigned int x = MARGIN + p * (PANEL_W + GAP);

		fprintf(f, "<g id=\"panel-%s\">\n", snp_alloc_strategy_name(runs[p].strategy));
		panel_header(f, &l, x, &runs[p]);
		panel_grid(f, &l, x, &runs[p]);
		panel_notes(f, &l, x, &runs[p]);
		fputs("</g>\n", f);
	}
	legend(f, &l, used);
	fputs("</svg>\n", f);
}
