/*
 * The software engine: binds libringvm's API to src/cpu. Port I/O and MMIO
 * reads complete on the next run by appending the VMM's value to the
 * vCPU's replay buffer; the instruction then runs again from its start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel.h"
#include "cpu/cpu.h"
#include "jit/jit.h"
#include "native/native.h"

/*
 * The CPU's view of the slots. A remap publishes a new map to every vCPU
 * (the old one stays allocated until the VM goes, since a vCPU may be in
 * the middle of an instruction that still reads it); vCPUs see the new
 * generation at their next instruction boundary and drop every cached
 * host pointer.
 */
struct soft_map {
	struct cpu_memmap map;
	struct soft_map *older;		/* retired maps, freed with the VM */
};

struct soft_vm {
	struct soft_map *cur;
	uint64_t generation;
	struct jit_vm *jit;		/* the translator's shared state; NULL: interpreter only */
};

struct soft_vcpu {
	struct cpu cpu;
	struct jit_vcpu *jit;
	struct native_vcpu *native;	/* user code on the host CPU (rv_vm_config.native_user); NULL: off */
	bool pending;			/* last exit was I/O or MMIO: complete it on the next run */
	struct rv_exit *pending_exit;	/* where the VMM leaves the value */
	pthread_mutex_t wait_lock;	/* HLT without the HLT intercept waits here */
	pthread_cond_t wait_cond;
};

static struct soft_vcpu *sv_of(struct rv_vcpu *v)
{
	return v->engine;
}

static struct cpu *cpu_of(struct rv_vcpu *v)
{
	return &sv_of(v)->cpu;
}

bool rv_soft_translator_available(const char **why)
{
	return jit_host_supported(why);
}

static int soft_vm_init(struct rv_vm *vm)
{
	struct soft_vm *s = calloc(1, sizeof(*s));
	const char *why;
	int err;

	if (!s)
		return -ENOMEM;
	s->cur = calloc(1, sizeof(*s->cur));
	if (!s->cur) {
		free(s);
		return -ENOMEM;
	}
	if (!vm->soft_interpreter && jit_host_supported(&why)) {
		if (vm->soft_code_cache && (vm->soft_code_cache < JIT_MIN_CACHE || vm->soft_code_cache > JIT_MAX_CACHE)) {
			free(s->cur);
			free(s);
			return -EINVAL;
		}
		err = jit_vm_create(&s->jit, (size_t)vm->soft_code_cache);
		if (err) {
			free(s->cur);
			free(s);
			return err;
		}
	}
	vm->engine = s;
	return 0;
}

static void soft_vm_fini(struct rv_vm *vm)
{
	struct soft_vm *s = vm->engine;
	struct soft_map *m = s->cur;

	while (m) {
		struct soft_map *older = m->older;

		free(m);
		m = older;
	}
	jit_vm_destroy(s->jit);
	free(s);
	vm->engine = NULL;
}

static void soft_note_write(struct rv_vm *vm, uint64_t gpa, uint64_t len)
{
	struct soft_vm *s = vm->engine;

	if (s->jit)
		jit_vm_dirty(s->jit, gpa, len);
}

static void soft_mem_update(struct rv_vm *vm)
{
	struct soft_vm *s = vm->engine;
	struct soft_map *nm = calloc(1, sizeof(*nm));
	struct cpu_memmap *m;

	if (!nm)
		abort();	/* a few hundred bytes: out of memory here is fatal anyway */
	m = &nm->map;
	for (unsigned i = 0; i < vm->nslots; i++) {
		m->slot[i].gpa = vm->slot[i].gpa;
		m->slot[i].size = vm->slot[i].size;
		m->slot[i].host = vm->slot[i].host;
		m->slot[i].kind = vm->slot[i].kind == RV_MEM_ROM ? CPU_SLOT_ROM : CPU_SLOT_RAM;
	}
	m->count = vm->nslots;
	m->generation = ++s->generation;
	nm->older = s->cur;
	s->cur = nm;
	for (unsigned i = 0; i < ACCEL_MAX_VCPUS; i++) {
		struct rv_vcpu *v = vm->vcpu[i];

		if (v && v->engine) {
			__atomic_store_n(&((struct soft_vcpu *)v->engine)->cpu.mem, m, __ATOMIC_RELEASE);
			cpu_request_exit(&((struct soft_vcpu *)v->engine)->cpu);
		}
	}
	if (s->jit)
		jit_vm_remapped(s->jit);
}

