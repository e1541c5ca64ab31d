/*
 * The translator: guest x86-64 code translated block by block into host
 * x86-64 code, cached per vCPU and run in place of the interpreter. It
 * plugs into src/cpu through struct cpu_xlat (the run loop's hook and the
 * store notification); the soft engine (src/accel/soft.c) creates it.
 * The interpreter stays the reference: whatever the translator does not
 * translate natively runs through the interpreter's own handlers.
 */
#ifndef RV_JIT_JIT_H
#define RV_JIT_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu;
struct jit_vm;
struct jit_vcpu;

#define JIT_DEFAULT_CACHE (64u << 20)	/* bytes of generated code per vCPU */
#define JIT_MIN_CACHE     (1u << 20)
#define JIT_MAX_CACHE     (512u << 20)

/* Can this host run translated code (an x86-64 Linux host with the features the translator uses)? */
bool jit_host_supported(const char **why);

/*
 * Memory for a vCPU's struct cpu (and whatever embeds it): translated code
 * addresses the vCPU's state with absolute 32-bit addresses, so it lives
 * in the low 2 GiB. NULL if none is left. Zeroed.
 */
void *jit_alloc_low(size_t size);
void jit_free_low(void *p, size_t size);

/* One per VM: the code pages shared by its vCPUs. */
int jit_vm_create(struct jit_vm **jvm, size_t cache_bytes);
void jit_vm_destroy(struct jit_vm *jvm);

/* The VM's memory map changed: every vCPU drops its translations before its next block. */
void jit_vm_remapped(struct jit_vm *jvm);

/* Something other than a vCPU (device DMA, the VMM) wrote guest RAM [gpa, gpa + len). */
void jit_vm_dirty(struct jit_vm *jvm, uint64_t gpa, uint64_t len);

/* Attach a translator to `cpu` (in memory from jit_alloc_low); it takes effect at its next run. */
int jit_vcpu_create(struct jit_vm *jvm, struct cpu *cpu, struct jit_vcpu **jv);
void jit_vcpu_destroy(struct jit_vcpu *jv);
/* Drop every translation of this vCPU (a reset: guest RAM is reloaded). Not while it runs. */
void jit_vcpu_flush(struct jit_vcpu *jv);

struct jit_stats {
	uint64_t blocks;		/* blocks translated */
	uint64_t code_bytes;		/* code in the cache now */
	uint64_t code_emitted;		/* code generated, flushed or not */
	uint64_t cache_bytes;		/* the cache's size */
	uint64_t flushes;		/* whole-cache flushes (full, remap, reset) */
	uint64_t invalidations;		/* blocks dropped because their code was written */
	uint64_t chained;		/* exits patched into direct jumps */
	uint64_t unchained_exits;	/* block exits that returned to the dispatcher */
	uint64_t indirect_misses;	/* indirect branches the target cache missed */
	uint64_t indirect_stale;	/* of those, entries from before a TLB flush */
	uint64_t interp_branches;	/* blocks left after a branch the interpreter ran */
	uint64_t slow_paths;		/* memory accesses that missed the inline TLB check */
	uint64_t helper_insns;		/* instructions run by the interpreter's handlers */
	uint64_t declined;		/* times the interpreter ran because the state was not translatable */
};
void jit_vcpu_stats(const struct jit_vcpu *jv, struct jit_stats *st);

#endif
