// SPDX-License-Identifier: MIT
/* main.c - the snpsafe command (placeholder until the command issue lands). */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("snpsafe: under construction\n");
	return 0;
}