static uint64_t soft_read_tsc(void *opaque)
{
	return accel_tsc(opaque);
}

/*
 * CPUID describes every vCPU as a core of one package, so each needs the
 * count. vCPUs are created before any runs (vm->lock held), so updating the
 * existing ones here is race-free; `added` is not in vm->vcpu[] yet.
 */
static void soft_count_cpus(struct rv_vm *vm, struct rv_vcpu *added)
{
	uint32_t n = 1;

	for (unsigned i = 0; i < ACCEL_MAX_VCPUS; i++)
		n += vm->vcpu[i] != NULL;
	for (unsigned i = 0; i < ACCEL_MAX_VCPUS; i++)
		if (vm->vcpu[i])
			cpu_of(vm->vcpu[i])->nr_cpus = n;
	cpu_of(added)->nr_cpus = n;
}

static int soft_vcpu_init(struct rv_vcpu *v)
{
	struct soft_vm *s = v->vm->engine;
	struct soft_vcpu *sv;

	/* translated code addresses the vCPU absolutely: it lives in the low 2 GiB (jit.h) */
	if (s->jit) {
		sv = jit_alloc_low(sizeof(*sv));
		if (!sv)
			return -ENOMEM;
	} else {
		if (posix_memalign((void **)&sv, 64, sizeof(*sv)))
			return -ENOMEM;
		memset(sv, 0, sizeof(*sv));
	}
	cpu_init(&sv->cpu, &s->cur->map);
	if (s->jit) {
		int err = jit_vcpu_create(s->jit, &sv->cpu, &sv->jit);

		if (err) {
			cpu_fini(&sv->cpu);
			jit_free_low(sv, sizeof(*sv));
			return err;
		}
	}
	sv->cpu.read_host_tsc = soft_read_tsc;	/* the VM's clock: real time, also while halted */
	sv->cpu.opaque = v->vm;
	sv->cpu.tsc_khz = (uint32_t)(v->vm->tsc_hz / 1000);
	sv->cpu.apic_id = v->index;
	sv->cpu.svm_offered = v->vm->cpu_svm;
	if (v->vm->native_user != RV_NATIVE_OFF) {
		int err = v->vm->ram_fd < 0 ? -EINVAL
					     : native_vcpu_create(&sv->cpu, v->vm->ram_fd, v->vm->ram, v->vm->ram_size,
								  v->vm->native_user == RV_NATIVE_AUTO, &sv->native);

		if (err) {
			jit_vcpu_destroy(sv->jit);
			cpu_fini(&sv->cpu);
			if (s->jit)
				jit_free_low(sv, sizeof(*sv));
			else
				free(sv);
			return err;
		}
	}
	if (v->index != 0)
		sv->cpu.s.apic_base &= ~(1ull << 8);	/* only vCPU 0 is the bootstrap processor */
	pthread_mutex_init(&sv->wait_lock, NULL);
	pthread_cond_init(&sv->wait_cond, NULL);
	v->engine = sv;
	soft_count_cpus(v->vm, v);
	return 0;
}

static void soft_vcpu_fini(struct rv_vcpu *v)
{
	struct soft_vcpu *sv = sv_of(v);

	bool low = sv->jit != NULL;

	native_vcpu_destroy(sv->native);
	jit_vcpu_destroy(sv->jit);
	cpu_fini(&sv->cpu);
	pthread_mutex_destroy(&sv->wait_lock);
	pthread_cond_destroy(&sv->wait_cond);
	if (low)
		jit_free_low(sv, sizeof(*sv));
	else
		free(sv);
	v->engine = NULL;
}

static int soft_get_regs(struct rv_vcpu *v, struct rv_regs *r)
{
	struct cpu *cpu = cpu_of(v);

	memcpy(r->gpr, cpu->s.gpr, sizeof(r->gpr));
	r->rip = cpu->s.rip;
	r->rflags = cpu_get_rflags(cpu);
	return 0;
}

static void soft_drop_pending(struct soft_vcpu *sv)
{
	sv->pending = false;
	memset(&sv->cpu.replay, 0, sizeof(sv->cpu.replay));
}

static int soft_set_regs(struct rv_vcpu *v, const struct rv_regs *r)
{
	struct soft_vcpu *sv = sv_of(v);
	struct cpu *cpu = &sv->cpu;

	/*
	 * Moving RIP abandons an instruction waiting for its I/O to complete,
	 * and a halt: the VMM has put the vCPU somewhere else (reset, SIPI).
	 */
	if (r->rip != cpu->s.rip) {
		soft_drop_pending(sv);
		cpu->halted = false;
	}
	memcpy(cpu->s.gpr, r->gpr, sizeof(r->gpr));
	cpu->s.rip = r->rip;
	cpu_set_rflags(cpu, r->rflags);
	cpu_update_mode(cpu);
	return 0;
}

