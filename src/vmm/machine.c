/* VM lifecycle: create the engine VM, memory, devices (in one explicit order), vCPUs, load the guest; destroy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/linux.h"
#include "boot/multiboot.h"
#include "boot/vmlinux.h"
#include "vmm/machine_priv.h"

static void machine_debug_exit(void *opaque, uint32_t value)
{
	struct machine *m = opaque;

	machine_finish(m, MACHINE_END_DEBUG_EXIT, NULL, value,
		       "guest wrote 0x%x to the debug-exit port", value);
}

static int machine_add_io(struct machine *m, uint64_t base, uint64_t len,
			  bus_access_fn *fn, void *opaque, const char *name,
			  char *err, size_t errlen)
{
	int ret = bus_register(&m->io, base, len, fn, opaque, name);

	if (ret)
		snprintf(err, errlen, "cannot attach %s at port 0x%llx: %s", name,
			 (unsigned long long)base, strerror(-ret));
	return ret;
}

/* Every device of the machine, attached in this one place and order. */
static int machine_attach_devices(struct machine *m, char *err, size_t errlen)
{
	int ret;

	uart16550_init(&m->com1, m->cfg.serial_fd);
	ret = machine_add_io(m, UART16550_COM1_BASE, UART16550_NR_PORTS,
			     uart16550_access, &m->com1, "com1", err, errlen);
	if (!ret)
		ret = machine_add_io(m, POST_CODE_PORT, 1, post_code_access, &m->post,
				     "post-code", err, errlen);
	if (!ret)
		ret = pc_create(m, err, errlen);
	if (!ret && m->cfg.debug_exit) {
		m->dbg_exit.on_exit = machine_debug_exit;
		m->dbg_exit.opaque = m;
		ret = machine_add_io(m, DEBUG_EXIT_PORT, DEBUG_EXIT_NR_PORTS,
				     debug_exit_access, &m->dbg_exit, "debug-exit", err, errlen);
	}
	/* virtio-pci devices on bus 0, then the firmware's BAR assignment for all of them. */
	if (!ret)
		ret = pc_virtio_create(m, err, errlen);
	if (!ret)
		ret = pc_pci_assign(m, err, errlen);
	return ret;
}

/*
 * Which loader: a bzImage (its setup header) goes through the Linux boot
 * protocol; then a multiboot header in the first 8 KiB wins, so an ELF
 * multiboot kernel stays one; then an ELF64 x86-64 file whose notes say
 * Linux is a vmlinux; anything else must be multiboot (whose loader says
 * what is wrong).
 */
static int machine_load_image(struct machine *m, struct rv_regs *regs,
			      struct rv_sregs *sregs, char *why, size_t whylen)
{
	struct multiboot_args args = {
		.kernel = m->cfg.kernel,
		.kernel_size = m->cfg.kernel_size,
		.kernel_path = m->cfg.kernel_path,
		.append = m->cfg.append,
		.initrd = m->cfg.initrd,
		.initrd_size = m->cfg.initrd_size,
		.initrd_path = m->cfg.initrd_path,
	};
	struct linux_args la = {
		.kernel = m->cfg.kernel,
		.kernel_size = m->cfg.kernel_size,
		.cmdline = m->cfg.append,
		.initrd = m->cfg.initrd,
		.initrd_size = m->cfg.initrd_size,
		.entry = m->cfg.boot_entry == 32 ? LINUX_ENTRY_32 : LINUX_ENTRY_64,
		.decompress = m->cfg.decompress == MACHINE_DECOMPRESS_GUEST ?
			      LINUX_DECOMPRESS_GUEST : LINUX_DECOMPRESS_HOST,
		.acpi_rsdp_addr = m->acpi_rsdp,
	};
	char note[256] = "";
	int ret;

	la.note = note;
	la.note_len = sizeof(note);
	if (linux_probe(m->cfg.kernel, m->cfg.kernel_size)) {
		ret = linux_load(&la, &m->mem, regs, sregs, why, whylen);
	} else if (!multiboot_probe(m->cfg.kernel, m->cfg.kernel_size) &&
		   vmlinux_probe(m->cfg.kernel, m->cfg.kernel_size)) {
		if (m->cfg.boot_entry == 32) {
			snprintf(why, whylen, "--boot-entry 32: an uncompressed vmlinux has only the 64-bit entry");
			return -EINVAL;
		}
		if (m->cfg.decompress == MACHINE_DECOMPRESS_GUEST) {
			snprintf(why, whylen, "--decompress guest: an uncompressed vmlinux has no decompressor");
			return -EINVAL;
		}
		ret = linux_load_vmlinux(&la, &m->mem, regs, sregs, why, whylen);
	} else {
		if (m->cfg.boot_entry) {
			snprintf(why, whylen, "--boot-entry applies to Linux kernels only");
			return -EINVAL;
		}
		if (m->cfg.decompress) {
			snprintf(why, whylen, "--decompress applies to Linux bzImage kernels only");
			return -EINVAL;
		}
		return multiboot_load(&args, &m->mem, regs, sregs, why, whylen);
	}
	if (!ret && note[0])
		machine_log(m, "kernel '%s': %s", m->cfg.kernel_path, note);
	return ret;
}

