// SPDX-License-Identifier: MIT
/*
 * repro_svg.c - `snpsafe repro --svg FILE`: one picture, three panels
 * (naive, upstream, sieve), each the VMCB's 2MB region as 512 cells of 4K
 * with their offsets, for a kernel engineer: the region's base page (the
 * RMP entry a hugepage access is checked against, the page the workaround
 * keeps away from the VMCB), the in-use VMCB, the page the other process
 * wrote and whether that write faulted, the direct-map leaf it went
 * through, a colour key and each panel's result.  Every figure comes from
 * the runs (struct sim_repro_result); nothing is placed by hand.
 */
#include "cli.h"
#include "repro_svg.h"

#include <string.h>

/* Geometry (px).  A 12px monospace glyph is about 7.2px wide. */
#define CELL      14
#define COLS      32
#define ROWS      (SNP_PTRS_PER_PMD / COLS)
#define MARGIN    24
#define LABEL_W   52                      /* the "+0x1e0" row labels */
#define PANEL_W   (LABEL_W + COLS * CELL)
#define GAP       40
#define WIDTH     (2 * MARGIN + SIM_REPRO_SVG_PANELS * PANEL_W + (SIM_REPRO_SVG_PANELS - 1) * GAP)
#define PANEL_Y   128                     /* top of the panel headers */
#define GRID_Y    (PANEL_Y + 116)
#define NOTES_Y   (GRID_Y + ROWS * CELL + 22)
#define LEGEND_Y  (NOTES_Y + 76)
#define HEIGHT    (LEGEND_Y + 3 * 20 + 10)

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
static void panel_header(FILE *f, unsigned int x, const struct sim_repro_result *r)
{
	snp_pfn_t base = r->region_pfn;

	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"16\" font-weight=\"bold\">%s%s</text>\n",
		x, PANEL_Y, snp_alloc_strategy_name(r->strategy),
		r->strategy == SNP_ALLOC_NAIVE ? " (no workaround)" : "");
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"15\" font-weight=\"bold\" fill=\"%s\">"
		   "%s</text>\n", x, PANEL_Y + 22, r->faults ? "#c00000" : "#1a7f1a", result_text(r));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">2MB region pfn 0x%llx-0x%llx</text>\n",
		x, PANEL_Y + 42, ull(base), ull(base + SNP_PTRS_PER_PMD - 1));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">VMCB pfn 0x%llx (+0x%03llx)%s</text>\n",
		x, PANEL_Y + 57, ull(r->vmcb_pfn), ull(r->vmcb_pfn - base),
		r->vmcb_aligned ? ", 2MB-aligned" : "");
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">write: pfn 0x%llx", x, PANEL_Y + 72,
		ull(r->write_pfn));
	if (r->same_region)
		fprintf(f, " (+0x%03llx)", ull(r->write_pfn - base));
	fprintf(f, " via a %s direct-map leaf</text>\n", snp_map_size_name(r->write_map));
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">base +0x000: %s</text>\n",
		x, PANEL_Y + 87, sim_repro_base_name(r->base));
}

/* Offsets: row labels on the left, a few column labels above. */
static void grid_labels(FILE *f, unsigned int x)
{
	for (unsigned int row = 0; row < ROWS; row++)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"10\" text-anchor=\"end\" "
			   "fill=\"#555555\">+0x%03x</text>\n", x + LABEL_W - 6,
			GRID_Y + row * CELL + CELL - 2, row * COLS);
	for (unsigned int col = 0; col < COLS; col += 8)
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"10\" fill=\"%s\">+0x%02x</text>\n",
			x + LABEL_W + col * CELL, GRID_Y - 9, "#555555", col);
}

static void cell_center(unsigned int x, snp_pfn_t off, unsigned int *cx, unsigned int *cy)
{
	*cx = x + LABEL_W + (unsigned int)(off % COLS) * CELL + CELL / 2;
	*cy = GRID_Y + (unsigned int)(off / COLS) * CELL + CELL / 2;
}

/*
 * The translation: a hugepage leaf covers the whole region (dashed frame),
 * and its TLB fill checks the base RMP entry (an arrow from the written
 * page to the base).  A 4K leaf checks only the written page's own entry.
 */
