/* The machine's internals, shared by the files of src/vmm only. */
#ifndef RV_VMM_MACHINE_PRIV_H
#define RV_VMM_MACHINE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "boot/guestmem.h"
#include "devices/debug_exit.h"
#include "devices/uart16550.h"
#include "vmm/bus.h"
#include "vmm/machine.h"
#include "vmm/pc.h"

struct machine;

#define MACHINE_MAX_RESET_HOOKS 16

/* A vCPU's lifecycle: created, running in its thread, finished. */
enum vm_vcpu_state { VCPU_CREATED, VCPU_RUNNING, VCPU_FINISHED };

struct vm_vcpu {
	struct machine *m;
	unsigned index;
	struct rv_vcpu *cpu;
	pthread_t thread;
	enum vm_vcpu_state state;
	bool irq_window;		/* the interrupt-window exit is requested */
	/* SMP (pc_apic.c); under the machine lock unless noted */
	bool wake;			/* something may wake this halted vCPU: look again */
	bool wait_sipi;			/* INIT received (or an AP since reset): wait for a SIPI */
	bool init_pending, sipi_pending;
	uint8_t sipi_vector;
	atomic_bool mp_event;		/* INIT/SIPI state to look at (read lock-free by the run loop) */
	uint64_t cr8;			/* vCPU thread only: CR8 as the LAPIC's TPR last saw it */
};

struct machine {
	struct machine_config cfg;
	struct rv_vm *vm;

	/* Guest RAM: one host mapping; the layout cuts the PC holes out of it. */
	uint8_t *ram;			/* guest RAM, 2 MiB-aligned inside ram_map */
	void *ram_map;
	uint64_t ram_size;
	int ram_fd;			/* the memfd RAM lives in (native user code), -1: private anonymous memory */
	uint8_t *rom;			/* firmware image copy, or NULL */
	size_t rom_size;
	struct guestmem mem;

	struct bus io, mmio;
	struct uart16550 com1;
	struct debug_exit dbg_exit;
	struct post_code post;
	uint8_t *acpi_rom;		/* ACPI tables at 0xE0000 (pc_acpi.c), or NULL */
	uint64_t acpi_rsdp;		/* guest-physical RSDP, or 0 */
	struct pc_platform pc;		/* PIC, PIT, RTC, 8042, clock: see vmm/pc.h */
	struct pc_virtio *virtio;	/* virtio-pci devices and their backends (pc_virtio.c), or NULL */

	unsigned nr_vcpus;
	struct vm_vcpu vcpu[MACHINE_MAX_CPUS];

	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t cond;
	bool ended;
	unsigned nr_halted;		/* vCPUs halted for good */
	bool irq_wake;			/* the PIC's INT rose since a halted vCPU looked */
	struct machine_result result;
	atomic_bool stopping;		/* read lock-free by the run loops */

	/* reset.c: what else a machine reset must put back (devices of other files). */
	struct machine_reset_hook {
		void (*fn)(void *opaque);
		void *opaque;
	} reset_hook[MACHINE_MAX_RESET_HOOKS];
	unsigned nr_reset_hooks;
	unsigned boots;			/* completed resets (the guest is in boot boots + 1) */
	bool reset_pending;		/* under lock: the guest asked for a reset, vCPUs are stopping */
};

/* memory.c */
int memory_create(struct machine *m, char *err, size_t errlen);
int memory_map_bios(struct machine *m, char *err, size_t errlen);
void memory_destroy(struct machine *m);

/* pc.c: the legacy platform (called in machine_create / machine_run / machine_destroy) */
int pc_create(struct machine *m, char *err, size_t errlen);
int pc_start(struct machine *m);
void pc_stop(struct machine *m);
void pc_destroy(struct machine *m);

/* machine.c: place the kernel in RAM and set vCPU 0's entry state (at create and after a reset) */
int machine_load_kernel(struct machine *m, char *err, size_t errlen);

/*
 * The 32-bit PCI MMIO window: from the end of low RAM's 3 GiB (memory.c
 * moves RAM above it to 4 GiB) up to the IOAPIC; the e820 map leaves it
 * out and the DSDT's _CRS advertises it (pc_acpi.c).
 */
#define PC_PCI_MMIO_START 0xc0000000ull
#define PC_PCI_MMIO_END   0xfec00000ull	/* exclusive */

/* pc_pci.c: the PCI host bridge and bus 0 (from pc_create); returns 0 or -errno with err set */
int pc_pci_attach(struct machine *m, char *err, size_t errlen);
/*
 * Firmware's part, once every device is on the bus (machine_create) and
 * again after a machine reset: memory BARs in the MMIO window, memory
 * space and bus mastering on, INTERRUPT_LINE = the GSI the _PRT gives.
 */
