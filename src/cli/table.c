// SPDX-License-Identifier: MIT
/*
 * table.c - cells and legends of the result tables: a rate over no
 * observation prints "n/a" (never a number), and each table's columns are
 * defined in one "Columns:" paragraph below it.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

#define LEGEND_WIDTH 80

const char *cli_fmt_fixed(double x, int prec, char *buf, size_t len)
{
	if (isfinite(x))
		snprintf(buf, len, "%.*f", prec, x);
	else
		snprintf(buf, len, "n/a");
	return buf;
}

const char *cli_fmt_pct(double x, char *buf, size_t len)
{
	if (isfinite(x))
		snprintf(buf, len, "%.3g%%", 100 * x);
	else
		snprintf(buf, len, "n/a");
	return buf;
}

/* Print word (len bytes) after a space, or on a new line if it would pass the width. */
static void legend_word(const char *word, size_t len, size_t *col)
{
	if (*col && *col + 1 + len > LEGEND_WIDTH) {
		putchar('\n');
		*col = 0;
	} else if (*col) {
		putchar(' ');
		(*col)++;
	}
	fwrite(word, 1, len, stdout);
	*col += len;
}

/* The words of text, then tail glued to the last one. */
static void legend_text(const char *text, const char *tail, size_t *col)
{
	char word[LEGEND_WIDTH * 2];

	while (*text) {
		size_t n = strcspn(text, " ");

		snprintf(word, sizeof(word), "%.*s%s", (int)n, text, text[n] ? "" : tail);
		legend_word(word, strlen(word), col);
		text += n;
		text += strspn(text, " ");
	}
}

/*
 * "Columns: NAME: DEF; NAME: DEF." wrapped at 80 columns.  A name is one
 * unit, never broken over lines, so a reader (and tests/test_cli_legend.c)
 * finds every column's name whole.
 */
void cli_print_legend(const struct cli_legend *l, unsigned int n)
{
	size_t col = 0;
	char name[LEGEND_WIDTH];

	legend_word("Columns:", 8, &col);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s:", l[i].name);
		legend_word(name, strlen(name), &col);
		legend_text(l[i].def, i + 1 < n ? ";" : ".", &col);
	}
	putchar('\n');
}
