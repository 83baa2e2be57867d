#include "ops/activation.h"

#include "dispatch.h"
#include "threads.h"

#define ACTIVATION_KERNELS(T, sfx)                                                                              \
    typedef void sfx##_activation_ukernel(size_t n, const T *x, T *y, T slope, T lo, T hi);                   \
    sfx##_activation_ukernel fc_##sfx##_activation_ukernel__scalar, fc_##sfx##_activation_ukernel__avx2,      \
        fc_##sfx##_activation_ukernel__avx512f;

ACTIVATION_KERNELS(float, f32)
ACTIVATION_KERNELS(double, f64)

/* Elements per task: large enough to amortize scheduling, small enough to balance threads. */
#define ACTIVATION_CHUNK 16384

#ifdef FC_HAVE_X86_VARIANTS
#define KERNEL_FOR_ISA(sfx, isa)                                                                               \
    ((isa) == FC_ISA_AVX512 ? fc_##sfx##_activation_ukernel__avx512f                                           \
     : (isa) == FC_ISA_AVX2 ? fc_##sfx##_activation_ukernel__avx2                                              \
                            : fc_##sfx##_activation_ukernel__scalar)
#else
#define KERNEL_FOR_ISA(sfx, isa) fc_##sfx##_activation_ukernel__scalar
#endif

/* Work is split into chunks that never straddle a plane, so each has one slope. */
#define ACTIVATION_OPERATOR(T, sfx)                                                                            \
    void fc_##sfx##_activation(size_t planes, size_t plane_size, size_t channels, const T *x, T *y,            \
                               const T *slope, T lo, T hi) {                                                   \
        sfx##_activation_ukernel *kernel = KERNEL_FOR_ISA(sfx, fc_active()->isa);                              \
        const size_t chunks_per_plane = (plane_size + ACTIVATION_CHUNK - 1) / ACTIVATION_CHUNK;                \
        const size_t tasks = planes * chunks_per_plane;                                                        \
        _Pragma("omp parallel for schedule(static) if (planes * plane_size > 4 * ACTIVATION_CHUNK)")           \
        for (size_t t = 0; t < tasks; t++) {                                                                   \
            const size_t p = t / chunks_per_plane, start = t % chunks_per_plane * ACTIVATION_CHUNK;            \
            const size_t n = plane_size - start < ACTIVATION_CHUNK ? plane_size - start : ACTIVATION_CHUNK;    \
            kernel(n, x + p * plane_size + start, y + p * plane_size + start,                                  \
                   slope ? slope[p % channels] : 1, lo, hi);                                                   \
        }                                                                                                       \
    }

ACTIVATION_OPERATOR(float, f32)
ACTIVATION_OPERATOR(double, f64)
