/* Code and state memory of the translator: W^X through two views of a memfd, in the low 2 GiB. */
#include <errno.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit/codebuf.h"
#include "jit/jit.h"

int codebuf_init(struct codebuf *cb, size_t size)
{
	int err;

	memset(cb, 0, sizeof(*cb));
	cb->fd = memfd_create("ringvm-jit", MFD_CLOEXEC);
	if (cb->fd < 0)
		return -errno;
	cb->size = size;
	if (ftruncate(cb->fd, (off_t)size) < 0)
		goto fail;
	cb->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_32BIT, cb->fd, 0);
	if (cb->rx == MAP_FAILED) {
		cb->rx = NULL;
		goto fail;
	}
	cb->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, cb->fd, 0);
	if (cb->rw == MAP_FAILED) {
		cb->rw = NULL;
		goto fail;
	}
	return 0;
fail:
	err = -errno;
	codebuf_fini(cb);
	return err;
}

void codebuf_fini(struct codebuf *cb)
{
	if (cb->rx)
		munmap(cb->rx, cb->size);
	if (cb->rw)
		munmap(cb->rw, cb->size);
	if (cb->fd >= 0)
		close(cb->fd);
	memset(cb, 0, sizeof(*cb));
	cb->fd = -1;
}

/*
 * LeakSanitizer does not look into mmap'ed memory for pointers: the vCPU
 * state there points at heap blocks (decode and block caches), so in a
 * sanitizer build the region is registered as a root.
 */
void __lsan_register_root_region(const void *p, size_t size) __attribute__((weak));
void __lsan_unregister_root_region(const void *p, size_t size) __attribute__((weak));

void *jit_alloc_low(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (__lsan_register_root_region)
		__lsan_register_root_region(p, size);
	return p;
}

void jit_free_low(void *p, size_t size)
{
	if (!p)
		return;
	if (__lsan_unregister_root_region)
		__lsan_unregister_root_region(p, size);
	munmap(p, size);
}

void codebuf_release_written(struct codebuf *cb, size_t from, size_t to)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	from = (from + page - 1) & ~(page - 1);
	to &= ~(page - 1);
	if (to > from)
		madvise(cb->rw + from, to - from, MADV_DONTNEED);	/* a hint: failure costs only memory */
}

bool jit_host_supported(const char **why)
{
#if defined(__x86_64__) && defined(__linux__)
	unsigned a, b, c, d;

	/* flags travel through AH (translate.c): LAHF/SAHF in 64-bit mode, CPUID 8000_0001h ECX bit 0 */
	if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(c & 1)) {
		*why = "the host CPU lacks LAHF/SAHF in 64-bit mode";
		return false;
	}
	*why = NULL;
	return true;
#else
	*why = "the translator generates x86-64 code for Linux hosts";
	return false;
#endif
}