static int soft_get_sregs(struct rv_vcpu *v, struct rv_sregs *s)
{
	struct cpu *cpu = cpu_of(v);

	memcpy(s->seg, cpu->s.seg, sizeof(s->seg));
	s->gdtr = cpu->s.gdtr;
	s->idtr = cpu->s.idtr;
	s->cr0 = cpu->s.cr0;
	s->cr2 = cpu->s.cr2;
	s->cr3 = cpu->s.cr3;
	s->cr4 = cpu->s.cr4;
	s->cr8 = cpu->s.cr8;
	s->efer = cpu->s.efer;
	s->apic_base = cpu->s.apic_base;
	return 0;
}

static int soft_set_sregs(struct rv_vcpu *v, const struct rv_sregs *s)
{
	struct cpu *cpu = cpu_of(v);

	memcpy(cpu->s.seg, s->seg, sizeof(s->seg));
	cpu->s.gdtr = s->gdtr;
	cpu->s.idtr = s->idtr;
	cpu->s.cr0 = s->cr0;
	cpu->s.cr2 = s->cr2;
	cpu->s.cr3 = s->cr3;
	cpu->s.cr4 = s->cr4;
	cpu->s.cr8 = s->cr8;
	cpu->s.efer = s->efer;
	cpu->s.apic_base = s->apic_base;
	/* CPL is SS.DPL (as VMX and SVM take it); update_mode fixes real and VM86 mode */
	cpu->s.cpl = (uint8_t)RV_SEG_DPL(s->seg[RV_SS].attrib);
	cpu_update_mode(cpu);
	cpu_tlb_flush_asids(cpu);
	return 0;
}

static int soft_get_fpu(struct rv_vcpu *v, struct rv_fpu *f)
{
	cpu_fxsave_image(cpu_of(v), f->fxsave);
	return 0;
}

static int soft_set_fpu(struct rv_vcpu *v, const struct rv_fpu *f)
{
	return cpu_fxrstor_image(cpu_of(v), f->fxsave) ? 0 : -EINVAL;
}

static int soft_get_debugregs(struct rv_vcpu *v, struct rv_debugregs *d)
{
	struct cpu *cpu = cpu_of(v);

	memcpy(d->dr, cpu->s.dr, sizeof(d->dr));
	d->dr6 = cpu->s.dr6;
	d->dr7 = cpu->s.dr7;
	return 0;
}

static int soft_set_debugregs(struct rv_vcpu *v, const struct rv_debugregs *d)
{
	struct cpu *cpu = cpu_of(v);

	memcpy(cpu->s.dr, d->dr, sizeof(d->dr));
	cpu->s.dr6 = d->dr6;
	cpu->s.dr7 = d->dr7;
	return 0;
}

static int soft_get_msr(struct rv_vcpu *v, uint32_t index, uint64_t *value)
{
	return cpu_rdmsr(cpu_of(v), index, value) ? 0 : -ENOENT;
}

static int soft_set_msr(struct rv_vcpu *v, uint32_t index, uint64_t value)
{
	return cpu_wrmsr(cpu_of(v), index, value) ? 0 : -ENOENT;
}

/* HLT with the HLT intercept off: sleep until something could wake the vCPU. */
static void soft_wait_event(struct soft_vcpu *sv)
{
	struct cpu *cpu = &sv->cpu;

	pthread_mutex_lock(&sv->wait_lock);
	while (!__atomic_load_n(&cpu->kick, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&cpu->pending_nmi, __ATOMIC_SEQ_CST) &&
	       !(__atomic_load_n(&cpu->pending_irq, __ATOMIC_SEQ_CST) >= 0 && (cpu->s.rflags & RV_FLAG_IF)))
		pthread_cond_wait(&sv->wait_cond, &sv->wait_lock);
	pthread_mutex_unlock(&sv->wait_lock);
}

static void soft_wake(struct soft_vcpu *sv)
{
	pthread_mutex_lock(&sv->wait_lock);
	pthread_cond_broadcast(&sv->wait_cond);
	pthread_mutex_unlock(&sv->wait_lock);
}