static void grid_translation(FILE *f, unsigned int x, const struct sim_repro_result *r)
{
	unsigned int gx = x + LABEL_W, wx, wy, bx, by;

	if (r->write_map != SNP_MAP_4K)
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
			   "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
			gx - 4, GRID_Y - 4, COLS * CELL + 8, ROWS * CELL + 8);
	/* The base page: the entry the RMP check of a hugepage access reads. */
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
		   "stroke=\"#000000\" stroke-width=\"2.5\"><title>pfn 0x%llx (+0x000): the 2MB "
		   "region's base, %s</title></rect>\n", gx - 1, GRID_Y - 1, CELL + 2, CELL + 2,
		ull(r->region_pfn), sim_repro_base_name(r->base));
	if (!r->same_region || r->write_map == SNP_MAP_4K || r->write_pfn == r->region_pfn)
		return;
	cell_center(x, r->write_pfn - r->region_pfn, &wx, &wy);
	cell_center(x, 0, &bx, &by);
	fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#000000\" "
		   "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>the write's RMP check "
		   "reads the base entry</title></line>\n", wx, wy + CELL, bx + 2, by + CELL / 2 + 2);
}

/* One callout: a label on a white box inside the grid, a line to its cell. */
static void callout(FILE *f, unsigned int x, unsigned int slot, snp_pfn_t off, const char *label)
{
	unsigned int cx, cy, lx = x + LABEL_W + 9 * CELL, ly = GRID_Y + (3 + 3 * slot) * CELL;
	unsigned int w = (unsigned int)strlen(label) * 7 + 10;

	cell_center(x, off, &cx, &cy);
	fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#333333\" "
		   "stroke-width=\"1\"/>\n", cx, cy, lx, ly + CELL / 2);
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"#ffffff\" "
		   "stroke=\"#333333\" rx=\"3\"/>\n", lx, ly - 2, w, CELL + 6);
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">%s</text>\n", lx + 5,
		ly + CELL - 1, label);
}

/* Name the pages that matter, in the grid itself: a 4K cell is small. */
static void panel_callouts(FILE *f, unsigned int x, const struct sim_repro_result *r)
{
	snp_pfn_t base = r->region_pfn;
	unsigned int slot = 0;
	char label[64];

	snprintf(label, sizeof(label), "+0x%03llx VMCB, in-use", ull(r->vmcb_pfn - base));
	callout(f, x, slot++, r->vmcb_pfn - base, label);
	if (r->same_region) {
		snprintf(label, sizeof(label), "+0x%03llx written: %s", ull(r->write_pfn - base),
			 r->write_ret ? "#PF" : "no fault");
		callout(f, x, slot++, r->write_pfn - base, label);
	}
	for (unsigned int i = 0; i < r->vmcb_call.nr_set_aside && i < SNP_ALLOC_CALL_MAX; i++) {
		snp_pfn_t pfn = r->vmcb_call.set_aside[i];

		if (snp_pfn_2m_base(pfn) != base)
			continue;
		snprintf(label, sizeof(label), "+0x%03llx set aside (pool)", ull(pfn - base));
		callout(f, x, slot++, pfn - base, label);
	}
	if (r->base == SIM_REPRO_BASE_FREE || r->base == SIM_REPRO_BASE_OTHER)
		callout(f, x, slot, 0, r->base == SIM_REPRO_BASE_FREE ? "+0x000 base: free" :
			"+0x000 base: someone else's page");
}

static void panel_grid(FILE *f, unsigned int x, const struct sim_repro_result *r, bool used[K_NR])
{
	grid_labels(f, x);
	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++) {
		snp_pfn_t pfn = r->region_pfn + i;
		const char *what;
		enum cell_kind k = cell_kind(r, pfn, &what);

		used[k] = true;
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
			   "stroke=\"#ffffff\"><title>pfn 0x%llx (+0x%03x): %s</title></rect>\n",
			x + LABEL_W + (i % COLS) * CELL, GRID_Y + (i / COLS) * CELL, CELL, CELL,
			kinds[k].fill, ull(pfn), i, what);
	}
	grid_translation(f, x, r);
	panel_callouts(f, x, r);
}

