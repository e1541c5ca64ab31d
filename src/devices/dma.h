/* How a device reaches guest memory: every address and length it takes from the guest goes through here. */
#ifndef RV_DEVICES_DMA_H
#define RV_DEVICES_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The VM's guest-physical RAM as a device sees it. `map` returns the host
 * address of guest RAM [gpa, gpa + len) when the whole range is RAM of
 * this VM (one contiguous host mapping), else NULL: ROM, MMIO, holes,
 * ranges past the end and wrapping ranges are refused, so nothing a guest
 * writes into a descriptor can reach host memory outside the VM. `len` 0
 * is refused too. The VMM backs it with guestmem_ptr(); tests and fuzz
 * targets with a flat buffer. Safe from any thread (the map is fixed
 * while the VM exists).
 */
struct dma_space {
	void *(*map)(void *opaque, uint64_t gpa, uint64_t len);
	/*
	 * The device has written [host, host + len) of a mapping (optional):
	 * the VMM tells the CPU engine, which may hold translated code of
	 * those bytes (rv_vm_note_write). Called before the driver is told.
	 */
	void (*written)(void *opaque, const void *host, size_t len);
	void *opaque;
};

static inline void *dma_map(const struct dma_space *dma, uint64_t gpa, uint64_t len)
{
	return len ? dma->map(dma->opaque, gpa, len) : NULL;
}

static inline void dma_written(const struct dma_space *dma, const void *host, size_t len)
{
	if (dma->written && len)
		dma->written(dma->opaque, host, len);
}

#endif
