/* Depthwise convolution microkernels (NCHW; a run of channels, one input plane -> one
 * output plane each).
 *
 * Small planes (at most FC_DWCONV_PLANAR_MAX_PIXELS outputs) are computed whole, in the
 * flat space of the output plane: output o = oh * out_width + ow reads, for tap t, element
 * o + offset[t] of a "phase plane" whose rows are out_width apart, under a per-lane mask
 * (precomputed per tap, one bit per output) that zeroes what falls in the padding. At
 * stride 1 with out_width == in_width the phase plane is the input itself: no copy at all;
 * otherwise the input is first split into stride_height x stride_width phase planes
 *
 *   phase (ph, pw), row i, column k  <-  input (i * sh + ph, k * sw + pw)
 *
 * so that every tap is again one contiguous (masked) vector load. Vectors run across row
 * ends, so a 7x7 plane fills 16-lane vectors, and a call does many channels with one setup.
 *
 * Larger planes go a band of rows at a time: the band is staged into the caller's
 * workspace, zero padded and split into phase planes of padded coordinates
 * (padded row r = input row r - pad_top; rows of `pitch` elements), so that tap (kh, kw)
 * of output (oh, ow) reads phase ((kh dh) % sh, (kw dw) % sw) at row oh + (kh dh) / sh,
 * column ow + (kw dw) / sw: contiguous vector loads for every stride and dilation, no
 * padding test in the inner loop, and each input element read from memory once.
 *
 * With pitch = out_width + (kw_count - 1) * dw / sw, output (oh, ow) sits at flat index
 * oh * pitch + ow of every tap's shifted view of a phase plane. Narrow planes are
 * computed in that flat space, then copied out row by row through the epilogue; wide ones
 * row by row, epilogue in registers.
 *
 * Two methods come before those where they apply. Small planes (at most
 * FC_DWCONV_INTERLEAVED_MAX_PIXELS outputs and FC_DWCONV_INTERLEAVED_MAX_PADDED_PIXELS
 * padded inputs), and larger ones whose kernel has many taps per phase (see
 * FC_DWCONV_INTERLEAVED_MIN_TAPS_PER_PHASE), are interleaved: a group of one vector's worth
 * of channels is transposed (in registers, a vector square at a time) into a zero-padded
 * plane of pixel vectors,
 * channel c in lane c (NCHWc, inside the kernel only), where every tap of every output is
 * one aligned vector load times a vector of the group's weights: no masks, no lanes lost
 * to row ends, per-channel setup paid once per group. The results are activated there
 * (slopes are vectors of the group's) and transposed back, or transposed back first and
 * finished per channel when a residual is added. Padded pixel (r, c) is vector
 * r * padded_width + c, vectors FC_DWCONV_LANE_BYTES apart.
 *
 * 3x3 planes at stride 1 or 2 with one column of left padding (MobileNet's) use the
 * direct method, where it applies (before small planes are interleaved, where the ISA says
 * so: fc_dispatch_table.dwconv_direct_small): output rows straight from the input rows,
 * nothing staged. A strip of output vectors (up to 3 per row at stride 1, 4 at stride 2,
 * on AVX-512) goes down the plane an output row at a time. Each input row is loaded once,
 * under the masks of the lanes inside the row, and its products with the kernel rows go to
 * the sums of every output row it feeds (three at stride 1, one or two at stride 2), carried
 * from one output row to the next. Its three tap columns are:
 *
 *   stride 1:  loads a column apart (left, center, right) on AVX-512, whose load ports run
 *              beside the FMAs; elsewhere lane shifts of the row's vectors:
 *              left = (prev[VL - 1], v[0] .. v[VL - 2]),  center = v,  right = (v[1] .., next[0])
 *   stride 2:  center = even columns of (v, v'),  right = odd ones,  left = right shifted up
 *
 * Every tap is then one FMA per output vector, with the weights in registers. Rows above or
 * below the input are skipped; output rows whose input rows all lie inside test none.
 *
 * Output rows that fit half a vector go two channels to a vector, one per half
 * (fc_dwconv_pairs_fit: 14x14 -> 7x7 and 7x7 -> 7x7 in 16 lanes). At stride 1 the rows
 * also need a lane to spare: loaded whole where the load stays inside the call's planes
 * (the lanes past each row then cleared by one AND), the pair's left and right taps are one
 * lane shift each way. Rows store as two half vectors, whole where the lanes past a row
 * land on rows stored later.
 *
 * 3x3 planes at stride 1 with one row and column of padding on every side, whose rows fit
 * a vector but do not pair (14x14 in float32 on AVX-512), are streamed where the ISA has
 * the method (fc_dispatch_table.dwconv_stream_bytes), before any other: a run of channels
 * whose planes follow each other in memory is one stream of elements, cut into vectors
 * that run across row and plane ends, so that no lane idles. A vector's left and right
 * taps are lane shifts of it and its neighbours, masked at row ends; its three kernel rows'
 * sums (three FMAs each) go to the output vector itself (middle row) and to the outputs
 * out_width lanes back (bottom row) and on (top row), masked at the plane's first and last
 * rows. A vector that holds the end of one plane and the start of the next blends the two
 * channels' weights.
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
/* Output planes of at most this many elements are computed whole (the planar method). */
#define FC_DWCONV_PLANAR_MAX_PIXELS 1024
/* Output planes of at most this many elements use the interleaved method. */
#define FC_DWCONV_INTERLEAVED_MAX_PIXELS 1024
/* Padded-plane pixels of the largest input the interleaved method takes: 64 KiB of
 * float32 vectors, about L1 (larger, stride-2 inputs go faster directly). */
