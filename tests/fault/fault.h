/* Fault injection for tests: make the Nth allocation or the Nth file access of a process fail. */
#ifndef VB_TEST_FAULT_H
#define VB_TEST_FAULT_H

/* The fault-injection build (CMake option VB_FAULT_INJECTION) links every
 * program with `ld --wrap` for the calls below and with fault.c, which
 * counts them and fails one on request:
 *
 *   allocations: malloc, calloc, realloc, aligned_alloc, posix_memalign,
 *                strdup, strndup (fail with NULL or ENOMEM)
 *   file access: open, fopen, read, pread, fread (fail with EIO)
 *
 * Only calls from the objects of this project are counted; libraries such
 * as libjpeg, libpng, jansson and libxml2 allocate and read on their own.
 *
 * A process arms itself from the environment at its first counted call:
 * VB_FAULT_ALLOC=N fails the Nth allocation and VB_FAULT_IO=N the Nth file
 * access (both count from 1; unset or 0 never fails). When VB_FAULT_LOG
 * names a file, the process appends one line
 * "fired KIND N pid P" when it fails a call, so a sweep can detect that N
 * has passed the last call. In a build with AddressSanitizer, VB_FAULT_STACK
 * (any value) prints the stack of every failed call to stderr.
 * A forked child inherits the counters and keeps counting. */

/* Resets both counters and fails the alloc_n-th allocation and the io_n-th
 * file access from now on (0 never fails). Overrides the environment. */
void vbFaultArm(long alloc_n, long io_n);

/* Stops failing calls; the counters keep counting. */
void vbFaultDisarm(void);

/* Returns the number of allocations and of file accesses counted since the
 * last vbFaultArm (or process start). */
long vbFaultAllocCount(void);
long vbFaultIoCount(void);

/* Returns nonzero when a call has been failed since the last vbFaultArm. */
int vbFaultFired(void);

#endif /* VB_TEST_FAULT_H */
