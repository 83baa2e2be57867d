/* Shared definitions of the fastconv C layer: types, epilogue parameters, status codes.
 * C only; no Python headers anywhere under src/. */
#ifndef FASTCONV_COMMON_H
#define FASTCONV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FC_OK 0
#define FC_ENOMEM 1

/* Alignment of every buffer fastconv allocates: one cache line, one zmm register. */
#define FC_ALIGN 64

/* What happens to an output tile while it is still in registers, in this order:
 *   v = acc + bias[row] + residual[row][col]
 *   v = v < 0 ? v * slope[row] : v          (LeakyReLU / PReLU)
 *   v = min(max(v, min), max)               (ReLU, ReLU6, clamp)
 * Every pointer may be NULL; min = -inf, max = +inf disable the clamp.
 * Pointers refer to the first row/column of the tile or operator they are given to. */
#define FC_DEFINE_EPILOGUE(T, name)                                                         \
    typedef struct {                                                                        \
        const T *bias;                                                                      \
        const T *slope;                                                                     \
        const T *residual;                                                                  \
        ptrdiff_t residual_row_stride;                                                      \
        T min, max;                                                                         \
    } name

FC_DEFINE_EPILOGUE(float, fc_f32_epilogue);
FC_DEFINE_EPILOGUE(double, fc_f64_epilogue);

/* out[0:mr, 0:nr] (+)= a[kc x MR panel] * b[kc rows of NR, ldb apart], then the epilogue
 * (NULL: plain store). accumulate != 0 adds the existing out values first, before the
 * epilogue. Requires mr <= MR, nr <= NR, and b rows readable for NR elements. */
typedef void (*fc_f32_gemm_ukernel)(size_t mr, size_t nr, size_t kc, const float *a,
                                    const float *b, size_t ldb, float *out, size_t ldo,
                                    int accumulate, const fc_f32_epilogue *ep);
typedef void (*fc_f64_gemm_ukernel)(size_t mr, size_t nr, size_t kc, const double *a,
                                    const double *b, size_t ldb, double *out, size_t ldo,
                                    int accumulate, const fc_f64_epilogue *ep);

#endif
