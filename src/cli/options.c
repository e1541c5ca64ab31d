/* getopt_long parsing of `ringvm run` options, with one clear message per mistake. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "vmm/machine.h"

enum {
	OPT_KERNEL = 'k', OPT_APPEND = 'a', OPT_INITRD = 'i', OPT_MEM = 'm',
	OPT_CPUS = 'c', OPT_HELP = 'h', OPT_VERBOSE = 'v',
	OPT_BIOS = 256, OPT_DEBUG_EXIT, OPT_STATS, OPT_BOOT_ENTRY, OPT_DECOMPRESS,
	OPT_NO_REBOOT = 300,
	OPT_DISK, OPT_NET, OPT_CONSOLE, OPT_RNG,
	OPT_INTERPRETER = 400, OPT_CODE_CACHE, OPT_CPU, OPT_NATIVE_USER,
};

static const struct option run_longopts[] = {
	{ "kernel",     required_argument, NULL, OPT_KERNEL },
	{ "append",     required_argument, NULL, OPT_APPEND },
	{ "initrd",     required_argument, NULL, OPT_INITRD },
	{ "bios",       required_argument, NULL, OPT_BIOS },
	{ "boot-entry", required_argument, NULL, OPT_BOOT_ENTRY },
	{ "decompress", required_argument, NULL, OPT_DECOMPRESS },
	{ "mem",        required_argument, NULL, OPT_MEM },
	{ "cpus",       required_argument, NULL, OPT_CPUS },
	{ "debug-exit", no_argument,       NULL, OPT_DEBUG_EXIT },
	{ "no-reboot",  no_argument,       NULL, OPT_NO_REBOOT },
	{ "disk",       required_argument, NULL, OPT_DISK },
	{ "net",        required_argument, NULL, OPT_NET },
	{ "console",    required_argument, NULL, OPT_CONSOLE },
	{ "rng",        no_argument,       NULL, OPT_RNG },
	{ "stats",      no_argument,       NULL, OPT_STATS },
	{ "interpreter", no_argument,      NULL, OPT_INTERPRETER },
	{ "native-user", optional_argument, NULL, OPT_NATIVE_USER },
	{ "code-cache", required_argument, NULL, OPT_CODE_CACHE },
	{ "cpu",        required_argument, NULL, OPT_CPU },
	{ "verbose",    no_argument,       NULL, OPT_VERBOSE },
	{ "help",       no_argument,       NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

int options_parse_size(const char *text, uint64_t *bytes)
{
	unsigned long long v;
	char *end;
	unsigned shift;

	if (!text || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': shift = 20; break;	/* a bare number is MiB, as for QEMU's -m */
	default: return -1;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int parse_cpus(const char *text, unsigned *cpus)
{
	unsigned long v;
	char *end;

	if (!text || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > MACHINE_MAX_CPUS)
		return -1;
	*cpus = (unsigned)v;
	return 0;
}

/*
 * "svm=on,svm=off": the last word wins, as for QEMU's -cpu flags. Each item
 * is checked whole so that the message names the one that is wrong.
 */
