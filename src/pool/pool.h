/* Pooling microkernels: one table per (dtype, ISA), filled by the pool__<isa>.c files from
 * src/pool/pool-template.h and read by src/ops/pool2d.c.
 *
 * A 2-D window is separable, so the operator reduces it in two passes:
 *   vpass: the rows of each window, element-wise, into a row buffer padded at both ends
 *          with the identity of the reduction (-inf for max, 0 for sum);
 *   hpass: each window's columns of that buffer, into the output row.
 * The hpass reads past the last window by up to POOL_HPASS_SLACK_BYTES, so the buffer
 * carries that much initialised slack: whole vectors then cover every row's tail. It may
 * also store whole vectors past a row's end, up to out_room elements from `out` (at least
 * rows * n): the operator passes the rest of the output plane, whose rows it writes later,
 * so only a plane's last row ends lane by lane. */
#ifndef FASTCONV_POOL_POOL_H
#define FASTCONV_POOL_POOL_H

#include <stddef.h>

/* Bytes an hpass may read past the last element a window covers: two zmm registers
 * (the stride-2 kernels load 2 vectors per output vector). */
#define POOL_HPASS_SLACK_BYTES 128

/* Both passes run over `rows` rows at once, so that a call costs little next to a short
 * row (CNN planes are often 7 to 56 wide).
 *
 * vpass: out[r * out_pitch + j] = max (sum) over t < taps of
 *        first_row[r * row_step + t * tap_stride + j], for r < rows, j < n; taps >= 1. */
#define FC_POOL_VPASS(T, name)                                                                      \
    void (*name)(size_t rows, size_t taps, const T *first_row, size_t row_step, size_t tap_stride, \
                 size_t n, T *out, size_t out_pitch)

/* max hpass: out[r * n + i] = max over k < kernel of in[r * in_pitch + i * stride + k * dilation],
 * for r < rows, i < n; the variants fix some of (kernel, stride, dilation) and ignore the
 * arguments they fix. */
#define FC_POOL_MAX_HPASS(T, name)                                                                  \
    void (*name)(size_t rows, size_t n, size_t kernel, size_t stride, size_t dilation, const T *in, \
                 size_t in_pitch, T *out, size_t out_room)

/* sum hpass: out[r * n + i] = (sum over k < kernel of in[r * in_pitch + i * stride + k])
 * * row_scale * col_scale[i]; col_scale has the hpass's slack too, or is NULL: all ones. */
#define FC_POOL_SUM_HPASS(T, name)                                                                  \
    void (*name)(size_t rows, size_t n, size_t kernel, size_t stride, const T *in, size_t in_pitch, \
                 const T *col_scale, T row_scale, T *out, size_t out_room)

#define FC_DEFINE_POOL_UKERNELS(T, name)                                                            \
    typedef struct {                                                                                \
        FC_POOL_VPASS(T, max_vpass);                                                                \
        FC_POOL_VPASS(T, sum_vpass);                                                                \
        FC_POOL_MAX_HPASS(T, max_hpass);     /* any stride, one output at a time */                 \
        FC_POOL_MAX_HPASS(T, max_hpass_s1);  /* stride 1 */                                         \
        FC_POOL_MAX_HPASS(T, max_hpass_s2);  /* stride 2 */                                         \
        FC_POOL_MAX_HPASS(T, max_hpass_2s2); /* kernel 2, stride 2, dilation 1 */                   \
        FC_POOL_MAX_HPASS(T, max_hpass_3s2); /* kernel 3, stride 2, dilation 1 */                   \
        FC_POOL_SUM_HPASS(T, sum_hpass);                                                            \
        FC_POOL_SUM_HPASS(T, sum_hpass_s1);                                                         \
        FC_POOL_SUM_HPASS(T, sum_hpass_s2);                                                         \
        /* The max (NaN if any) and the sum of x[0:n], n >= 1. */                                  \
        T (*max_reduce)(size_t n, const T *x);                                                      \
        T (*sum_reduce)(size_t n, const T *x);                                                      \
    } name

FC_DEFINE_POOL_UKERNELS(float, fc_f32_pool_ukernels);
FC_DEFINE_POOL_UKERNELS(double, fc_f64_pool_ukernels);

/* The tables of one ISA (an enum fc_isa value); the portable ones for ISAs not compiled in. */
const fc_f32_pool_ukernels *fc_f32_pool_ukernels_for(int isa);
const fc_f64_pool_ukernels *fc_f64_pool_ukernels_for(int isa);

#endif
