/* Depthwise convolution microkernels (NCHW, one input plane -> one output plane).
 *
 * A microkernel computes output rows [oh_begin, oh_end) of one plane, a band of rows at a
 * time. It first stages the input rows the band needs into the caller's workspace, zero
 * padded and split into stride_height x stride_width phase planes:
 *
 *   phase (ph, pw), row i, column k  <-  padded input (i * sh + ph, k * sw + pw)
 *
 * (padded row r = input row r - pad_top; rows of `pitch` elements), so that tap (kh, kw)
 * of output (oh, ow) reads phase ((kh dh) % sh, (kw dw) % sw) at row oh + (kh dh) / sh,
 * column ow + (kw dw) / sw: contiguous vector loads for every stride and dilation, no
 * padding test in the inner loop, and each input element read from memory once.
 *
 * With pitch = out_width + (kw_count - 1) * dw / sw, output (oh, ow) sits at flat index
 * oh * pitch + ow of every tap's shifted view of a phase plane. Narrow planes are
 * computed in that flat space (vectors run across row ends, so a 7-wide plane still
 * fills 16-lane vectors), then copied out row by row through the epilogue; wide ones
 * row by row, epilogue in registers.
 *
 * Kernels: 3x3 and 5x5 at stride 1 and 2 (dilation 1), and kxk for any other shape; the
 * specialized ones are the generic code with the sizes as compile-time constants. */
#ifndef FASTCONV_DWCONV_DWCONV_H
#define FASTCONV_DWCONV_DWCONV_H

#include "common.h"
#include "ops/conv2d.h"

/* Slack, in elements, past the end of every staged region: a block of 4 of the widest
 * vectors of any ISA (16 floats), so that whole-vector and whole-block loads and stores
 * that run past a row's end stay inside the workspace. Region sizes are rounded to it. */
#define FC_DWCONV_SLACK 64
/* Byte alignment of each region of the workspace. */
#define FC_DWCONV_WS_ALIGN FC_ALIGN
/* Bytes of staged input per band: with the flat results, within a 48 KiB L1d. */
#define FC_DWCONV_BAND_BYTES (24 * 1024)
/* Planes narrower than this many elements are computed in the flat space. */
#define FC_DWCONV_FLAT_MAX_WIDTH 40

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

/* Layout of the workspace, shared by every kernel and the operator: the staged band
 * (sh * sw phase planes of `phase_elems`, each band_rows + reach_rows + 1 rows of `pitch`),
 * the flat results (band_rows rows of `pitch`), then the row pointers (kernel_height) and
 * tap offsets (kernel_height * kernel_width) of kernels too large for registers. */
typedef struct {
    size_t pitch, band_rows, reach_rows, phase_elems;
    size_t flat_offset, pointers_offset, offsets_offset, total_bytes;
    int flat;
} fc_dwconv_workspace_layout;

static inline size_t fc_dwconv_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static inline fc_dwconv_workspace_layout fc_dwconv_workspace(const fc_conv2d_shape *s, size_t elem_size) {
    fc_dwconv_workspace_layout l;
    const size_t phases = s->stride_height * s->stride_width;
    l.pitch = s->out_width + (s->kernel_width - 1) * s->dilation_width / s->stride_width;
    l.reach_rows = (s->kernel_height - 1) * s->dilation_height / s->stride_height;
    l.flat = s->out_width < FC_DWCONV_FLAT_MAX_WIDTH;
    /* Staged rows per band, within the byte budget (at least one output row). */
    const size_t budget_rows = FC_DWCONV_BAND_BYTES / (elem_size * l.pitch * phases);
    l.band_rows = budget_rows > l.reach_rows + 1 ? budget_rows - l.reach_rows - 1 : 1;
    if (l.band_rows > s->out_height) l.band_rows = s->out_height;
    l.phase_elems =
        fc_dwconv_round_up((l.band_rows + l.reach_rows + 1) * l.pitch + FC_DWCONV_SLACK, FC_DWCONV_SLACK);
    l.flat_offset = fc_dwconv_round_up(phases * l.phase_elems * elem_size, FC_DWCONV_WS_ALIGN);
    const size_t flat_bytes = l.flat ? (l.band_rows * l.pitch + FC_DWCONV_SLACK) * elem_size : 0;
    l.pointers_offset = l.flat_offset + fc_dwconv_round_up(flat_bytes, FC_DWCONV_WS_ALIGN);
    l.offsets_offset =
        l.pointers_offset + fc_dwconv_round_up(s->kernel_height * sizeof(void *), FC_DWCONV_WS_ALIGN);
    l.total_bytes = l.offsets_offset +
                    fc_dwconv_round_up(s->kernel_height * s->kernel_width * sizeof(ptrdiff_t), FC_DWCONV_WS_ALIGN);
    return l;
}

struct fc_dwconv_plan {
    fc_conv2d_shape shape;
    fc_dwconv_workspace_layout workspace;
};

/* Zeroes a freshly allocated workspace, so that no vector lane a kernel computes and then
 * discards ever reads uninitialized memory. */
void fc_dwconv_workspace_init(const fc_dwconv_plan *plan, void *workspace);

#endif