#define FC_DWCONV_INTERLEAVED_MAX_PADDED_PIXELS 1024
/* Bytes of padded plane and results of the largest plane interleaved because of its taps:
 * about the L2 cache (beyond it, 3x3 stride-1 planes measured slower than banded). */
#define FC_DWCONV_INTERLEAVED_MAX_BYTES (1024 * 1024)
/* Taps per phase (stride_height * stride_width) from which a plane too large for the
 * small-plane limits is still interleaved: the transposes, about one per input and output
 * pixel, then cost less than the taps' FMAs (measured on AVX-512: 5x5 and 7x7 at stride 1
 * and 2, 4x4 and 3x3 at stride 1 gain; 3x3 at stride 2 loses). */
#define FC_DWCONV_INTERLEAVED_MIN_TAPS_PER_PHASE 4
/* Taps of the largest kernel the interleaved method takes (its offsets and weights are
 * local arrays). */
#define FC_DWCONV_INTERLEAVED_MAX_TAPS 64
/* Output planes of at most this many elements can be streamed (their edges' bit strings
 * live on the stack). */
#define FC_DWCONV_STREAM_MAX_PIXELS 1024
/* Bytes reserved per interleaved pixel: the widest vector of any ISA and dtype. */
#define FC_DWCONV_LANE_BYTES 64
/* Bits per word of the planar tap masks (at least the widest vector's lanes). */
#define FC_DWCONV_MASK_BITS 16
/* What a microkernel needs besides its pointers; built once per operator call. */
typedef struct fc_dwconv_plan fc_dwconv_plan;

/* Output rows [oh_begin, oh_end) of `channels` channels; channel i reads the input plane
 * x + i * x_channel_stride (in_height x in_width, contiguous; stride 0: channels sharing
 * one input), the kernel_height x kernel_width taps at weight + i * taps, and writes the
 * plane out + i * out_channel_stride (rows out_width apart). ep: bias[i] and slope[i] are
 * channel i's, residual its row 0 (rows residual_row_stride apart, planes out_height rows
 * apart); NULL pointers disable each part. Planar and interleaved plans take whole
 * planes only: oh_begin = 0, oh_end = out_height. workspace: the plan's
 * workspace.total_bytes, FC_ALIGN-aligned, private to the calling thread, set up once with
 * fc_dwconv_workspace_init. Only the shape's plane sizes, kernel, stride, dilation and
 * top/left padding are read. */