int options_parse_cpu(const char *text, struct run_options *opts, char *err, size_t errlen)
{
	const char *p = text;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 6 && !strncmp(p, "svm=on", 6))
			opts->cpu_svm = true;
		else if (len == 7 && !strncmp(p, "svm=off", 7))
			opts->cpu_svm = false;
		else {
			snprintf(err, errlen, "--cpu '%.*s': give svm=on or svm=off", (int)len, p);
			return -1;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int options_parse(int argc, char **argv, struct run_options *opts, char *err, size_t errlen)
{
	bool native_set = false;
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->mem = RUN_DEFAULT_MEM;
	opts->cpus = 1;

	optind = 1;
	opterr = 0;	/* our own messages, one line each */
	while ((c = getopt_long(argc, argv, ":hv", run_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			opts->kernel = optarg;
			break;
		case OPT_APPEND:
			opts->append = optarg;
			break;
		case OPT_INITRD:
			opts->initrd = optarg;
			break;
		case OPT_BIOS:
			opts->bios = optarg;
			break;
		case OPT_BOOT_ENTRY:
			if (!strcmp(optarg, "64"))
				opts->boot_entry = 64;
			else if (!strcmp(optarg, "32"))
				opts->boot_entry = 32;
			else {
				snprintf(err, errlen, "--boot-entry '%s': give 64 or 32", optarg);
				return -1;
			}
			break;
		case OPT_DECOMPRESS:
			if (!strcmp(optarg, "host"))
				opts->decompress = MACHINE_DECOMPRESS_HOST;
			else if (!strcmp(optarg, "guest"))
				opts->decompress = MACHINE_DECOMPRESS_GUEST;
			else {
				snprintf(err, errlen, "--decompress '%s': give host or guest", optarg);
				return -1;
			}
			break;
		case OPT_MEM:
			if (options_parse_size(optarg, &opts->mem)) {
				snprintf(err, errlen, "--mem '%s': not a size (examples: 256M, 2G)", optarg);
				return -1;
			}
			if (opts->mem < MACHINE_MIN_MEM) {
				snprintf(err, errlen, "--mem %s: the guest needs at least 2M of memory", optarg);
				return -1;
			}
			if (opts->mem % 4096) {
				snprintf(err, errlen, "--mem %s: not a multiple of 4K", optarg);
				return -1;
			}
			break;
		case OPT_CPUS:
			if (parse_cpus(optarg, &opts->cpus)) {
				snprintf(err, errlen, "--cpus '%s': not a vCPU count from 1 to %u", optarg,
					 (unsigned)MACHINE_MAX_CPUS);
				return -1;
			}
			break;
		case OPT_DEBUG_EXIT:
			opts->debug_exit = true;
			break;
		case OPT_STATS:
			opts->stats = true;
			break;
		case OPT_NO_REBOOT:
			opts->no_reboot = true;
			break;
		case OPT_INTERPRETER:
			opts->interpreter = true;
			break;
		case OPT_NATIVE_USER:
			if (!optarg || !strcmp(optarg, "on")) {
				opts->native_user = RV_NATIVE_ON;
			} else if (!strcmp(optarg, "off")) {
				opts->native_user = RV_NATIVE_OFF;
			} else if (!strcmp(optarg, "auto")) {
				opts->native_user = RV_NATIVE_AUTO;
			} else {
				snprintf(err, errlen, "--native-user=%s: expected on, off or auto", optarg);
				return -1;
			}
			native_set = true;
			break;
		case OPT_CODE_CACHE:
			if (options_parse_size(optarg, &opts->code_cache) || opts->code_cache < MACHINE_MIN_CODE_CACHE ||
			    opts->code_cache > MACHINE_MAX_CODE_CACHE) {
				snprintf(err, errlen, "--code-cache '%s': give a size from 1M to 512M", optarg);
				return -1;
			}
			break;
		case OPT_CPU:
			if (options_parse_cpu(optarg, opts, err, errlen))
				return -1;
			break;
		case OPT_VERBOSE:
			opts->verbose = true;
			break;
		case OPT_DISK:
			if (opts->nr_disks == MACHINE_MAX_DISKS) {
				snprintf(err, errlen, "--disk: more than %d disks", MACHINE_MAX_DISKS);
				return -1;
			}
			if (options_parse_disk(optarg, &opts->disk[opts->nr_disks], err, errlen))
				return -1;
			opts->nr_disks++;
			break;
		case OPT_NET:
			if (opts->nr_nics == MACHINE_MAX_NICS) {
				snprintf(err, errlen, "--net: more than %d NICs", MACHINE_MAX_NICS);
				return -1;
			}
			if (options_parse_net(optarg, opts->nr_nics, &opts->nic[opts->nr_nics],
					      err, errlen))
				return -1;
			opts->nr_nics++;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				opts->virtio_console = false;
			else if (!strcmp(optarg, "virtio"))
				opts->virtio_console = true;
			else {
				snprintf(err, errlen, "--console '%s': give serial or virtio", optarg);
				return -1;
			}
			break;
		case OPT_RNG:
			opts->rng = true;
			break;
		case OPT_HELP:
			opts->help = true;
			return 0;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		case '?':
		default:
			/* getopt_long sets optopt to a long option's value when it was given "=VALUE" it does not take. */
			if (!strncmp(argv[optind - 1], "--", 2) && optopt && strchr(argv[optind - 1], '='))
				snprintf(err, errlen, "option '%.*s' takes no value",
					 (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			else if (optopt > 0 && optopt < 128)
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!opts->kernel && !opts->bios) {
		snprintf(err, errlen, "nothing to run: give --kernel FILE or --bios FILE");
		return -1;
	}
	if (opts->initrd && !opts->kernel) {
		snprintf(err, errlen, "--initrd needs --kernel");
		return -1;
	}
	if (opts->boot_entry && !opts->kernel) {
		snprintf(err, errlen, "--boot-entry needs --kernel");
		return -1;
	}
	if (opts->decompress && !opts->kernel) {
		snprintf(err, errlen, "--decompress needs --kernel");
		return -1;
	}
	if (opts->decompress == MACHINE_DECOMPRESS_HOST && opts->boot_entry == 32) {
		snprintf(err, errlen, "--decompress host needs the 64-bit entry: "
			 "the 32-bit entry always runs the kernel's own decompressor");
		return -1;
	}
	if (opts->append && !opts->kernel) {
		snprintf(err, errlen, "--append needs --kernel");
		return -1;
	}
	/* where the host can, by default; --interpreter asks for the reference alone */
	if (!native_set)
		opts->native_user = opts->interpreter ? RV_NATIVE_OFF : RV_NATIVE_AUTO;
	return options_check_devices(opts, err, errlen);
}
