// SPDX-License-Identifier: MIT
/*
 * main.c - the snpsafe command: reproduce the SNP in-use erratum, simulate
 * how often it strikes, answer the reviewer's open questions by experiment,
 * and measure the SNP-safe allocators.
 *
 * cli_main() (dispatch.c) is the whole command line; main() adds what only a process
 * does: standard descriptors that are never reused by a file we open, and
 * the final check that stdout took every byte.
 */
#include "cli.h"

#include <fcntl.h>
#include <unistd.h>

/*
 * A standard descriptor closed by the caller ("snpsafe explain >&-") must not
 * be handed to the next file we open (an --svg file would then receive
 * stdout).  Hold it with /dev/null opened read-only: writes to it fail with
 * EBADF, exactly as writes to the closed descriptor would.
 */
static void hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) != -1)
			continue;
		nfd = open("/dev/null", O_RDONLY);
		if (nfd >= 0 && nfd != fd) {
			dup2(nfd, fd);
			close(nfd);
		}
	}
}

int main(int argc, char **argv)
{
	static char outbuf[1 << 16];

	hold_std_fds();
	/* Not a terminal: one buffer, so a write error is usually seen at the final flush. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	return cli_finish_stdout(cli_main(argc, argv));
}