typedef void (*fc_f32_dwconv_ukernel)(const fc_dwconv_plan *plan, size_t channels, size_t oh_begin, size_t oh_end,
                                      const float *x, ptrdiff_t x_channel_stride, const float *weight, float *out,
                                      ptrdiff_t out_channel_stride, const fc_f32_epilogue *ep, void *workspace);
typedef void (*fc_f64_dwconv_ukernel)(const fc_dwconv_plan *plan, size_t channels, size_t oh_begin, size_t oh_end,
                                      const double *x, ptrdiff_t x_channel_stride, const double *weight, double *out,
                                      ptrdiff_t out_channel_stride, const fc_f64_epilogue *ep, void *workspace);

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

/* Layout of the workspace, shared by every kernel and the operator.
 * Direct plans: none.
 * Interleaved plans: the padded plane (padded_height x padded_width pixels, zero outside
 * the input's), the results (out_height * out_width pixels rounded up to
 * FC_DWCONV_LANE_BYTES of them, so that whole squares transpose), then the padded pixel
 * of each input pixel (in_height * in_width uint32_t).
 * Band plans: the staged band (sh * sw phase planes of `phase_elems`, each
 * band_rows + reach_rows + 1 rows of `pitch`), the flat results (band_rows rows of
 * `pitch`), then the row pointers (kernel_height) and tap offsets (kernel_height *
 * kernel_width) of kernels too large for registers.
 * Planar plans: the phase planes if `staged` (sh * sw of `phase_elems`, each phase_rows
 * rows of pitch = out_width), the tap offsets, then the tap masks: for every word w of
 * FC_DWCONV_MASK_BITS outputs and tap t, word w * taps + t has bit b set iff output
 * w * FC_DWCONV_MASK_BITS + b exists and its tap t falls inside the input. */
typedef struct {
    size_t pitch, band_rows, reach_rows, phase_elems;
    size_t flat_offset, pointers_offset, offsets_offset, total_bytes;
    int flat;
    int planar, staged, direct, streamed;
    int interleaved;
    size_t padded_height, padded_width, results_offset, positions_offset;
    size_t phase_rows, mask_words, masks_offset;
} fc_dwconv_workspace_layout;

