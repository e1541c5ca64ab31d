/* libringvm's public API: argument checks, the slot table, and dispatch to the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/accel.h"

#define PAGE_MASK 0xfffull

static uint64_t host_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t accel_clock_ns(const struct rv_vm *vm)
{
	if (vm->clock_ns)
		return vm->clock_ns(vm->clock_opaque);
	return host_monotonic_ns() - vm->clock_base;
}

uint64_t accel_tsc(const struct rv_vm *vm)
{
	return (uint64_t)((unsigned __int128)accel_clock_ns(vm) * vm->tsc_hz / 1000000000u);
}

int rv_vm_create(struct rv_vm **out, const struct rv_vm_config *config)
{
	struct rv_vm *vm;
	int ret;

	if (!out)
		return -EINVAL;
	if (config && config->engine != RV_ENGINE_SOFT)
		return -ENODEV;	/* only the software engine is built so far */
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->ops = &accel_soft_ops;
	vm->tsc_hz = config && config->tsc_hz ? config->tsc_hz : RV_DEFAULT_TSC_HZ;
	if (config && config->clock_ns) {
		vm->clock_ns = config->clock_ns;
		vm->clock_opaque = config->clock_opaque;
	}
	vm->clock_base = host_monotonic_ns();
	if (config) {
		vm->soft_interpreter = config->soft_interpreter;
		vm->soft_code_cache = config->soft_code_cache;
		vm->cpu_svm = config->cpu_svm;
		vm->native_user = config->native_user;
	}
	vm->ram_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	ret = vm->ops->vm_init(vm);
	if (ret) {
		pthread_mutex_destroy(&vm->lock);
		free(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

void rv_vm_destroy(struct rv_vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < ACCEL_MAX_VCPUS; i++)
		if (vm->vcpu[i])
			rv_vcpu_destroy(vm->vcpu[i]);
	vm->ops->vm_fini(vm);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int rv_vm_map(struct rv_vm *vm, uint64_t gpa, uint64_t size, enum rv_mem_kind kind, void *host)
{
	int ret = 0;

	if (!vm || !host || !size || (gpa & PAGE_MASK) || (size & PAGE_MASK) ||
	    gpa + size < gpa || (kind != RV_MEM_RAM && kind != RV_MEM_ROM))
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots; i++) {
		const struct accel_slot *s = &vm->slot[i];

		if (gpa < s->gpa + s->size && s->gpa < gpa + size) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (vm->nslots == ACCEL_MAX_SLOTS) {
		ret = -ENOSPC;
		goto out;
	}
	vm->slot[vm->nslots++] = (struct accel_slot){ .gpa = gpa, .size = size, .host = host, .kind = kind };
	vm->ops->mem_update(vm);
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int rv_vm_share_ram(struct rv_vm *vm, int fd, void *host, uint64_t size)
{
	if (!vm || fd < 0 || !host || !size)
		return -EINVAL;
	vm->ram_fd = fd;
	vm->ram = host;
	vm->ram_size = size;
	return 0;
}

int rv_vm_unmap(struct rv_vm *vm, uint64_t gpa)
{
	int ret = -ENOENT;

	if (!vm)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots; i++) {
		if (vm->slot[i].gpa == gpa) {
			vm->slot[i] = vm->slot[--vm->nslots];
			vm->ops->mem_update(vm);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int rv_vcpu_create(struct rv_vm *vm, unsigned index, struct rv_vcpu **out)
{
	struct rv_vcpu *v;
	int ret;

	if (!vm || !out || index >= ACCEL_MAX_VCPUS)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if (vm->vcpu[index]) {
		ret = -EEXIST;
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	v->vm = vm;
	v->index = index;
	ret = vm->ops->vcpu_init(v);
	if (ret) {
		free(v);
		goto out;
	}
	vm->vcpu[index] = v;
	*out = v;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void rv_vcpu_destroy(struct rv_vcpu *v)
{
	struct rv_vm *vm;

	if (!v)
		return;
	vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	vm->vcpu[v->index] = NULL;
	pthread_mutex_unlock(&vm->lock);
	vm->ops->vcpu_fini(v);
	free(v);
}

#define VCPU_CALL(v, op, ...) ((v) ? (v)->vm->ops->op((v), __VA_ARGS__) : -EINVAL)

int rv_vcpu_get_regs(struct rv_vcpu *v, struct rv_regs *r)
{
	return r ? VCPU_CALL(v, get_regs, r) : -EINVAL;
}

int rv_vcpu_set_regs(struct rv_vcpu *v, const struct rv_regs *r)
{
	return r ? VCPU_CALL(v, set_regs, r) : -EINVAL;
}

int rv_vcpu_get_sregs(struct rv_vcpu *v, struct rv_sregs *s)
{
	return s ? VCPU_CALL(v, get_sregs, s) : -EINVAL;
}

int rv_vcpu_set_sregs(struct rv_vcpu *v, const struct rv_sregs *s)
{
	return s ? VCPU_CALL(v, set_sregs, s) : -EINVAL;
}

int rv_vcpu_get_fpu(struct rv_vcpu *v, struct rv_fpu *f)
{
	return f ? VCPU_CALL(v, get_fpu, f) : -EINVAL;
}

int rv_vcpu_set_fpu(struct rv_vcpu *v, const struct rv_fpu *f)
{
	return f ? VCPU_CALL(v, set_fpu, f) : -EINVAL;
}

int rv_vcpu_get_debugregs(struct rv_vcpu *v, struct rv_debugregs *d)
{
	return d ? VCPU_CALL(v, get_debugregs, d) : -EINVAL;
}

int rv_vcpu_set_debugregs(struct rv_vcpu *v, const struct rv_debugregs *d)
{
	return d ? VCPU_CALL(v, set_debugregs, d) : -EINVAL;
}

int rv_vcpu_get_msr(struct rv_vcpu *v, uint32_t index, uint64_t *value)
{
	return value ? VCPU_CALL(v, get_msr, index, value) : -EINVAL;
}

int rv_vcpu_set_msr(struct rv_vcpu *v, uint32_t index, uint64_t value)
{
	return VCPU_CALL(v, set_msr, index, value);
}

int rv_vcpu_run(struct rv_vcpu *v, struct rv_exit *exit)
{
	int ret;

	if (!v || !exit)
		return -EINVAL;
	ret = v->vm->ops->run(v, exit);
	if (!ret) {
		v->exits++;
		if ((unsigned)exit->reason <= RV_EXIT_MSR)
			v->exits_by_reason[exit->reason]++;
	}
	return ret;
}

void rv_vcpu_kick(struct rv_vcpu *v)
{
	if (v)
		v->vm->ops->kick(v);
}

int rv_vcpu_interrupt(struct rv_vcpu *v, uint8_t vector)
{
	return VCPU_CALL(v, interrupt, vector);
}

int rv_vcpu_nmi(struct rv_vcpu *v)
{
	return v ? v->vm->ops->nmi(v) : -EINVAL;
}

void rv_vcpu_set_irq_window_exit(struct rv_vcpu *v, bool on)
{
	if (v)
		v->vm->ops->set_irq_window_exit(v, on);
}

bool rv_vcpu_halted(struct rv_vcpu *v)
{
	return v && v->vm->ops->halted(v);
}

int rv_vcpu_set_intercepts(struct rv_vcpu *v, uint32_t intercepts)
{
	return VCPU_CALL(v, set_intercepts, intercepts);
}

int rv_vcpu_reset(struct rv_vcpu *v)
{
	return v ? v->vm->ops->reset(v) : -EINVAL;
}

int rv_vcpu_get_stats(struct rv_vcpu *v, struct rv_vcpu_stats *stats)
{
	int ret;

	if (!v || !stats)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	ret = v->vm->ops->get_stats(v, stats);
	stats->exits = v->exits;
	memcpy(stats->exits_by_reason, v->exits_by_reason, sizeof(stats->exits_by_reason));
	return ret;
}

void rv_vm_note_write(struct rv_vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm && len && vm->ops->note_write)
		vm->ops->note_write(vm, gpa, len);
}

const char *rv_exit_reason_name(enum rv_exit_reason reason)
{
	static const char *const names[] = {
		[RV_EXIT_NONE] = "none",
		[RV_EXIT_IO] = "io",
		[RV_EXIT_MMIO] = "mmio",
		[RV_EXIT_HLT] = "hlt",
		[RV_EXIT_SHUTDOWN] = "shutdown",
		[RV_EXIT_INVALID_STATE] = "invalid-state",
		[RV_EXIT_IRQ_WINDOW] = "irq-window",
		[RV_EXIT_DEBUG] = "debug",
		[RV_EXIT_KICK] = "kick",
		[RV_EXIT_MSR] = "msr",
	};

	if ((unsigned)reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unknown";
}
