/* Disk images: open and lock, vectored I/O with retries, fdatasync, hole punching and zeroing; qcow2 images go through qcow2.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/disk.h"
#include "backend/errmsg.h"
#include "backend/qcow2.h"

#define SECTOR_SIZE 512u

/* The zero-fill fallback writes this many bytes per system call, from one zero buffer repeated. */
#define ZERO_BUF_SIZE  (64u * 1024)
#define ZERO_BUF_COUNT 16u

/* Never written: the source of the zero-fill fallback's writes. */
static uint8_t zero_buf[ZERO_BUF_SIZE];

/* The file (system or device) has no such fallocate() mode at all. */
static bool unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOSYS || e == ENOTTY;
}

/*
 * This request cannot be served by fallocate(): no such mode, or a range
 * the device refuses (EINVAL: a block device whose logical blocks are
 * larger than our 512-byte sectors). Our own range check already passed,
 * so EINVAL never hides a caller's error here.
 */
static bool no_fallocate(int e)
{
	return unsupported(e) || e == EINVAL;
}

/*
 * Whether hole punching works on this file, learnt without touching data:
 * a punch past the end of the file with KEEP_SIZE deallocates nothing a
 * reader can see (at most blocks preallocated beyond EOF) and does not
 * change the size, yet the filesystem still answers EOPNOTSUPP when it
 * has no PUNCH_HOLE. (A zero-length probe cannot work: fallocate()
 * refuses len 0 with EINVAL before asking the filesystem.)
 */
static bool probe_punch_hole(int fd, uint64_t file_size)
{
	off_t at = (off_t)((file_size + 4095) & ~4095ull);

	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, 4096) == 0;
}

int disk_open(struct disk *d, const char *path, bool readonly, char *err, size_t errlen)
{
	return disk_open_format(d, path, DISK_FORMAT_RAW, readonly, err, errlen);
}

int disk_open_format(struct disk *d, const char *path, enum disk_format format, bool readonly,
		     char *err, size_t errlen)
{
	struct stat st;
	uint64_t size;
	int fd, r;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	snprintf(d->path, sizeof(d->path), "%s", path);

	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return backend_error(err, errlen, r, "disk image '%s': %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		backend_error(err, errlen, r, "disk image '%s': %s", path, strerror(-r));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			r = -errno;
			backend_error(err, errlen, r, "disk image '%s': cannot read the device size: %s", path,
				strerror(-r));
			goto fail;
		}
	} else {
		r = -EINVAL;
		backend_error(err, errlen, r, "disk image '%s' is not a regular file or a block device", path);
		goto fail;
	}
	/*
	 * Like QEMU (and flock(1) users), one writer or many readers. A
	 * second VM asking for a lock already held fails at once rather
	 * than waiting: a VM that would start only when another one exits
	 * is never what the user meant.
	 */
	if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			backend_error(err, errlen, r, "disk image '%s' is in use by another process (locked)", path);
		else
			backend_error(err, errlen, r, "disk image '%s': cannot lock it: %s", path, strerror(-r));
		goto fail;
	}

	d->fd = fd;
	d->readonly = readonly;
	if (format == DISK_FORMAT_QCOW2) {
		/*
		 * The guest sees the header's virtual size. Discard and
		 * write-zeroes are not offered: freeing clusters is exactly
		 * what this qcow2 code never does (a snapshot may share
		 * them), and zeroes written as data serve no better than the
		 * guest's own writes.
		 */
		r = qcow2_open(d, size, err, errlen);
		if (r < 0) {
			d->fd = -1;
			goto fail;
		}
		return 0;
	}
	/*
	 * The guest counts 512-byte sectors. A trailing partial sector is
	 * left out of the guest's view, as QEMU does for raw images (its
	 * guest-visible size is rounded down too); the tail bytes stay in
	 * the file untouched.
	 */
	d->size = size & ~(uint64_t)(SECTOR_SIZE - 1);
	if (readonly) {
		d->can_discard = d->can_write_zeroes = false;
	} else if (S_ISREG(st.st_mode)) {
		/*
		 * A filesystem that can punch holes serves both discard and
		 * write-zeroes cheaply (write-zeroes tries ZERO_RANGE first and
		 * falls back to a punch). Without it, write-zeroes would have
		 * to write real zeroes, as slow as the guest doing it itself,
		 * so it is not advertised.
		 */
		d->can_discard = d->can_write_zeroes = probe_punch_hole(fd, (uint64_t)st.st_size);
	} else {
		/*
		 * Block devices: fallocate(PUNCH_HOLE / ZERO_RANGE) has worked
		 * on them since Linux 4.9, and a probe would have to touch
		 * real sectors. Assume it works; on EOPNOTSUPP the flags drop
		 * and the requests degrade (discard becomes a no-op, which
		 * virtio allows, write-zeroes writes zero buffers).
		 */
		d->can_discard = d->can_write_zeroes = true;
	}
	return 0;

fail:
	close(fd);
	return r;
}

void disk_close(struct disk *d)
{
	qcow2_close(d);
	if (d->fd >= 0)
		close(d->fd);	/* drops the flock too */
	d->fd = -1;
}

/* Whether [offset, offset + len) lies within the disk, without overflow. */
static bool in_range(const struct disk *d, uint64_t offset, uint64_t len)
{
	return offset <= d->size && len <= d->size - offset;
}

