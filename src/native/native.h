/*
 * Native ring-3 execution: a guest's user code runs on the host CPU, in a
 * ward process (ward.h) whose address space mirrors the guest's user
 * mappings, while the guest kernel and everything else stay on the soft
 * CPU. Plugged into the run loop through struct cpu_native (cpu.h).
 */
#ifndef RV_NATIVE_NATIVE_H
#define RV_NATIVE_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

struct cpu;
struct native_vcpu;

struct native_stats {
	uint64_t entries;	/* runs of the ward */
	uint64_t stop_kick, stop_syscall, stop_fault;
	uint64_t pages_mapped;	/* guest pages mirrored after a fault */
	uint64_t fallbacks;	/* stops handed to the soft CPU */
	uint64_t flushes;	/* whole mirrors dropped */
	uint64_t ns;		/* wall time in the ward */
};

/*
 * Plug native execution into cpu, which reaches guest RAM through
 * [ram, ram + ram_size), a mapping of ram_fd from offset 0. The ward starts
 * at the first use, on the vCPU's thread; quiet: if it cannot, say nothing.
 */
int native_vcpu_create(struct cpu *cpu, int ram_fd, const uint8_t *ram, uint64_t ram_size, bool quiet,
		       struct native_vcpu **out);
void native_vcpu_destroy(struct native_vcpu *nv);
void native_vcpu_stats(const struct native_vcpu *nv, struct native_stats *st);

#endif