int pc_pci_assign(struct machine *m, char *err, size_t errlen);
/* A PCI function's INTx pin level, as its device drives it; platform lock held. */
void pc_pci_intx_set(struct machine *m, struct pci_device *d, bool level);

/* pc_virtio.c: the virtio-pci devices machine_config asks for (disks, NICs, console, rng). */
struct pc_virtio;
int pc_virtio_create(struct machine *m, char *err, size_t errlen);
/* Backend threads (network): started by pc_start, stopped by pc_stop. */
int pc_virtio_start(struct machine *m);
void pc_virtio_stop(struct machine *m);
/* Everything closed (disk locks released); safe after a partial create. */
void pc_virtio_destroy(struct machine *m);
/* Host input for hvc0 (any thread, platform lock NOT held): bytes taken, 0 when the guest posted no buffer. */
size_t pc_virtio_console_receive(struct machine *m, const void *buf, size_t len);

/* pc_acpi.c: the ACPI PM device (from pc_create), the tables (machine_create) */
int pc_acpi_attach(struct machine *m, char *err, size_t errlen);
int machine_acpi_create(struct machine *m, char *err, size_t errlen);
void machine_acpi_destroy(struct machine *m);

/* reset.c */
/*
 * A device of another file that has state to put back at a machine reset
 * (LAPIC, IOAPIC, ACPI PM, PCI, ...) registers fn here in machine_create;
 * it runs with the platform lock held and no vCPU thread running, after
 * the legacy devices are reset and before RAM is reloaded. -ENOSPC if full.
 */
int machine_add_reset_hook(struct machine *m, void (*fn)(void *opaque), void *opaque);
/* One vCPU back to its power-on state (the BSP's; APs: see the comment in reset.c). */
int vcpu_reset(struct vm_vcpu *v);
/*
 * Called by machine_run() when every vCPU thread and the platform threads
 * have stopped: true if the run ended in a guest reset that must be
 * carried out; then the machine is reset, reloaded and ready to start
 * again. On a failure it records MACHINE_END_ERROR and returns false.
 */
bool machine_reset_if_requested(struct machine *m);

/* pc_apic.c: local APICs, IOAPIC, INIT/SIPI (the vcpu.c side of SMP) */
int pc_apic_create(struct machine *m, char *err, size_t errlen);
/* The ISA IRQ wire: to the 8259 pair and to the IOAPIC (IRQ 0 -> GSI 2). An irq_line `set`, opaque = machine. */
void pc_isa_irq_set(void *opaque, int irq, bool level);
/*
 * An MSI (PCI 3.0, 6.8; SDM vol. 3A 11.11): a dword write of `data` to
 * `addr` in 0xFEExxxxx becomes a message to the local APICs. Other
 * addresses are dropped. Platform lock held.
 */
void pc_msi_deliver(struct machine *m, uint64_t addr, uint32_t data);
/* Lock-free: an interrupt (PIC via LINT0, or the LAPIC) waits for v. */
bool apic_vcpu_want_irq(struct vm_vcpu *v);
/* Interrupt acknowledge at the window: the vector to inject, false if nothing is left. */
bool apic_vcpu_ack(struct vm_vcpu *v, uint8_t *vector);
/* HLT: platform lock held. Whether an interrupt is ready now; whether a device could still raise one. */
bool apic_vcpu_irq_ready(struct vm_vcpu *v);
bool apic_vcpu_can_wake(struct vm_vcpu *v);
void apic_vcpu_msr(struct vm_vcpu *v, struct rv_exit *ex);
/* After an MMIO access to the LAPIC page: a TPR write reaches CR8. */
void apic_vcpu_mmio_done(struct vm_vcpu *v);
/* After every exit: CR8 writes reach the TPR. */
void apic_vcpu_sync_cr8(struct vm_vcpu *v, uint64_t cr8);
/* INIT/SIPI: handle v->mp_event; false if the machine is ending. */
bool apic_vcpu_mp_event(struct vm_vcpu *v);

/* vcpu.c */
/*
 * End the machine (the first call wins): record how, with vCPU v's state
 * when v is given (call it from v's own thread), and stop every vCPU.
 * `detail` is the debug-exit value, signal number or -errno, by `end`.
 */
void machine_finish(struct machine *m, enum machine_end end, struct vm_vcpu *v,
		    int64_t detail, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void machine_log(struct machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vcpu.c: wait, counted as halted for good, until v->wake (or the end); false if the machine ended. */
bool vcpu_wait_wake(struct vm_vcpu *v, bool counted, const char *why);

#endif