/* Under the grid: what the strategy did with the aligned page on offer. */
static void panel_notes(FILE *f, unsigned int x, const struct sim_repro_result *r)
{
	const struct snp_alloc_call *c = &r->vmcb_call;
	unsigned int y = NOTES_Y;

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

/* The key lists the kinds of cell the panels drew (@used), and the marks. */
static void legend(FILE *f, const bool used[K_NR])
{
	static const unsigned int col_w = 380;
	unsigned int i = 0, x, y;

	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"12\" font-weight=\"bold\">Key</text>\n",
		MARGIN, LEGEND_Y - 8);
	for (unsigned int k = 0; k < K_NR; k++) {
		if (!used[k])
			continue;
		x = MARGIN + (i % 4) * col_w;
		y = LEGEND_Y + (i / 4) * 20;
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
			   "stroke=\"#999999\"/>\n<text x=\"%u\" y=\"%u\" font-size=\"12\">%s</text>\n",
			x, y, CELL, CELL, kinds[k].fill, x + CELL + 8, y + CELL - 1, kinds[k].label);
		i++;
	}
	i = (i + 3) / 4 * 4;   /* the two marks on a row of their own: their labels are long */
	x = MARGIN + (i % 4) * col_w;
	y = LEGEND_Y + (i / 4) * 20;
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
		   "stroke=\"#000000\" stroke-width=\"2.5\"/>\n<text x=\"%u\" y=\"%u\" "
		   "font-size=\"12\">base page +0x000 (2MB-aligned): the RMP entry a hugepage access "
		   "checks</text>\n", x + 1, y + 1, CELL - 2, CELL - 2, x + CELL + 8, y + CELL - 1);
	i += 2;
	x = MARGIN + (i % 4) * col_w;
	y = LEGEND_Y + (i / 4) * 20;
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
		   "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n<text x=\"%u\" "
		   "y=\"%u\" font-size=\"12\">hugepage (2M/1G) direct-map leaf over the region; "
		   "arrow: the write's RMP check</text>\n", x, y, CELL * 2, CELL,
		x + CELL * 2 + 8, y + CELL - 1);
}

static void header(FILE *f, const struct sim_repro_result *runs, const char *knobs)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
		   "viewBox=\"0 0 %u %u\" font-family=\"DejaVu Sans Mono, monospace\" "
		   "font-size=\"12\">\n", WIDTH, HEIGHT, WIDTH, HEIGHT);
	fprintf(f, "<title>snpsafe repro: the in-use erratum under naive, upstream and sieve, "
		   "%s profile</title>\n", runs[0].profile);
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
	      "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#000000\"/></marker></defs>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n",
		WIDTH, HEIGHT);
	fprintf(f, "<text x=\"%u\" y=\"32\" font-size=\"20\" font-weight=\"bold\">RMP in-use "
		   "erratum: one VMCB allocation, three strategies (%s profile%s", MARGIN,
		runs[0].profile, knobs[0] ? " with " : "");
	put_escaped(f, knobs);
	fputs(")</text>\n", f);
	fprintf(f, "<text x=\"%u\" y=\"56\" font-size=\"13\">Same setup in each run: pfn 0x%llx, "
		   "2MB-aligned, is the page on offer to the VMCB on CPU 0's per-CPU list. VMRUN on "
		   "CPU 1 marks the VMCB in-use;</text>\n", MARGIN, ull(runs[0].offered_pfn));
	fprintf(f, "<text x=\"%u\" y=\"74\" font-size=\"13\">then another process on CPU 0 takes "
		   "the head of that list and writes it through the direct map. On early SNP "
		   "parts a hugepage</text>\n", MARGIN);
	fprintf(f, "<text x=\"%u\" y=\"92\" font-size=\"13\">access is checked against the RMP "
		   "entry of its 2MB region's base page: if that page is in-use, the write "
		   "faults.</text>\n", MARGIN);
}

void cli_repro_write_svg(FILE *f, const struct sim_repro_result runs[SIM_REPRO_SVG_PANELS],
			 const char *knobs)
{
	bool used[K_NR] = { false };

	header(f, runs, knobs);
	for (unsigned int p = 0; p < SIM_REPRO_SVG_PANELS; p++) {
		unsigned int x = MARGIN + p * (PANEL_W + GAP);

		fprintf(f, "<g id=\"panel-%s\">\n", snp_alloc_strategy_name(runs[p].strategy));
		panel_header(f, x, &runs[p]);
		panel_grid(f, x, &runs[p], used);
		panel_notes(f, x, &runs[p]);
		fputs("</g>\n", f);
	}
	legend(f, used);
	fputs("</svg>\n", f);
}
