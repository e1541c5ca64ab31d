/* A disk image on the host: a raw file (or block device) or a qcow2 image, locked against a second writer, with flush, discard and write-zeroes. */
#ifndef RV_BACKEND_DISK_H
#define RV_BACKEND_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * How the file's bytes map to the guest's. Never probed from the file's
 * contents: a guest can write a qcow2 header into a raw image, and taking
 * it as qcow2 on the next start would let the guest choose what the host
 * reads. The user names the format (--disk ...,format=qcow2).
 */
enum disk_format {
	DISK_FORMAT_RAW,		/* guest byte N is file byte N */
	DISK_FORMAT_QCOW2,		/* qcow2 v2/v3 without backing file, encryption or external data */
};

struct qcow2;

struct disk {
	int fd;
	struct qcow2 *qcow2;		/* NULL for a raw image */
	uint64_t size;			/* bytes; the guest sees size / 512 sectors */
	bool readonly;
	bool can_discard;		/* fallocate(PUNCH_HOLE) works on this file */
	bool can_write_zeroes;		/* fallocate(ZERO_RANGE) or PUNCH_HOLE works */
	char path[256];			/* for messages */
};

/*
 * Open an image: read-write, or read-only. flock() guards it the way QEMU
 * does: a writer takes the lock exclusively, a reader shared, both
 * non-blocking, so two VMs never write one image and a reader never sees
 * a writer's half-done state. Returns 0, or -errno with one line in err
 * ("disk image 'x': No such file or directory", "... is in use by
 * another process").
 */
int disk_open(struct disk *d, const char *path, bool readonly, char *err, size_t errlen);
/*
 * The same for an image in the given format. For qcow2, size is the
 * header's virtual size; an image this code cannot serve safely (backing
 * file, encryption, dirty or corrupt flag, unknown incompatible features,
 * inconsistent tables) is refused with one line in err.
 */
int disk_open_format(struct disk *d, const char *path, enum disk_format format, bool readonly,
		     char *err, size_t errlen);
void disk_close(struct disk *d);

/* Whole-request I/O at a byte offset: retries short transfers and EINTR; returns 0 or -errno. */
int disk_readv(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset);
int disk_writev(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset);
/* Everything written so far reaches stable storage (fdatasync) before this returns 0. */
int disk_flush(struct disk *d);
/* Deallocate a range (reads back zeroes afterwards); -EOPNOTSUPP if the file cannot. */
int disk_discard(struct disk *d, uint64_t offset, uint64_t len);
/* Zero a range, deallocating it if `unmap` and the file can. */
int disk_write_zeroes(struct disk *d, uint64_t offset, uint64_t len, bool unmap);

#endif
