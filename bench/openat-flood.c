// SPDX-License-Identifier: Apache-2.0
/*
 * openat() flood for the syscall_tracepoint backend: COUNT openat() calls (default 1,000,000), one in
 * every 100/PERCENT of them (default 1 %) on MATCH_PATH — a path under the prefix a policy watches —
 * and the others on OTHER_PATH. Each successful open is closed (close is not watched). Prints the
 * elapsed wall-clock seconds of the loop and the CPU seconds (user + system, getrusage) it took on
 * stdout; run it with and without the backend to compare. The CPU seconds include what in-kernel
 * filtering costs the calling thread and are far less disturbed by other load on a shared machine.
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *match, *other;
	long count = 1000000, percent = 1, every, i, opened = 0, failed = 0;
	struct timespec t0, t1;
	struct rusage r0, r1;

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

	getrusage(RUSAGE_SELF, &r0);
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
	getrusage(RUSAGE_SELF, &r1);
	printf("%.6f %.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		       ((r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) / 1e6);
	fprintf(stderr, "%ld openat: %ld opened, %ld failed, %ld on %s\n", count, opened, failed, (count + every - 1) / every, match);
	return 0;
}