int machine_load_kernel(struct machine *m, char *err, size_t errlen)
{
	struct rv_vcpu *cpu = m->vcpu[0].cpu;
	struct rv_regs regs;
	struct rv_sregs sregs;
	char why[256];
	int ret;

	ret = rv_vcpu_get_sregs(cpu, &sregs);
	if (ret) {
		snprintf(err, errlen, "cannot read the vCPU state: %s", strerror(-ret));
		return ret;
	}
	ret = machine_load_image(m, &regs, &sregs, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "kernel '%s': %s", m->cfg.kernel_path, why);
		return ret;
	}
	ret = rv_vcpu_set_sregs(cpu, &sregs);
	if (!ret)
		ret = rv_vcpu_set_regs(cpu, &regs);
	if (ret)
		snprintf(err, errlen, "cannot set the kernel's entry state: %s", strerror(-ret));
	return ret;
}

static uint64_t machine_guest_ns(void *opaque)
{
	struct machine *m = opaque;

	return clock_now(&m->pc.clock);
}

int machine_create(struct machine **mp, const struct machine_config *config,
		   char *err, size_t errlen)
{
	struct rv_vm_config vmcfg = { .engine = RV_ENGINE_SOFT };
	struct machine *m;
	unsigned i;
	int ret;

	*mp = NULL;
	if (!config->kernel && !config->bios) {
		snprintf(err, errlen, "nothing to run: give a kernel or a firmware image");
		return -EINVAL;
	}
	if (config->cpus < 1 || config->cpus > MACHINE_MAX_CPUS) {
		snprintf(err, errlen, "%u vCPUs requested: from 1 to %u are supported",
			 config->cpus, MACHINE_MAX_CPUS);
		return -EINVAL;
	}
	if (config->initrd && !config->kernel) {
		snprintf(err, errlen, "an initrd needs a kernel to go with it");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->cfg = *config;
	m->ram_fd = -1;
	bus_init(&m->io);
	bus_init(&m->mmio);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	atomic_init(&m->stopping, false);

	/* One clock for the VM: the devices' timers and the guest TSC read the same time. */
	vmcfg.clock_ns = machine_guest_ns;
	vmcfg.clock_opaque = m;
	vmcfg.soft_interpreter = config->interpreter;
	vmcfg.soft_code_cache = config->code_cache;
	vmcfg.cpu_svm = config->cpu_svm;
	vmcfg.native_user = config->native_user;
	ret = rv_vm_create(&m->vm, &vmcfg);
	if (ret) {
		snprintf(err, errlen, "cannot create the VM: %s", strerror(-ret));
		goto fail;
	}
	ret = memory_create(m, err, errlen);
	if (ret)
		goto fail;
	if (config->bios) {
		ret = memory_map_bios(m, err, errlen);
		if (ret)
			goto fail;
	}
	ret = machine_attach_devices(m, err, errlen);
	if (ret)
		goto fail;
	ret = machine_acpi_create(m, err, errlen);
	if (ret)
		goto fail;
	for (i = 0; i < config->cpus; i++) {
		struct vm_vcpu *v = &m->vcpu[i];

		v->m = m;
		v->index = i;
		ret = rv_vcpu_create(m->vm, i, &v->cpu);
		if (ret) {
			snprintf(err, errlen, "cannot create vCPU %u: %s", i, strerror(-ret));
			goto fail;
		}
		v->state = VCPU_CREATED;
		m->nr_vcpus++;
	}
	if (config->kernel) {
		ret = machine_load_kernel(m, err, errlen);
		if (ret)
			goto fail;
	}
	*mp = m;
	return 0;
fail:
	machine_destroy(m);
	return ret;
}

void machine_destroy(struct machine *m)
{
	unsigned i;

	if (!m)
		return;
	for (i = 0; i < m->nr_vcpus; i++)
		rv_vcpu_destroy(m->vcpu[i].cpu);
	if (m->vm)
		rv_vm_destroy(m->vm);
	/* Devices before the platform lock they use; disk images are unlocked here. */
	pc_virtio_destroy(m);
	memory_destroy(m);
	machine_acpi_destroy(m);
	pc_destroy(m);
	bus_free(&m->io);
	bus_free(&m->mmio);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
