#include "threads.h"

#include <stdlib.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
int fc_max_threads(void) { return omp_get_max_threads(); }
void fc_set_max_threads(int n) { omp_set_num_threads(n); }
#else
int fc_max_threads(void) { return 1; }
void fc_set_max_threads(int n) { (void)n; }
#endif

void *fc_alloc(size_t bytes) {
    size_t rounded = (bytes + FC_ALIGN - 1) / FC_ALIGN * FC_ALIGN;
    return aligned_alloc(FC_ALIGN, rounded ? rounded : FC_ALIGN);
}
