/*
 * The engine interface behind libringvm: each engine (the software CPU,
 * KVM later) implements these operations; vm.c validates arguments, keeps
 * the guest-physical slot table and dispatches. Nothing outside src/accel
 * knows which engine runs.
 */
#ifndef RV_ACCEL_H
#define RV_ACCEL_H

#include <pthread.h>

#include "ringvm/ringvm.h"

#define ACCEL_MAX_SLOTS 32
#define ACCEL_MAX_VCPUS 256

struct accel_slot {
	uint64_t gpa, size;
	void *host;
	enum rv_mem_kind kind;
};

struct rv_vm {
	const struct accel_ops *ops;
	pthread_mutex_t lock;		/* slot table and vCPU list */
	unsigned nslots;
	struct accel_slot slot[ACCEL_MAX_SLOTS];
	struct rv_vcpu *vcpu[ACCEL_MAX_VCPUS];
	void *engine;			/* engine-private VM state */
	/* Time (see struct rv_vm_config) */
	uint64_t tsc_hz;
	uint64_t (*clock_ns)(void *opaque);
	void *clock_opaque;
	uint64_t clock_base;		/* host CLOCK_MONOTONIC at creation, for the default clock */
	bool soft_interpreter;		/* see struct rv_vm_config */
	uint64_t soft_code_cache;
	bool cpu_svm;			/* see struct rv_vm_config */
	enum rv_native_user native_user;	/* see struct rv_vm_config */
	int ram_fd;			/* rv_vm_share_ram(), -1 if none */
	uint8_t *ram;
	uint64_t ram_size;
};

/* Guest time in ns and the guest TSC, from the VM's clock. */
uint64_t accel_clock_ns(const struct rv_vm *vm);
uint64_t accel_tsc(const struct rv_vm *vm);

struct rv_vcpu {
	struct rv_vm *vm;
	unsigned index;
	uint64_t exits;
	uint64_t exits_by_reason[RV_EXIT_MSR + 1];
	void *engine;			/* engine-private vCPU state */
};

struct accel_ops {
	const char *name;
	int (*vm_init)(struct rv_vm *vm);
	void (*vm_fini)(struct rv_vm *vm);
	/* The slot table changed (called with vm->lock held). */
	void (*mem_update)(struct rv_vm *vm);
	int (*vcpu_init)(struct rv_vcpu *vcpu);
	void (*vcpu_fini)(struct rv_vcpu *vcpu);
	int (*get_regs)(struct rv_vcpu *vcpu, struct rv_regs *regs);
	int (*set_regs)(struct rv_vcpu *vcpu, const struct rv_regs *regs);
	int (*get_sregs)(struct rv_vcpu *vcpu, struct rv_sregs *sregs);
	int (*set_sregs)(struct rv_vcpu *vcpu, const struct rv_sregs *sregs);
	int (*get_fpu)(struct rv_vcpu *vcpu, struct rv_fpu *fpu);
	int (*set_fpu)(struct rv_vcpu *vcpu, const struct rv_fpu *fpu);
	int (*get_debugregs)(struct rv_vcpu *vcpu, struct rv_debugregs *dregs);
	int (*set_debugregs)(struct rv_vcpu *vcpu, const struct rv_debugregs *dregs);
	int (*get_msr)(struct rv_vcpu *vcpu, uint32_t index, uint64_t *value);
	int (*set_msr)(struct rv_vcpu *vcpu, uint32_t index, uint64_t value);
	int (*run)(struct rv_vcpu *vcpu, struct rv_exit *exit);
	void (*kick)(struct rv_vcpu *vcpu);
	int (*interrupt)(struct rv_vcpu *vcpu, uint8_t vector);
	int (*nmi)(struct rv_vcpu *vcpu);
	void (*set_irq_window_exit)(struct rv_vcpu *vcpu, bool on);
	bool (*halted)(struct rv_vcpu *vcpu);
	int (*set_intercepts)(struct rv_vcpu *vcpu, uint32_t intercepts);
	int (*get_stats)(struct rv_vcpu *vcpu, struct rv_vcpu_stats *stats);
	int (*reset)(struct rv_vcpu *vcpu);	/* power-on state (rv_vcpu_reset) */
	void (*note_write)(struct rv_vm *vm, uint64_t gpa, uint64_t len);	/* rv_vm_note_write */
};

extern const struct accel_ops accel_soft_ops;

#endif