static int soft_run(struct rv_vcpu *v, struct rv_exit *exit)
{
	struct soft_vcpu *sv = sv_of(v);
	struct cpu *cpu = &sv->cpu;
	const char *bad;
	uint64_t bad_value = 0;

	/* Complete the I/O or MMIO access the last exit asked for */
	if (sv->pending) {
		const struct rv_exit *pe = sv->pending_exit;
		uint64_t val = 0;

		if (pe->reason == RV_EXIT_IO && !pe->io.is_write)
			val = pe->io.data & size_mask(pe->io.size);
		else if (pe->reason == RV_EXIT_MMIO && !pe->mmio.is_write)
			val = pe->mmio.data & size_mask(pe->mmio.size);
		else if (pe->reason == RV_EXIT_MSR)
			val = pe->msr.error ? 0 : pe->msr.data;
		if (pe->reason == RV_EXIT_MSR && pe->msr.error)
			cpu->msr_gp = true;	/* the re-executed RDMSR/WRMSR raises #GP(0) */
		if (cpu->replay.count < CPU_REPLAY_MAX)
			cpu->replay.value[cpu->replay.count++] = val;
		sv->pending = false;
	}
	memset(exit, 0, sizeof(*exit));

	/*
	 * Entry consistency checks, as VMRUN does them. Not in the guest's
	 * own guest mode (nested SVM): the state is then its guest's, which
	 * its VMRUN checked by the manual's rules (svm.c), and which may be
	 * what the stricter checks here refuse (CS.DPL other than the VMCB's CPL).
	 */
	bad = cpu->svm.guest ? NULL : cpu_check_state(&cpu->s, &bad_value);
	if (bad) {
		exit->reason = RV_EXIT_INVALID_STATE;
		exit->invalid.check = bad;
		exit->invalid.value = bad_value;
		return 0;
	}

	for (;;) {
		enum cpu_exit r = cpu_run(cpu, 0);

		exit->cr8 = cpu->s.cr8;
		switch (r) {
		case CPU_EXIT_IO:
			exit->reason = RV_EXIT_IO;
			exit->io.port = cpu->exit.port;
			exit->io.size = cpu->exit.size;
			exit->io.is_write = cpu->exit.is_write;
			exit->io.data = (uint32_t)cpu->exit.data;
			sv->pending = true;
			sv->pending_exit = exit;
			return 0;
		case CPU_EXIT_MMIO:
			exit->reason = RV_EXIT_MMIO;
			exit->mmio.gpa = cpu->exit.gpa;
			exit->mmio.size = cpu->exit.size;
			exit->mmio.is_write = cpu->exit.is_write;
			exit->mmio.data = cpu->exit.data;
			sv->pending = true;
			sv->pending_exit = exit;
			return 0;
		case CPU_EXIT_HLT:
			if (!(cpu->intercepts & RV_INTERCEPT_HLT)) {
				soft_wait_event(sv);
				continue;
			}
			exit->reason = RV_EXIT_HLT;
			return 0;
		case CPU_EXIT_SHUTDOWN:
			exit->reason = RV_EXIT_SHUTDOWN;
			return 0;
		case CPU_EXIT_INVALID:
			exit->reason = RV_EXIT_INVALID_STATE;
			exit->invalid.check = cpu->exit.check;
			exit->invalid.value = cpu->exit.check_value;
			return 0;
		case CPU_EXIT_IRQ_WINDOW:
			exit->reason = RV_EXIT_IRQ_WINDOW;
			return 0;
		case CPU_EXIT_DEBUG:
			exit->reason = RV_EXIT_DEBUG;
			exit->debug.dr6 = cpu->s.dr6 | (1u << 14);
			return 0;
		case CPU_EXIT_KICK:
			exit->reason = RV_EXIT_KICK;
			return 0;
		case CPU_EXIT_MSR:
			exit->reason = RV_EXIT_MSR;
			exit->msr.index = cpu->exit.msr_index;
			exit->msr.is_write = cpu->exit.is_write;
			exit->msr.data = cpu->exit.data;
			sv->pending = true;
			sv->pending_exit = exit;
			return 0;
		case CPU_EXIT_BUDGET:
		case CPU_EXIT_NONE:
		default:
			continue;
		}
	}
}

static void soft_kick(struct rv_vcpu *v)
{
	struct soft_vcpu *sv = sv_of(v);

	__atomic_store_n(&sv->cpu.kick, 1, __ATOMIC_SEQ_CST);
	cpu_request_exit(&sv->cpu);
	soft_wake(sv);
}

