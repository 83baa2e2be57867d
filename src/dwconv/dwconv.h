/* Depthwise convolution microkernels (NCHW, one input plane -> one output plane).
 *
 * A microkernel computes output rows [oh_begin, oh_end) of one plane. It stages the input
 * rows it needs, one at a time, into a small ring of zero-padded rows in the caller's
 * workspace (L1-sized for usual shapes), split by column phase modulo the stride:
 *
 *   phase p, index k  <-  padded column q = k * stride_width + p  (input column q - pad_left)
 *
 * so that tap kw of output column ow reads phase (kw * dw) % sw at index ow + (kw * dw) / sw:
 * contiguous, unmasked vector loads for every stride and dilation, and no padding test in
 * the inner loop. Each input row is read from memory once per plane and pass; the padded
 * copy never leaves the cache. Rows above/below the input read a zero row.
 *
 * Kernels: 3x3 and 5x5 at stride 1 and 2 (dilation 1), and kxk for any other shape; the
 * specialized ones are the generic code with the sizes as compile-time constants. */
#ifndef FASTCONV_DWCONV_DWCONV_H
#define FASTCONV_DWCONV_DWCONV_H

#include "common.h"
#include "ops/conv2d.h"

/* Staged rows are padded to a multiple of this many elements: the widest vector of any
 * ISA (16 floats), so that every full-vector load of any kernel stays inside its row. */
#define FC_DWCONV_ROW_MULTIPLE 16
/* Byte alignment of each region of the workspace. */
#define FC_DWCONV_WS_ALIGN FC_ALIGN

/* What a microkernel needs besides its pointers; built once per operator call. */
typedef struct fc_dwconv_plan fc_dwconv_plan;

/* x: the input plane (in_height x in_width, contiguous); weight: kernel_height x kernel_width
 * taps of this output channel; out: output row 0 of the plane (rows out_width apart);
 * ep: bias[0] and slope[0] are this channel's, residual its row 0 (rows
 * residual_row_stride apart); NULL pointers disable each part. workspace: the plan's
 * workspace.total_bytes, FC_ALIGN-aligned, private to the calling thread, set up once with
 * fc_dwconv_workspace_init. Only the shape's plane sizes, kernel, stride, dilation and
 * top/left padding are read. */
typedef void (*fc_f32_dwconv_ukernel)(const fc_dwconv_plan *plan, size_t oh_begin, size_t oh_end, const float *x,
                                      const float *weight, float *out, const fc_f32_epilogue *ep, void *workspace);
typedef void (*fc_f64_dwconv_ukernel)(const fc_dwconv_plan *plan, size_t oh_begin, size_t oh_end, const double *x,
                                      const double *weight, double *out, const fc_f64_epilogue *ep,
                                      void *workspace);

/* The microkernels of one ISA; `kxk` takes any shape. */
typedef struct {
    fc_f32_dwconv_ukernel k3x3s1, k3x3s2, k5x5s1, k5x5s2, kxk;
} fc_f32_dwconv_kernels;
typedef struct {
    fc_f64_dwconv_ukernel k3x3s1, k3x3s2, k5x5s1, k5x5s2, kxk;
} fc_f64_dwconv_kernels;

/* The table of an ISA (fc_active()->isa); the scalar table for one not compiled in. */
const fc_f32_dwconv_kernels *fc_f32_dwconv_kernels_for(int isa);
const fc_f64_dwconv_kernels *fc_f64_dwconv_kernels_for(int isa);

/* The best kernel of a table for a shape. */
fc_f32_dwconv_ukernel fc_f32_dwconv_select(const fc_f32_dwconv_kernels *k, const fc_conv2d_shape *s);
fc_f64_dwconv_ukernel fc_f64_dwconv_select(const fc_f64_dwconv_kernels *k, const fc_conv2d_shape *s);

/* Layout of the workspace, shared by every kernel and the operator: `slots` staged rows of
 * `row_elems` elements (stride_width phases of `phase_length`), one zero row, then the
 * row tags (ptrdiff_t per slot), row pointers (kernel_height) and tap offsets (kernel_width). */
typedef struct {
    size_t phase_length, row_elems, slots;
    size_t rows_bytes, tags_offset, pointers_offset, offsets_offset, total_bytes;
} fc_dwconv_workspace_layout;

static inline size_t fc_dwconv_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static inline fc_dwconv_workspace_layout fc_dwconv_workspace(const fc_conv2d_shape *s, size_t elem_size) {
    fc_dwconv_workspace_layout l;
    const size_t reach = (s->kernel_width - 1) * s->dilation_width / s->stride_width;
    l.phase_length = fc_dwconv_round_up(fc_dwconv_round_up(s->out_width, FC_DWCONV_ROW_MULTIPLE) + reach,
                                        FC_DWCONV_ROW_MULTIPLE);
    l.row_elems = l.phase_length * s->stride_width;
    /* Rows one output row reads span (kernel_height - 1) * dilation + 1 input rows; a ring
     * at least that long never evicts a row the current output row still needs. A power of
     * two, so that a row's slot is (row & (slots - 1)). */
    const size_t span = (s->kernel_height - 1) * s->dilation_height + 1;
    l.slots = 1;
    while (l.slots < span) l.slots *= 2;
    l.rows_bytes = fc_dwconv_round_up((l.slots + 1) * l.row_elems * elem_size, FC_DWCONV_WS_ALIGN);
    l.tags_offset = l.rows_bytes;
    l.pointers_offset = l.tags_offset + fc_dwconv_round_up(l.slots * sizeof(ptrdiff_t), FC_DWCONV_WS_ALIGN);
    l.offsets_offset =
        l.pointers_offset + fc_dwconv_round_up(s->kernel_height * sizeof(void *), FC_DWCONV_WS_ALIGN);
    l.total_bytes = l.offsets_offset + fc_dwconv_round_up(s->kernel_width * sizeof(ptrdiff_t), FC_DWCONV_WS_ALIGN);
    return l;
}

struct fc_dwconv_plan {
    fc_conv2d_shape shape;
    fc_dwconv_workspace_layout workspace;
};

/* Zeroes the zero row of a freshly allocated workspace (kernels only read it). */
void fc_dwconv_workspace_init(const fc_dwconv_plan *plan, void *workspace);

#endif
