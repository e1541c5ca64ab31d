/* The qcow2 format behind struct disk: private to src/backend (disk.c dispatches to it). */
#ifndef RV_BACKEND_QCOW2_H
#define RV_BACKEND_QCOW2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backend/disk.h"

/*
 * Read and check the header of the image open (and locked) on d->fd,
 * file_size bytes long; on success d->qcow2 and d->size (the virtual size,
 * rounded down to whole sectors) are set. Returns 0 or -errno with one
 * line in err naming the path and the reason.
 */
int qcow2_open(struct disk *d, uint64_t file_size, char *err, size_t errlen);
void qcow2_close(struct disk *d);

/* Guest byte ranges already checked against d->size (and d->readonly for writes); 0 or -errno. */
int qcow2_readv(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset);
int qcow2_writev(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset);

#endif