static int soft_interrupt(struct rv_vcpu *v, uint8_t vector)
{
	struct soft_vcpu *sv = sv_of(v);
	int expected = -1;

	if (!__atomic_compare_exchange_n(&sv->cpu.pending_irq, &expected, (int)vector, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -EBUSY;
	cpu_request_exit(&sv->cpu);
	soft_wake(sv);
	return 0;
}

static int soft_nmi(struct rv_vcpu *v)
{
	struct soft_vcpu *sv = sv_of(v);

	__atomic_store_n(&sv->cpu.pending_nmi, true, __ATOMIC_SEQ_CST);
	cpu_request_exit(&sv->cpu);
	soft_wake(sv);
	return 0;
}

static void soft_set_irq_window_exit(struct rv_vcpu *v, bool on)
{
	cpu_of(v)->irq_window_exit = on;
}

static bool soft_halted(struct rv_vcpu *v)
{
	return cpu_of(v)->halted;
}

static int soft_set_intercepts(struct rv_vcpu *v, uint32_t intercepts)
{
	if (intercepts & ~(uint32_t)(RV_INTERCEPT_HLT | RV_INTERCEPT_SINGLESTEP))
		return -EINVAL;
	cpu_of(v)->intercepts = intercepts;
	return 0;
}

static int soft_get_stats(struct rv_vcpu *v, struct rv_vcpu_stats *stats)
{
	struct soft_vcpu *sv = sv_of(v);

	stats->instructions = sv->cpu.icount;
	if (sv->jit) {
		struct jit_stats j;

		jit_vcpu_stats(sv->jit, &j);
		stats->translated = true;
		stats->blocks = j.blocks;
		stats->code_bytes = j.code_bytes;
		stats->code_emitted = j.code_emitted;
		stats->cache_bytes = j.cache_bytes;
		stats->cache_flushes = j.flushes;
		stats->invalidations = j.invalidations;
		stats->chained = j.chained;
		stats->unchained_exits = j.unchained_exits;
		stats->indirect_misses = j.indirect_misses;
		stats->indirect_stale = j.indirect_stale;
		stats->interp_branches = j.interp_branches;
		stats->tlb_misses = j.slow_paths;
		stats->interpreted = j.helper_insns;
	}
	if (sv->native) {
		struct native_stats n;

		native_vcpu_stats(sv->native, &n);
		stats->native_entries = n.entries;
		stats->native_syscalls = n.stop_syscall;
		stats->native_faults = n.stop_fault;
		stats->native_kicks = n.stop_kick;
		stats->native_pages = n.pages_mapped;
		stats->native_flushes = n.flushes;
		stats->native_ns = n.ns;
	}
	return 0;
}

/* Power-on state again; what identifies the vCPU (APIC ID, BSP or not) is kept. */
static int soft_reset(struct rv_vcpu *v)
{
	struct soft_vcpu *sv = sv_of(v);
	struct cpu *cpu = &sv->cpu;
	uint32_t intercepts = cpu->intercepts;

	soft_drop_pending(sv);
	cpu_reset(cpu);
	if (sv->jit)
		jit_vcpu_flush(sv->jit);	/* guest RAM is about to be reloaded */
	cpu->intercepts = intercepts;
	cpu->irq_window_exit = false;
	cpu->apic_id = v->index;
	if (v->index != 0)
		cpu->s.apic_base &= ~(1ull << 8);	/* only vCPU 0 is the bootstrap processor */
	return 0;
}

const struct accel_ops accel_soft_ops = {
	.name = "soft",
	.vm_init = soft_vm_init,
	.vm_fini = soft_vm_fini,
	.mem_update = soft_mem_update,
	.vcpu_init = soft_vcpu_init,
	.vcpu_fini = soft_vcpu_fini,
	.get_regs = soft_get_regs,
	.set_regs = soft_set_regs,
	.get_sregs = soft_get_sregs,
	.set_sregs = soft_set_sregs,
	.get_fpu = soft_get_fpu,
	.set_fpu = soft_set_fpu,
	.get_debugregs = soft_get_debugregs,
	.set_debugregs = soft_set_debugregs,
	.get_msr = soft_get_msr,
	.set_msr = soft_set_msr,
	.run = soft_run,
	.kick = soft_kick,
	.interrupt = soft_interrupt,
	.nmi = soft_nmi,
	.set_irq_window_exit = soft_set_irq_window_exit,
	.halted = soft_halted,
	.set_intercepts = soft_set_intercepts,
	.get_stats = soft_get_stats,
	.reset = soft_reset,
	.note_write = soft_note_write,
};