/* Total bytes of an iovec list, or UINT64_MAX if it overflows. */
static uint64_t iov_total(const struct iovec *iov, unsigned n)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > UINT64_MAX - total)
			return UINT64_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/*
 * preadv/pwritev until every byte moved: a short transfer resumes where it
 * stopped (finishing a partly done segment with a plain pread/pwrite, so
 * the caller's iovec array stays untouched), EINTR retries, and an
 * unexpected end of file is an I/O error.
 */
static int disk_rw(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset, bool write)
{
	uint64_t total = iov_total(iov, n);
	unsigned i = 0;
	size_t seg_done = 0;	/* bytes of iov[i] already moved */

	if (d->fd < 0)
		return -EBADF;
	if (write && d->readonly)
		return -EROFS;
	if (total == UINT64_MAX || !in_range(d, offset, total))
		return -EINVAL;
	if (d->qcow2)
		return write ? qcow2_writev(d, iov, n, offset) : qcow2_readv(d, iov, n, offset);
	while (i < n) {
		ssize_t got;

		if (!iov[i].iov_len) {
			i++;
			continue;
		}
		if (seg_done) {
			void *p = (uint8_t *)iov[i].iov_base + seg_done;
			size_t len = iov[i].iov_len - seg_done;

			got = write ? pwrite(d->fd, p, len, (off_t)offset) : pread(d->fd, p, len, (off_t)offset);
		} else {
			int cnt = (int)(n - i < IOV_MAX ? n - i : IOV_MAX);

			got = write ? pwritev(d->fd, iov + i, cnt, (off_t)offset)
				    : preadv(d->fd, iov + i, cnt, (off_t)offset);
		}
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO;	/* the file shrank under us: another process ignored the lock */
		offset += (uint64_t)got;
		/* Advance (i, seg_done) by got bytes. */
		size_t left = (size_t)got;

		while (left && i < n) {
			size_t rest = iov[i].iov_len - seg_done;

			if (left < rest) {
				seg_done += left;
				left = 0;
			} else {
				left -= rest;
				seg_done = 0;
				i++;
			}
		}
	}
	return 0;
}

int disk_readv(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset)
{
	return disk_rw(d, iov, n, offset, false);
}

int disk_writev(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset)
{
	return disk_rw(d, iov, n, offset, true);
}

int disk_flush(struct disk *d)
{
	if (d->fd < 0)
		return -EBADF;
	if (d->readonly)
		return 0;	/* nothing of ours to write back */
	while (fdatasync(d->fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* fallocate() with EINTR retried; returns 0 or -errno. */
static int do_fallocate(struct disk *d, int mode, uint64_t offset, uint64_t len)
{
	while (fallocate(d->fd, mode, (off_t)offset, (off_t)len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int check_modify(const struct disk *d, uint64_t offset, uint64_t len)
{
	if (d->fd < 0)
		return -EBADF;
	if (d->readonly)
		return -EROFS;
	if (!in_range(d, offset, len) || len > INT64_MAX)
		return -EINVAL;
	return 0;
}

int disk_discard(struct disk *d, uint64_t offset, uint64_t len)
{
	int r = check_modify(d, offset, len);

	if (r < 0)
		return r;
	if (!len)
		return 0;
	if (!d->can_discard)
		return -EOPNOTSUPP;
	r = do_fallocate(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
	if (r < 0 && no_fallocate(-r)) {
		if (unsupported(-r))
			d->can_discard = false;
		return -EOPNOTSUPP;
	}
	return r;
}

/* The last resort: write real zeroes, ZERO_BUF_COUNT buffers per call. */
static int write_zero_buffers(struct disk *d, uint64_t offset, uint64_t len)
{
	struct iovec iov[ZERO_BUF_COUNT];
	unsigned n;
	int r;

	while (len) {
		uint64_t chunk = 0;

		for (n = 0; n < ZERO_BUF_COUNT && chunk < len; n++) {
			uint64_t piece = len - chunk < ZERO_BUF_SIZE ? len - chunk : ZERO_BUF_SIZE;

			iov[n].iov_base = zero_buf;
			iov[n].iov_len = (size_t)piece;
			chunk += piece;
		}
		r = disk_rw(d, iov, n, offset, true);
		if (r < 0)
			return r;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

int disk_write_zeroes(struct disk *d, uint64_t offset, uint64_t len, bool unmap)
{
	int r = check_modify(d, offset, len);

	if (r < 0)
		return r;
	if (!len)
		return 0;
	if (d->can_write_zeroes) {
		/* Zeroes that stay allocated: what a write of zeroes would leave behind. */
		if (!unmap) {
			r = do_fallocate(d, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, len);
			if (r == 0 || !no_fallocate(-r))
				return r;
		}
		/*
		 * A punched hole reads back as zeroes. Without unmap (the
		 * filesystem has no ZERO_RANGE, e.g. tmpfs) the hole is
		 * allocated again afterwards, as QEMU does, so a later write
		 * there cannot fail for want of space; if that allocation
		 * fails the range still reads as zeroes, which is all 5.2.6.2
		 * requires.
		 */
		r = do_fallocate(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
		if (r == 0) {
			if (!unmap)
				(void)do_fallocate(d, FALLOC_FL_KEEP_SIZE, offset, len);
			return 0;
		}
		if (!no_fallocate(-r))
			return r;
		if (unsupported(-r))
			d->can_write_zeroes = false;
	}
	return write_zero_buffers(d, offset, len);
}
