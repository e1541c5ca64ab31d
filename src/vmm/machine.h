/* The virtual PC: guest memory layout, devices on the buses, vCPU threads, and how a run ended. */
#ifndef RV_VMM_MACHINE_H
#define RV_VMM_MACHINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk.h"
#include "backend/net.h"
#include "ringvm/ringvm.h"

#define MACHINE_MIN_MEM   (2ull << 20)
#define MACHINE_MIN_CODE_CACHE (1ull << 20)	/* the translator's code cache per vCPU */
#define MACHINE_MAX_CODE_CACHE (512ull << 20)
#define MACHINE_MAX_CPUS  16		/* one LAPIC each (LAPIC_MAX bounds it too) */
#define MACHINE_MAX_DISKS 8
#define MACHINE_MAX_NICS  4

/* Who decompresses a bzImage's payload (--decompress). */
enum machine_decompress {
	MACHINE_DECOMPRESS_DEFAULT,	/* not given: the host, except for the 32-bit entry */
	MACHINE_DECOMPRESS_HOST,
	MACHINE_DECOMPRESS_GUEST,	/* the kernel's own decompressor */
};

/* A virtio-blk disk: a raw or qcow2 image file. */
struct machine_disk {
	const char *path;
	bool readonly;
	const char *serial;		/* virtio-blk GET_ID (up to 20 bytes), or NULL */
	enum disk_format format;	/* raw (0) unless the user said otherwise: never probed */
};

struct machine_config {
	uint64_t mem_size;		/* bytes of guest RAM */
	unsigned cpus;
	/* Images the caller has read; valid until machine_destroy() (a guest reset loads them again). */
	const uint8_t *kernel;		/* multiboot kernel, or NULL */
	size_t kernel_size;
	const char *kernel_path;
	const char *append;
	const uint8_t *initrd;
	size_t initrd_size;
	const char *initrd_path;
	unsigned boot_entry;		/* Linux bzImage entry: 64 or 32; 0 means the default (64) */
	enum machine_decompress decompress;	/* who decompresses a bzImage's payload */
	const uint8_t *bios;		/* firmware ROM, or NULL */
	size_t bios_size;
	bool debug_exit;		/* isa-debug-exit at port 0xF4 */
	int serial_fd;			/* COM1 output */
	bool serial_input;		/* feed serial_in_fd to COM1's receiver */
	int serial_in_fd;
	bool no_reboot;			/* a guest reset ends the run (MACHINE_END_REBOOT) instead of restarting */
	/* virtio-pci devices, in this order on bus 0 from slot 1: disks, NICs, console, rng */
	unsigned nr_disks;
	struct machine_disk disk[MACHINE_MAX_DISKS];
	unsigned nr_nics;
	struct net_config nic[MACHINE_MAX_NICS];
	bool virtio_console;		/* hvc0: serial_in_fd feeds it instead of COM1; its output goes to serial_fd */
	bool virtio_rng;		/* entropy from the host's getrandom() */
	bool verbose;
	bool interpreter;		/* run the soft CPU's interpreter instead of translating */
	uint64_t code_cache;		/* bytes of translated code per vCPU; 0: the engine's default */
	bool cpu_svm;			/* offer AMD-V (SVM) to the guest (--cpu svm=on) */
	/* long-running user code on the host CPU (--native-user, rv_vm_config); not OFF: RAM in a memfd */
	enum rv_native_user native_user;
	/* Diagnostics for --verbose (unclaimed I/O, ...); the VMM never prints itself. */
	void (*log)(void *opaque, const char *fmt, va_list ap);
	void *log_opaque;
};

enum machine_end {
	MACHINE_END_POWEROFF,		/* the guest switched the machine off */
	MACHINE_END_DEBUG_EXIT,		/* write to isa-debug-exit */
	MACHINE_END_TRIPLE_FAULT,
	MACHINE_END_INVALID_STATE,
	MACHINE_END_HALTED,		/* every vCPU halted and nothing can wake one */
	MACHINE_END_SIGNAL,		/* machine_stop() from the host */
	MACHINE_END_REBOOT,		/* the guest reset the machine and no_reboot is set */
	MACHINE_END_ERROR,		/* the engine failed */
	MACHINE_END_QUIT,		/* machine_quit(): the user asked (console escape key) */
};

struct machine_result {
	enum machine_end end;
	uint32_t debug_exit_value;
	int signo;
	int error;			/* MACHINE_END_ERROR: -errno */
	char reason[192];		/* one line: what happened */
	bool has_state;			/* regs/sregs hold the state of vCPU `vcpu` */
	unsigned vcpu;
	struct rv_regs regs;
	struct rv_sregs sregs;
	uint64_t instructions, exits;	/* summed over vCPUs */
	struct rv_vcpu_stats stats;	/* the engine's counters, summed over vCPUs */
	double seconds;			/* wall time of machine_run() */
};

struct machine;

/* Returns 0 or -errno with a one-line reason in err. */
int machine_create(struct machine **m, const struct machine_config *config,
		   char *err, size_t errlen);
void machine_destroy(struct machine *m);

/* Run all vCPUs (one thread each) until the machine ends; fills *result. */
int machine_run(struct machine *m, struct machine_result *result);

/* End a running machine from another thread (not from a signal handler). */
void machine_stop(struct machine *m, int signo);

/* End a running machine because the user asked (the console's quit key); any thread. */
void machine_quit(struct machine *m);

/*
 * The guest asked for a reset (8042 0xFE, port 0x92, 0xCF9, ...): every
 * vCPU stops; then, unless no_reboot is set, machine_run() resets the
 * vCPUs and devices, reloads the guest and runs it again. Callable from
 * any thread, with or without the platform lock held.
 */
void machine_request_reset(struct machine *m);

#endif