static inline size_t fc_dwconv_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* Floor division and the matching non-negative remainder, for tap positions left of 0. */
static inline ptrdiff_t fc_dwconv_floor_div(ptrdiff_t a, ptrdiff_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Output columns [*lo, *hi) whose column tap_col + ow * stride falls inside [0, in_size). */
static inline void fc_dwconv_valid_range(ptrdiff_t tap_col, size_t stride, size_t in_size, size_t out_size,
                                         size_t *lo, size_t *hi) {
    const ptrdiff_t s = (ptrdiff_t)stride;
    const ptrdiff_t first = tap_col >= 0 ? 0 : (-tap_col + s - 1) / s;
    const ptrdiff_t last = (ptrdiff_t)in_size - 1 - tap_col; /* ow * s <= last */
    ptrdiff_t end = last < 0 ? 0 : last / s + 1;
    if (end > (ptrdiff_t)out_size) end = (ptrdiff_t)out_size;
    *lo = (size_t)first;
    *hi = end > first ? (size_t)end : (size_t)first;
}

/* Whether a plane can be computed whole in the flat output space: small enough, and every
 * column a valid output reads lies within the first out_width columns of its phase
 * plane (rows out_width apart). */
static inline int fc_dwconv_planar_fits(const fc_conv2d_shape *s) {
    if (s->out_height * s->out_width > FC_DWCONV_PLANAR_MAX_PIXELS) return 0;
    for (size_t kw = 0; kw < s->kernel_width; kw++) {
        const ptrdiff_t col = (ptrdiff_t)(kw * s->dilation_width) - (ptrdiff_t)s->pad_left;
        size_t lo, hi;
        fc_dwconv_valid_range(col, s->stride_width, s->in_width, s->out_width, &lo, &hi);
        if (hi > lo && (ptrdiff_t)(hi - 1) + fc_dwconv_floor_div(col, (ptrdiff_t)s->stride_width) >=
                           (ptrdiff_t)s->out_width)
            return 0;
    }
    return 1;
}

/* Whether the direct method applies: 3x3, stride 1 or 2, one column of left padding. */
static inline int fc_dwconv_direct_fits(const fc_conv2d_shape *s) {
    return s->kernel_height == 3 && s->kernel_width == 3 && s->dilation_height == 1 && s->dilation_width == 1 &&
           s->stride_height == s->stride_width && (s->stride_width == 1 || s->stride_width == 2) && s->pad_left == 1;
}

/* Whether the direct method puts two channels in each vector of `lanes` elements: their
 * rows side by side, each in half a vector. At stride 1 each row needs a zero lane after it
 * (the left and right taps come from one lane shift of the pair); at stride 2 each input
 * row goes in a vector with a zero lane after it (the second channel's left tap at column
 * -1 takes the first's last odd lane), each output row in half a vector. */
static inline int fc_dwconv_pairs_fit(const fc_conv2d_shape *s, size_t lanes) {
    if (lanes < 8 || !fc_dwconv_direct_fits(s)) return 0;
    if (s->stride_width == 1) return s->in_width < lanes / 2 && s->out_width < lanes / 2;
    return s->in_width < lanes && s->out_width <= lanes / 2;
}

/* Whether the streamed method applies with vectors of `lanes` elements (0: the ISA has
 * none): 3x3, stride 1, one row and column of padding on every side, rows that fit a
 * vector but do not pair up (fc_dwconv_pairs_fit: 7x7 float32 pairs ran 8 % faster),
 * planes that fill a vector (so that a vector spans at most two planes). */
static inline int fc_dwconv_streamed_fits(const fc_conv2d_shape *s, size_t lanes) {
    const size_t plane = s->in_height * s->in_width;
    return lanes > 0 && s->kernel_height == 3 && s->kernel_width == 3 && s->dilation_height == 1 &&
           s->dilation_width == 1 && s->stride_height == 1 && s->stride_width == 1 && s->pad_top == 1 &&
           s->pad_left == 1 && s->out_height == s->in_height && s->out_width == s->in_width &&
           s->in_width <= lanes && !fc_dwconv_pairs_fit(s, lanes) && plane >= lanes &&
           plane <= FC_DWCONV_STREAM_MAX_PIXELS;
}

/* direct_small: small planes go to the direct method where it applies, not the
 * interleaved one (the ISA's choice: fc_dispatch_table.dwconv_direct_small). */
static inline fc_dwconv_workspace_layout fc_dwconv_workspace(const fc_conv2d_shape *s, size_t elem_size,
                                                             int direct_small, size_t stream_bytes) {
    fc_dwconv_workspace_layout l = {0};
    const size_t lanes = stream_bytes / elem_size;
    if (fc_dwconv_streamed_fits(s, lanes)) {
        l.streamed = 1; /* nothing staged */
        return l;
    }
    const size_t phases = s->stride_height * s->stride_width, taps = s->kernel_height * s->kernel_width;
    /* Every row and column a tap reads, and every input row and column. */
    const size_t read_rows = (s->out_height - 1) * s->stride_height + (s->kernel_height - 1) * s->dilation_height + 1;
    const size_t read_cols = (s->out_width - 1) * s->stride_width + (s->kernel_width - 1) * s->dilation_width + 1;
    const size_t padded_height = read_rows > s->pad_top + s->in_height ? read_rows : s->pad_top + s->in_height;
    const size_t padded_width = read_cols > s->pad_left + s->in_width ? read_cols : s->pad_left + s->in_width;
    /* Small planes, except those that go direct: at stride 1 rows that fill half a vector
     * are 8-11 % faster interleaved, unless two channels pair up in a vector (7x7 float32
     * on AVX-512). */
    const int narrow = s->stride_width == 1 && s->out_width * elem_size <= FC_DWCONV_LANE_BYTES / 2 &&
                       !fc_dwconv_pairs_fit(s, lanes);
    const int small = !(direct_small && fc_dwconv_direct_fits(s) && !narrow) &&
                      s->out_height * s->out_width <= FC_DWCONV_INTERLEAVED_MAX_PIXELS &&
                      padded_height * padded_width <= FC_DWCONV_INTERLEAVED_MAX_PADDED_PIXELS;
    const size_t interleaved_bytes = (padded_height * padded_width + s->out_height * s->out_width) *
                                     FC_DWCONV_LANE_BYTES;
    const int pays = taps >= FC_DWCONV_INTERLEAVED_MIN_TAPS_PER_PHASE * phases &&
                     interleaved_bytes <= FC_DWCONV_INTERLEAVED_MAX_BYTES && !fc_dwconv_direct_fits(s);
    if (taps <= FC_DWCONV_INTERLEAVED_MAX_TAPS && (small || pays)) {
        l.interleaved = 1;
        l.padded_height = padded_height;
        l.padded_width = padded_width;
        l.results_offset = l.padded_height * l.padded_width * FC_DWCONV_LANE_BYTES;
        l.positions_offset = l.results_offset + fc_dwconv_round_up(s->out_height * s->out_width, FC_DWCONV_LANE_BYTES) *
                                                    FC_DWCONV_LANE_BYTES;
        l.total_bytes = l.positions_offset +
                        fc_dwconv_round_up(s->in_height * s->in_width * sizeof(uint32_t), FC_DWCONV_WS_ALIGN);
        return l;
    }
    l.direct = fc_dwconv_direct_fits(s);
    if (l.direct) {
        l.total_bytes = 0; /* nothing staged */
        return l;
    }
    l.planar = fc_dwconv_planar_fits(s);
    if (l.planar) {
        /* Stride 1 with out_width == in_width: the input is its own phase plane. */
        l.staged = phases > 1 || s->out_width != s->in_width;
        l.pitch = s->out_width;
        l.phase_rows = (s->in_height + s->stride_height - 1) / s->stride_height;
        l.phase_elems = fc_dwconv_round_up(l.phase_rows * l.pitch + FC_DWCONV_SLACK, FC_DWCONV_SLACK);
        l.offsets_offset = fc_dwconv_round_up((l.staged ? phases : 0) * l.phase_elems * elem_size, FC_DWCONV_WS_ALIGN);
        l.masks_offset = l.offsets_offset + fc_dwconv_round_up(taps * sizeof(ptrdiff_t), FC_DWCONV_WS_ALIGN);
        l.mask_words = (s->out_height * s->out_width + FC_DWCONV_MASK_BITS - 1) / FC_DWCONV_MASK_BITS;
        l.total_bytes = l.masks_offset + fc_dwconv_round_up(l.mask_words * taps * sizeof(uint16_t), FC_DWCONV_WS_ALIGN);
        return l;
    }
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
    l.total_bytes = l.offsets_offset + fc_dwconv_round_up(taps * sizeof(ptrdiff_t), FC_DWCONV_WS_ALIGN);
    return l;
}

struct fc_dwconv_plan {
    fc_conv2d_shape shape;
    fc_dwconv_workspace_layout workspace;
};

/* Zeroes a freshly allocated workspace, so that no vector lane a kernel computes and then
 * discards ever reads uninitialized memory, and fills in a planar plan's tap offsets and masks. */
void fc_dwconv_workspace_init(const fc_dwconv_plan *plan, void *workspace);

#endif
