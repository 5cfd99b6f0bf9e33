// SPDX-License-Identifier: Apache-2.0
/*
 * openat() flood for the syscall_tracepoint backend: COUNT openat() calls (default 1,000,000), one in
 * every 100/PERCENT of them (default 1 %) on MATCH_PATH — a path under the prefix a policy watches —
 * and the others on OTHER_PATH. Each successful open is closed (close is not watched). Prints the
 * elapsed wall-clock seconds of the loop on stdout; run it with and without the backend to compare.
 *
 *   cc -O2 -o openat-flood bench/openat-flood.c
 *   ./openat-flood /tmp/watched/file /tmp/other/file [count] [percent]
 *
 * Keep Sigkill policies away from MATCH_PATH: the flood is meant for Post (or NoPost) selectors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *match, *other;
	long count = 1000000, percent = 1, every, i, opened = 0, failed = 0;
	struct timespec t0, t1;

	if (argc < 3) {
		fprintf(stderr, "usage: %s MATCH_PATH OTHER_PATH [count] [percent]\n", argv[0]);
		return 2;
	}
	match = argv[1];
	other = argv[2];
	if (argc > 3)
		count = atol(argv[3]);
	if (argc > 4)
		percent = atol(argv[4]);
	if (count <= 0 || percent <= 0 || percent > 100) {
		fprintf(stderr, "count must be > 0 and percent 1..100\n");
		return 2;
	}
	every = 100 / percent;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		int fd = openat(AT_FDCWD, i % every == 0 ? match : other, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			opened++;
			close(fd);
		} else {
			failed++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	fprintf(stderr, "%ld openat: %ld opened, %ld failed, %ld on %s\n", count, opened, failed, (count + every - 1) / every, match);
	return 0;
}
