/* Options of `ringvm run`: parsing and validation, no side effects. */
#ifndef RV_CLI_OPTIONS_H
#define RV_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_DEFAULT_MEM (256ull << 20)

struct run_options {
	const char *kernel;
	const char *append;
	const char *initrd;
	const char *bios;
	unsigned boot_entry;	/* --boot-entry 64|32 for a bzImage; 0 when not given */
	uint64_t mem;
	unsigned cpus;
	bool debug_exit;
	bool no_reboot;		/* --no-reboot: a guest reset ends ringvm (status 14) */
	bool stats;
	bool verbose;
	bool help;
};

/*
 * Parse argv (argv[0] is "run"). Returns 0, or -1 with a one-line reason
 * (without the "ringvm: " prefix) in err.
 */
int options_parse(int argc, char **argv, struct run_options *opts, char *err, size_t errlen);

/* "256M", "2G", "1048576K", "512" (MiB, as QEMU's -m): bytes, or -1 with a reason. */
int options_parse_size(const char *text, uint64_t *bytes);

#endif
