/* Options of `ringvm run`: parsing and validation, no side effects beyond splitting --disk/--net values in place. */
#ifndef RV_CLI_OPTIONS_H
#define RV_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/net.h"
#include "vmm/machine.h"

#define RUN_DEFAULT_MEM (256ull << 20)
#define RUN_DISK_SERIAL_MAX 20		/* virtio-blk GET_ID: VIRTIO_BLK_ID_BYTES (virtio 1.2, 5.2.6) */

struct run_options {
	const char *kernel;
	const char *append;
	const char *initrd;
	const char *bios;
	unsigned boot_entry;	/* --boot-entry 64|32 for a bzImage; 0 when not given */
	enum machine_decompress decompress;	/* --decompress host|guest; DEFAULT when not given */
	uint64_t mem;
	unsigned cpus;
	bool debug_exit;
	bool no_reboot;		/* --no-reboot: a guest reset ends ringvm (status 14) */
	bool stats;
	bool verbose;
	enum rv_native_user native_user;	/* --native-user: long-running guest user code on the host CPU */
	bool interpreter;		/* --interpreter: the soft CPU's reference interpreter, no translation */
	uint64_t code_cache;		/* --code-cache: bytes of translated code per vCPU, 0: default */
	bool cpu_svm;			/* --cpu svm=on: offer AMD-V (SVM) to the guest */
	bool help;
	/*
	 * virtio devices, in the order given. Disk paths and serials point
	 * into argv: --disk values are split in place (",," unescaped).
	 */
	unsigned nr_disks;
	struct machine_disk disk[MACHINE_MAX_DISKS];
	unsigned nr_nics;
	struct net_config nic[MACHINE_MAX_NICS];
	bool virtio_console;	/* --console virtio: stdin feeds hvc0 instead of COM1 */
	bool rng;		/* --rng */
};

/*
 * Parse argv (argv[0] is "run"). Returns 0, or -1 with a one-line reason
 * (without the "ringvm: " prefix) in err. The strings of argv must be
 * writable (they are, C11 5.1.2.2.1): --disk values are split in place.
 */
int options_parse(int argc, char **argv, struct run_options *opts, char *err, size_t errlen);

/* One --cpu value: a comma-separated list of FEATURE=on|off (svm so far). */
int options_parse_cpu(const char *text, struct run_options *opts, char *err, size_t errlen);

/* "256M", "2G", "1048576K", "512" (MiB, as QEMU's -m): bytes, or -1 with a reason. */
int options_parse_size(const char *text, uint64_t *bytes);

/*
 * One --disk value: "FILE" (no '=' anywhere: the whole text is the path,
 * commas included) or "path=FILE[,format=raw|qcow2][,readonly=on|off][,serial=S]", where ",,"
 * is a literal comma. Splits text in place; the disk's strings point into it.
 */
int options_parse_disk(char *text, struct machine_disk *disk, char *err, size_t errlen);

/*
 * One --net value: "user[,hostfwd=...]...[,mac=M]" or "tap,ifname=NAME[,mac=M]".
 * index numbers the NIC for its default MAC (52:54:00:12:34:56 + index).
 * Splits text in place.
 */
int options_parse_net(char *text, unsigned index, struct net_config *nic, char *err, size_t errlen);

/* QEMU's hostfwd: "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT". */
int options_parse_hostfwd(const char *text, struct net_hostfwd *fwd, char *err, size_t errlen);

/* "52:54:00:12:34:56" (or with '-'): 0, or -1 when it is not six hex bytes. */
int options_parse_mac(const char *text, uint8_t mac[6]);

/*
 * Checks across the device options: one image attached read-write twice
 * would trip over its own lock; every NIC needs its own MAC and tap device.
 */
int options_check_devices(const struct run_options *opts, char *err, size_t errlen);

#endif
