#include "threads.h"

#include <stdint.h>
#include <stdlib.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
int fc_max_threads(void) { return omp_get_max_threads(); }
void fc_set_max_threads(int n) { omp_set_num_threads(n); }
int fc_in_parallel(void) { return omp_in_parallel(); }
void fc_run_threads(int threads, void (*fn)(void *arg, int thread, int threads), void *arg) {
    if (threads <= 1) {
        fn(arg, 0, 1);
        return;
    }
#pragma omp parallel num_threads(threads)
    fn(arg, omp_get_thread_num(), omp_get_num_threads());
}
#else
int fc_max_threads(void) { return 1; }
void fc_set_max_threads(int n) { (void)n; }
int fc_in_parallel(void) { return 0; }
void fc_run_threads(int threads, void (*fn)(void *arg, int thread, int threads), void *arg) {
    (void)threads;
    fn(arg, 0, 1);
}
#endif

void *fc_alloc(size_t bytes) {
    size_t rounded = (bytes + FC_ALIGN - 1) / FC_ALIGN * FC_ALIGN;
    return aligned_alloc(FC_ALIGN, rounded ? rounded : FC_ALIGN);
}

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <xmmintrin.h>
#define FC_MXCSR_FTZ_DAZ 0x8040u
unsigned fc_denormals_flush(void) {
    const unsigned state = _mm_getcsr();
    _mm_setcsr(state | FC_MXCSR_FTZ_DAZ);
    return state;
}
void fc_denormals_restore(unsigned state) { _mm_setcsr(state); }
#elif defined(__aarch64__)
#define FC_FPCR_FZ (1u << 24)
unsigned fc_denormals_flush(void) {
    uint64_t state;
    __asm__ volatile("mrs %0, fpcr" : "=r"(state));
    __asm__ volatile("msr fpcr, %0" : : "r"(state | FC_FPCR_FZ));
    return (unsigned)state;
}
void fc_denormals_restore(unsigned state) { __asm__ volatile("msr fpcr, %0" : : "r"((uint64_t)state)); }
#else
unsigned fc_denormals_flush(void) { return 0; }
void fc_denormals_restore(unsigned state) { (void)state; }
#endif
