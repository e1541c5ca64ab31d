/* Guest RAM allocation and the PC memory layout: low RAM, the 0xA0000-0xFFFFF hole, the MMIO hole below 4 GiB. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/bios.h"
#include "vmm/machine_priv.h"

#define RAM_ALIGN (2u << 20)

#define LOW_RAM_TOP     0xa0000ull	/* 640 KiB: VGA memory and ROMs follow */
#define ONE_MIB         0x100000ull
#define FOUR_GIB        0x100000000ull
#define IOAPIC_BASE     0xfec00000ull	/* start of the chipset/firmware range reserved in the map */

static void format_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 40) && bytes % (1ull << 40) == 0)
		snprintf(buf, len, "%lluT", (unsigned long long)(bytes >> 40));
	else if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 30))
		snprintf(buf, len, "%.1fG", (double)bytes / (1ull << 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes >> 10));
}

/* Memory the host could give: more than physical RAM would only end in the OOM killer. */
static uint64_t host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psize <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)psize;
}

static int memory_add(struct machine *m, uint64_t gpa, uint64_t size,
		      enum guestmem_type type, uint8_t *host, char *err, size_t errlen)
{
	int ret = guestmem_add(&m->mem, gpa, size, type, host);

	if (!ret && type == GUESTMEM_RAM)
		ret = rv_vm_map(m->vm, gpa, size, RV_MEM_RAM, host);
	if (ret)
		snprintf(err, errlen, "cannot map guest memory at 0x%llx: %s",
			 (unsigned long long)gpa, strerror(-ret));
	return ret;
}

/* Back the RAM reservation with a memfd (rv_vm_share_ram). */
static int memory_share(struct machine *m, char *err, size_t errlen)
{
	int fd = memfd_create("ringvm-ram", MFD_CLOEXEC), ret;

	if (fd < 0 || ftruncate(fd, (off_t)m->ram_size) ||
	    mmap(m->ram, m->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot put guest memory in a memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	m->ram_fd = fd;
	ret = rv_vm_share_ram(m->vm, fd, m->ram, m->ram_size);
	if (ret)
		snprintf(err, errlen, "cannot share guest memory: %s", strerror(-ret));
	return ret;
}

int memory_create(struct machine *m, char *err, size_t errlen)
{
	uint64_t size = m->cfg.mem_size, below, host = host_ram();
	char want[32], have[32];
	void *p;
	int ret;

	format_size(want, sizeof(want), size);
	if (size < MACHINE_MIN_MEM) {
		snprintf(err, errlen, "guest memory of %llu bytes is too small: at least 2M is needed",
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (size % 4096) {
		snprintf(err, errlen, "guest memory size must be a multiple of 4K");
		return -EINVAL;
	}
	if (size > host) {
		format_size(have, sizeof(have), host);
		snprintf(err, errlen, "guest memory of %s is more than the host's %s of RAM", want, have);
		return -ENOMEM;
	}
	/*
	 * NORESERVE: pages cost host memory only when the guest touches them.
	 * 2 MiB-aligned and in transparent huge pages where the host allows
	 * (madvise mode is common): a first touch faults in 2 MiB, not 4 KiB,
	 * and guest-physical 2 MiB pages sit on host 2 MiB pages.
	 */
	m->ram_fd = -1;
	p = mmap(NULL, size + RAM_ALIGN, m->cfg.native_user != RV_NATIVE_OFF ? PROT_NONE : PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot allocate %s of guest memory: %s", want, strerror(errno));
		return ret;
	}
	m->ram_map = p;
	m->ram = (uint8_t *)(((uintptr_t)p + RAM_ALIGN - 1) & ~(uintptr_t)(RAM_ALIGN - 1));
	m->ram_size = size;
	if (m->cfg.native_user != RV_NATIVE_OFF) {
		/* native user code maps guest pages into another process: RAM is a memfd, shared */
		ret = memory_share(m, err, errlen);
		if (ret)
			return ret;
	}
	madvise(m->ram, size, MADV_HUGEPAGE);	/* a hint: without THP, 4 KiB pages */

	/*
	 * A PC's layout: RAM below 640 KiB, legacy VGA and ROM space up to
	 * 1 MiB (its RAM is lost, as on real boards), RAM from 1 MiB up to the
	 * MMIO hole, and the rest of RAM above 4 GiB.
	 */
	below = size < PC_PCI_MMIO_START ? size : PC_PCI_MMIO_START;
	m->mem.low_ram_top = LOW_RAM_TOP;
	m->mem.high_ram_top = below;
	ret = memory_add(m, 0, LOW_RAM_TOP, GUESTMEM_RAM, m->ram, err, errlen);
	if (!ret)
		ret = memory_add(m, LOW_RAM_TOP, ONE_MIB - LOW_RAM_TOP, GUESTMEM_RESERVED,
				 NULL, err, errlen);
	if (!ret && below > ONE_MIB)
		ret = memory_add(m, ONE_MIB, below - ONE_MIB, GUESTMEM_RAM, m->ram + ONE_MIB,
				 err, errlen);
	if (!ret)
		ret = memory_add(m, IOAPIC_BASE, FOUR_GIB - IOAPIC_BASE, GUESTMEM_RESERVED,
				 NULL, err, errlen);
	if (!ret && size > below)
		ret = memory_add(m, FOUR_GIB, size - below, GUESTMEM_RAM, m->ram + below,
				 err, errlen);
	return ret;
}

int memory_map_bios(struct machine *m, char *err, size_t errlen)
{
	struct bios_layout bl;
	void *p;
	int ret;

	ret = bios_layout(m->cfg.bios_size, &bl, err, errlen);
	if (ret)
		return ret;
	p = mmap(NULL, bl.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot allocate memory for the firmware: %s", strerror(errno));
		return ret;
	}
	memcpy(p, m->cfg.bios, bl.size);
	m->rom = p;
	m->rom_size = bl.size;
	ret = rv_vm_map(m->vm, bl.high_gpa, bl.size, RV_MEM_ROM, m->rom);
	if (!ret)
		ret = rv_vm_map(m->vm, bl.low_gpa, bl.low_size, RV_MEM_ROM, m->rom + bl.low_offset);
	if (ret)
		snprintf(err, errlen, "cannot map the firmware: %s", strerror(-ret));
	return ret;
}

void memory_destroy(struct machine *m)
{
	if (m->ram)
		munmap(m->ram_map, m->ram_size + RAM_ALIGN);
	if (m->ram_fd >= 0)
		close(m->ram_fd);
	m->ram_fd = -1;
	if (m->rom)
		munmap(m->rom, m->rom_size);
	m->ram = NULL;
	m->rom = NULL;
}
