/* The machine's internals, shared by machine.c, memory.c and vcpu.c only. */
#ifndef RV_VMM_MACHINE_PRIV_H
#define RV_VMM_MACHINE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "boot/guestmem.h"
#include "devices/debug_exit.h"
#include "devices/uart16550.h"
#include "vmm/bus.h"
#include "vmm/machine.h"

struct machine;

/* A vCPU's lifecycle: created, running in its thread, finished. */
enum vm_vcpu_state { VCPU_CREATED, VCPU_RUNNING, VCPU_FINISHED };

struct vm_vcpu {
	struct machine *m;
	unsigned index;
	struct rv_vcpu *cpu;
	pthread_t thread;
	enum vm_vcpu_state state;
};

struct machine {
	struct machine_config cfg;
	struct rv_vm *vm;

	/* Guest RAM: one host mapping; the layout cuts the PC holes out of it. */
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t *rom;			/* firmware image copy, or NULL */
	size_t rom_size;
	struct guestmem mem;

	struct bus io, mmio;
	struct uart16550 com1;
	struct debug_exit dbg_exit;
	struct post_code post;

	unsigned nr_vcpus;
	struct vm_vcpu vcpu[MACHINE_MAX_CPUS];
	unsigned irq_sources;		/* devices that can wake a halted vCPU (none yet) */

	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t cond;
	bool ended;
	unsigned nr_halted;		/* vCPUs halted for good */
	struct machine_result result;
	atomic_bool stopping;		/* read lock-free by the run loops */
};

/* memory.c */
int memory_create(struct machine *m, char *err, size_t errlen);
int memory_map_bios(struct machine *m, char *err, size_t errlen);
void memory_destroy(struct machine *m);

/* vcpu.c */
/*
 * End the machine (the first call wins): record how, with vCPU v's state
 * when v is given (call it from v's own thread), and stop every vCPU.
 * `detail` is the debug-exit value, signal number or -errno, by `end`.
 */
void machine_finish(struct machine *m, enum machine_end end, struct vm_vcpu *v,
		    int64_t detail, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void machine_log(struct machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
