/* Threads and workspace shared by the operators. */
#ifndef FASTCONV_THREADS_H
#define FASTCONV_THREADS_H

#include <stddef.h>

/* Threads a call may use: OpenMP's current limit for the calling thread, which
 * fastconv.set_num_threads, OMP_NUM_THREADS and threadpoolctl all set. */
int fc_max_threads(void);
void fc_set_max_threads(int n);

/* Whether the calling thread is inside an active OpenMP parallel region (where worksharing
 * loops outside a region of our own would bind to the caller's team). */
int fc_in_parallel(void);

/* Calls fn(arg, thread, threads) for thread = 0 .. threads - 1 on an OpenMP team of
 * `threads`, or directly on the calling thread when threads <= 1 (even a team of one
 * costs a few hundred nanoseconds, as much as a small layer's setup). */
void fc_run_threads(int threads, void (*fn)(void *arg, int thread, int threads), void *arg);

/* FC_ALIGN-aligned allocation of `bytes` (rounded up); NULL on failure. Free with free(). */
void *fc_alloc(size_t bytes);

/* Treats denormal inputs and results as zero on the calling thread (x86 FTZ+DAZ, Arm FZ),
 * so that tiny values, such as BatchNorm-folded weights can produce, cost no slow paths;
 * returns the previous state for fc_denormals_restore. Every thread of a team calls both. */
unsigned fc_denormals_flush(void);
void fc_denormals_restore(unsigned state);

#endif
