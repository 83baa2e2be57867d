/* conv2d as a GEMM over a staged input, with no im2col matrix.
 *
 * out[n, co, oh, ow] = sum_k weight[co, k] * B[k, (oh, ow)], k = (c, kh, kw): for a fixed
 * tap the B values of consecutive output pixels are consecutive input elements once the
 * input is padded and split into stride phases ("staged"): element (c, oh*sh + kh*dh - pt,
 * ow*sw + kw*dw - pl) is at plane (c, phase of tap) row oh + (kh*dh)/sh, column
 * ow + (kw*dw)/sw. So B row k is just the staged input read at a per-tap offset, and a
 * tile of NR "wide" pixels (rows Wq wide: OW real columns, then the kernel's reach in
 * columns that are computed and dropped) reads NR contiguous elements per k. The weights
 * are read as they are (MR rows at a time). With stride 1 and no padding, x itself is the staged
 * input. Only the last tile(s) of a buffer, whose dropped columns would read past its end,
 * are copied into a scratch tile first. Where a row's last tile, run as one-vector tails,
 * wastes less than the dropped columns, tiles take each row apart instead. On narrow maps,
 * where dropped columns waste much of a tile, each tap column can instead be staged as a
 * plane of its own ("expanded": rows hold just the OW real columns), at the price of KW
 * copies of the input. Plans (and calls
 * whose work pays for packing) may run "transposed" tiles instead: MR pixels (of one row, of
 * the wide band as regular tiles take them, or of the output pixels in a sequence) x NR
 * output channels, over weights packed by tap, so that a tile skips the kernel rows (and,
 * on AVX-512, columns) that read padding for all its pixels. Transposed tiles that read no
 * padding at all (compact tiles of an unpadded layer; tiles of one row where only up to
 * three edge pixels a side read padding, and skip it on their own) read x itself at its
 * strides: nothing is staged. */
#include "ops/conv2d.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"

/* Bytes of staged input per band: a padded copy of the input as long as it fits, L2-sized
 * bands of output rows beyond that, so that the workspace stays bounded. */
#define CONV_STAGE_BYTES (1024 * 1024)
/* Bytes of staged input that the threads' own buffers (one band of one group each) hold
 * together: twice one shared band's, so that at 2 threads each holds a whole 64-channel 56x56
 * image (half-image bands measured 6 % slower, no faster than the shared band). */
#define CONV_OWN_STAGE_BYTES (2 * CONV_STAGE_BYTES)
/* B bytes that the tiles of one block read: they stay in L2 while each A panel passes over them. */
#define CONV_BLOCK_BYTES (512 * 1024)
/* Below this many FLOPs a call runs on the calling thread: waking the team costs more. */
#define CONV_PARALLEL_FLOPS 200000.0
/* Most runs a tile can have: one per wide row it touches, and a row is at least 1 wide. */
#define FC_MAX_TILE_RUNS 64
/* Most pixels of a transposed tile that reads them through offsets (compact tiles, tiles of
 * one row of x at a column stride): the k loop keeps one offset per pixel in registers. */
#define CONV_MAX_OFFSET_PIXELS 16
/* Most pixels of any transposed tile. */
#define CONV_MAX_TILE_PIXELS 24
/* A tile whose pixels are read through their offsets runs this much slower than one of
 * consecutive pixels (measured: 0-3 % on ResNet-18's layers forced compact). */
#define CONV_OFFSET_STEP_COST 1.02
/* A tile stored in several runs costs this many k steps more per run beyond the first
 * (each is a masked store per channel). */
#define CONV_RUN_STORE_COST 2.0
/* Compact tiles take the edge columns first only where those columns' taps that read padding
 * are at least this fraction of a plane's taps, and the plane has at most this many pixels
 * (choosing costs a pass over the pixels). */
#define CONV_EDGE_MIN_PADDED 0.03
#define CONV_EDGE_MAX_PIXELS 4096
/* Fewest rows of a one-vector tail tile that keep both FMA pipes busy (4 cycles of latency
 * each): AVX2's 6x8 tails, as the last tile of each row, made 3x3 64->64 @56 9 % slower. */
#define CONV_TAIL_MIN_ROWS 8
/* A tile must save this fraction of the default's work to be chosen over it. */
#define CONV_TILE_MARGIN 0.03
/* Epilogue cost of a tile in k steps (measured: a regular tile's register store is nearly
 * free; a transposed tile's store, through in-register transposes and masked stores into
 * as many planes as it has channels, costs about 14 k steps). */
#define CONV_STORE_COST 4.0
#define CONV_TRANSPOSED_STORE_COST 14.0
/* A regular tile whose weight panel (MR rows read in place, K apart) has at least this many
 * elements runs its k steps this much slower than the model's other tiles (measured: 3x3
 * 64->64 @56, 1x7 128->128 @17 and batch 8 run 3-4 % faster on transposed tiles, which the
 * model had priced 2 % dearer; 1x1 64->384 @14, a short panel, 2.5 % slower). */
#define CONV_LONG_PANEL_ELEMENTS 3072
#define CONV_LONG_PANEL_STEP_COST 1.04
/* Staging one element costs about this many multiply-adds (~0.3 ns against ~0.01 ns). */
#define CONV_STAGE_COST 32.0
/* Packing one weight for transposed tiles costs about this many pixels' worth of its
 * multiply-adds (~0.5 ns against ~0.017 ns on Zen 4, in cache). Measured in calls, where the
 * packed buffer's pages are new each time: at 25, ResNeXt's g32 3x3 @14 and @7 pack and run
 * 7 % faster; at 20, 3x3 512->512 @7 (9.4 MB of weights) would pack and run 27 % slower. */
#define CONV_PACK_COST 25.0
/* Weights packed beyond this many bytes go to memory and back: 3x3 512->512 @7 (9.4 MB)
 * packs and runs 9 % slower than regular tiles, which the model had priced 3 % dearer;
 * float64 3x3 256->256 @14 (4.7 MB) packs and runs 8 % faster. */
#define CONV_PACK_CACHED_BYTES (8 * 1024 * 1024)
/* Staging an element costs about this many multiply-adds, where methods that stage are
 * weighed against ones that do not (measured: 11-16 on 1x1 s2 layers, which spend 6-9 % of
 * a call on it; 28 on 3x3 s2 288->384 @35, whose staged planes outgrow L2; 13 on 7x1
 * 128->128 @17). At CONV_STAGE_COST, compact tiles would take 1x1 s2 64->128 @56 from
 * regular ones, 13 % slower. */
#define CONV_STAGE_ELEMENT_COST 16.0
/* Shared staging of a band that every thread then reads costs each thread its reads of lines
 * that another core wrote, and a barrier: each thread stages the whole band itself instead
 * where its copy (priced by CONV_STAGE_COST, which is high: 3x3 s2 64->128 @56, when it
 * staged, was priced at 12 % of a call, measured 5 %) is at most this fraction of its share
 * of the multiply-adds. */
#define CONV_COPY_STAGE_FRACTION 0.25
/* Staged planes per scheduling step: small enough that an idle thread can take over. */
#define CONV_STAGE_PLANES_PER_TASK 4
/* Weight packing for transposed tiles: weight rows gathered at once,
 * and the size above which the panels are packed by the whole team. */
#define CONV_PACK_ROWS 8
#define CONV_PACK_PARALLEL_ELEMENTS (256 * 1024)
/* Tasks per thread to aim for, so that dynamic scheduling evens out ragged ones. */
#define CONV_TASKS_PER_THREAD 2
/* Tasks per thread from which a task count that the threads do not divide is shared out
 * anyway: a thread then runs at most one task in this many more than another. */
#define CONV_RAGGED_TASKS_PER_THREAD 8

/* How transposed tiles take the pixels of a band. */
typedef enum {
    CONV_TILES_PER_ROW, /* one output row at a time: each skips exactly the kernel rows that read padding */
    CONV_TILES_WIDE,    /* across the band's wide rows, as regular tiles (dropped columns computed, not stored) */
    CONV_TILES_COMPACT, /* the output pixels in a sequence (see conv_compact_pixel), each read at its own
                         * offset: none dropped, and each tile skips the taps that read padding for all
                         * its pixels */
} conv_tile_order;

/* How transposed tiles take the pixels: the order, and for compact tiles the edge columns
 * taken first. */
typedef struct {
    conv_tile_order order;
    size_t edge_left, edge_right;
} conv_tiling;

/* The kernel columns [kw0, kw1) that a transposed tile computes, and the steps of each run
 * that skip some of its edge pixels (`edges`, all 0: none), `skipped` pixel-steps in all. */
typedef struct {
    size_t kw0, kw1;
    fc_tile_edges edges;
    size_t skipped;
} conv_tile_columns;

typedef struct {
    int staged;            /* copy the input into padded phase planes (else read x) */
    size_t slots_h;        /* distinct row phases (kh*dh) % sh of the taps: 1 unless staged */
    size_t slots_w;        /* distinct column phases */
    size_t band_rows;      /* output rows per band */
    size_t plane_rows;     /* rows of one staged plane: band_rows + the kernel's reach */
    size_t row_width;      /* Wq: elements per wide row of the B source */
    size_t pixel_step_h;   /* B elements between output pixels one row apart (row_width) and one */
    size_t pixel_step_w;   /* column apart (1); stride * W and stride on x read with strides */
    ptrdiff_t tap_origin;  /* B offset of tap (0, 0) from its output pixel: 0, or on padded x -(pt * W + pl) */
    int x_rows;            /* transposed tiles of one row read x, skipping every tap that reads padding */
    size_t plane_size;     /* elements between planes of the B source */
    size_t panel_rows;     /* output channels per weight panel */
    size_t tile_width;     /* wide pixels a tile spans: NR, or MR for transposed tiles */
    int transposed;        /* tiles of pixels x output channels, over weights packed for them */
    conv_tiling tiling;    /* how tiles take a band's pixels (regular ones: wide, or per row) */
    size_t segments;       /* CONV_TILES_PER_ROW: tiles per output row */
    conv_tile_columns *row_columns; /* and the columns of each (alike in every row), or NULL */
    size_t channel_block;  /* transposed tiles' k order: see conv_channel_block */
    size_t tiles_per_block;
    size_t panel_chunks;   /* weight panels are split evenly (sizes differ by at most one) into this many tasks */
    int own_staging;       /* a task stages one group of one band into its thread's buffer and runs all
                            * its tiles: enough of them for the threads (groups, images, bands), and
                            * no barrier, no staged plane read by another core */
    int copy_staging;      /* else each thread stages every group of a band into a buffer of its own,
                            * then runs any of the band's tasks: no barrier, no plane read by another core */
    size_t *tap_slot_h, *tap_row; /* per kh: phase slot and staged row offset */
    size_t *tap_slot_w, *tap_col; /* per kw */
    size_t *slot_phase_h, *slot_phase_w;
} conv_layout;

/* The GEMM's reduction length: taps of one group's input channels. */
static size_t conv_k_size(const fc_conv2d_shape *s) {
    return s->in_channels / s->groups * s->kernel_height * s->kernel_width;
}

/* x can serve as the staged input only with stride 1 and no padding. */
static int conv_needs_staging(const fc_conv2d_shape *s) {
    return s->pad_top || s->pad_left || s->stride_height > 1 || s->stride_width > 1 ||
           s->out_height != s->in_height - (s->kernel_height - 1) * s->dilation_height ||
           s->out_width != s->in_width - (s->kernel_width - 1) * s->dilation_width;
}

/* Whether every tap reads inside the input (no padding). */
static int conv_reads_inside(const fc_conv2d_shape *s) {
    return !s->pad_top && !s->pad_left &&
           (s->out_height - 1) * s->stride_height + (s->kernel_height - 1) * s->dilation_height < s->in_height &&
           (s->out_width - 1) * s->stride_width + (s->kernel_width - 1) * s->dilation_width < s->in_width;
}

/* Elements per wide row of staged planes. With column stride 1, one gap of zeros serves
 * as the right padding of a row and the left padding of the next (any read past a row's
 * data lands in a gap at least as wide as the padding it stands for), so fewer dropped
 * columns are computed: max(pl, pr) instead of pl + pr beyond W. */
static size_t conv_staged_row_width(const fc_conv2d_shape *s) {
    const size_t reach_w = (s->kernel_width - 1) * s->dilation_width;
    if (s->stride_width > 1) return s->out_width + reach_w / s->stride_width;
    const size_t pad_right = s->out_width + reach_w - s->in_width - s->pad_left;
    const size_t width = s->in_width + (s->pad_left > pad_right ? s->pad_left : pad_right);
    return width > s->out_width ? width : s->out_width;
}

/* Elements per wide row of the B source. "Expanded" staging copies each tap column into a
 * plane of its own (the input shifted by that tap), so that rows hold only the OW real
 * columns: KW copies of the input instead of one, for no dropped columns. */
static size_t conv_row_width(const fc_conv2d_shape *s, int expanded) {
    if (expanded) return s->out_width;
    return conv_needs_staging(s) ? conv_staged_row_width(s) : s->in_width;
}

/* The taps [*first, *last) of `taps` along one axis whose input falls inside for output
 * position o (the others read padding only). Both fall as o grows. */
static void conv_axis_taps(size_t o, size_t stride, size_t pad, size_t dilation, size_t in_size, size_t taps,
                           size_t *first, size_t *last) {
    const ptrdiff_t top = (ptrdiff_t)(o * stride) - (ptrdiff_t)pad; /* input position of tap 0 */
    const ptrdiff_t d = (ptrdiff_t)dilation, n = (ptrdiff_t)in_size;
    ptrdiff_t lo = top >= 0 ? 0 : -top, hi = top >= n ? 0 : n - top;
    if (d > 1) { /* tiles ask per call and panel: no division in the common case */
        lo = (lo + d - 1) / d;
        hi = (hi + d - 1) / d;
    }
    *last = hi < (ptrdiff_t)taps ? (size_t)hi : taps;
    *first = lo < (ptrdiff_t)*last ? (size_t)lo : *last;
}

/* The kernel rows whose taps read inside the input for output row oh: a transposed tile
 * skips the others for all its pixels by a range of k. */
static void conv_row_taps(const fc_conv2d_shape *s, size_t oh, size_t *first, size_t *last) {
    conv_axis_taps(oh, s->stride_height, s->pad_top, s->dilation_height, s->in_height, s->kernel_height, first, last);
}

/* The kernel columns that read inside the input for output column ow. */
static void conv_col_taps(const fc_conv2d_shape *s, size_t ow, size_t *first, size_t *last) {
    conv_axis_taps(ow, s->stride_width, s->pad_left, s->dilation_width, s->in_width, s->kernel_width, first, last);
}

/* Output pixel `pos` (row *r of the band, column *ow) of a band of `rows` rows in compact
 * order: the edge_left leftmost columns, then the edge_right rightmost ones (outermost
 * first), each top to bottom, then the other columns row by row. Without edge columns,
 * that is the band's pixels in order. */
static void conv_compact_pixel(const fc_conv2d_shape *s, const conv_tiling *tiling, size_t rows, size_t pos,
                               size_t *r, size_t *ow) {
    const size_t edges = tiling->edge_left + tiling->edge_right;
    if (pos < edges * rows) {
        const size_t column = pos / rows;
        *r = pos % rows;
        *ow = column < tiling->edge_left ? column : s->out_width - 1 - (column - tiling->edge_left);
        return;
    }
    const size_t inner = s->out_width - edges, q = pos - edges * rows;
    *r = q / inner;
    *ow = tiling->edge_left + q % inner;
}

/* The pixel after (*r, *ow) in compact order (no division: tiles walk their pixels). */
static void conv_compact_next(const fc_conv2d_shape *s, const conv_tiling *tiling, size_t rows, size_t *r,
                              size_t *ow) {
    const size_t left = tiling->edge_left, inner_end = s->out_width - tiling->edge_right;
    if (*ow >= left && *ow < inner_end) { /* the inner columns, row by row */
        if (++*ow == inner_end) *ow = left, ++*r;
        return;
    }
    if (++*r < rows) return; /* an edge column, top to bottom */
    *r = 0;
    if (*ow < left) /* the next left column, else the outermost right one, else the inner ones */
        *ow = *ow + 1 < left ? *ow + 1 : tiling->edge_right ? s->out_width - 1 : left;
    else
        *ow = *ow > inner_end ? *ow - 1 : left;
}

/* Input channels per block of the transposed tiles' k order (kh, channel block, kw, channel):
 * the largest divisor of the group's channels from the active ISA's most (its
 * transposed_channel_block) down to half of it, else all of them. A tile that skips kernel
 * columns runs over the kept ones block by block; the kernel columns of a block read the
 * same input rows one after another, which stay in L1 (against all channels per kernel
 * column, on AVX-512: 1x7 128->128 @17 +4 %, 3x3 512->512 @7 +2 %). With blocks of 1 (the
 * stored order), tiles skip no kernel columns: their runs would be a few k steps long. */
static size_t conv_channel_block(const fc_conv2d_shape *s) {
    const size_t cin_g = s->in_channels / s->groups, most = fc_active()->transposed_channel_block;
    for (size_t b = most; b >= (most + 1) / 2; b--)
        if (cin_g % b == 0) return b;
    return cin_g;
}

/* Transposed k of tap (kh, kw) of channel c: conv_transposed_tap_k(kh, kw) +
 * conv_transposed_k(c), the channel's part found once per channel (it divides), with
 * k_per_row = KW * channels per group (callers hold it: no division per k). */
static size_t conv_transposed_tap_k(size_t k_per_row, size_t block, size_t kh, size_t kw) {
    return kh * k_per_row + kw * block;
}

static size_t conv_transposed_k(const fc_conv2d_shape *s, size_t block, size_t c) {
    return c / block * s->kernel_width * block + c % block;
}

/* The k steps of a transposed tile: k_runs runs of kc steps, k_run_stride apart from k0,
 * over its columns (each run's first and last steps skip its columns' edge pixels). */
typedef struct {
    size_t k0, kc, k_runs, k_run_stride;
    conv_tile_columns columns;
} conv_tile_steps;

/* Which edge pixels of a tile may skip taps on their own (conv_tile_cols): pixels 0, 1, ...
 * sit at columns ow_min, ow_min + 1, ...; with CONV_LAST_PIXELS, pixels MR - 1, MR - 2, ...
 * at ow_max, ow_max - 1, ... (one row of consecutive pixels, the tile full). */
enum { CONV_FIRST_PIXELS = 1, CONV_LAST_PIXELS = 2 };

/* How many of a tile's first pixels (from column ow_min, up to ow_max) read padding in
 * kernel column kw, or with `last` of its last pixels (from ow_max down); at most
 * FC_MAX_EDGE_PIXELS. */
static size_t conv_edge_pixels(const fc_conv2d_shape *s, size_t ow_min, size_t ow_max, size_t kw, int last) {
    size_t n = 0, first, end;
    for (; n < FC_MAX_EDGE_PIXELS && n <= ow_max - ow_min; n++) {
        conv_col_taps(s, last ? ow_max - n : ow_min + n, &first, &end);
        if (last ? end > kw : first <= kw) break;
    }
    return n;
}

/* The columns of a transposed tile whose pixels span output columns [ow_min, ow_max]: it
 * skips the kernel columns that read padding for all its pixels, and, for the
 * `edge_pixels` (on channel blocks), the taps of each kernel row that read padding for
 * those pixels alone: a 7x7 map's tile of one row (3x3, padding 1) skips 2 of its 21 FMAs
 * per kernel row and channel. */
static conv_tile_columns conv_tile_cols(const fc_conv2d_shape *s, size_t block, size_t ow_min, size_t ow_max,
                                        int edge_pixels) {
    const size_t kw = s->kernel_width;
    /* The kernel columns read inside for the tile's first and last columns, found once each
     * (tiles spanning whole rows without edge pixels keep every column: cheaply, they are
     * most; so do tiles without channel blocks). */
    const int partial = ow_min > 0 || ow_max + 1 < s->out_width;
    size_t first_min = 0, last_min = kw, first_max = 0, last_max = kw;
    if (block > 1 && (partial || edge_pixels)) {
        conv_col_taps(s, ow_min, &first_min, &last_min);
        conv_col_taps(s, ow_max, &first_max, &last_max);
    }
    conv_tile_columns c = {partial ? first_max : 0, partial ? last_min : kw, {{0}, {0}}, 0};
    if (c.kw0 >= c.kw1) return c;
    /* Kernel columns that skip edge pixels: from kw0 while pixel 0 reads padding there, and
     * back from kw1 (not into those) while the last pixel does. */
    size_t lead = c.kw0, trail = c.kw1;
    if (edge_pixels & CONV_FIRST_PIXELS)
        for (; lead < first_min && lead < c.kw1; lead++) {
            const size_t n = conv_edge_pixels(s, ow_min, ow_max, lead, 0);
            c.edges.lead[n - 1] += block;
            c.skipped += n * block;
        }
    if (edge_pixels & CONV_LAST_PIXELS)
        for (; trail > last_max && trail > lead; trail--) {
            const size_t n = conv_edge_pixels(s, ow_min, ow_max, trail - 1, 1);
            c.edges.trail[n - 1] += block;
            c.skipped += n * block;
        }
    return c;
}

/* The k steps of a transposed tile over `columns` whose pixels span output rows
 * [oh_min, oh_max]: runs that skip the kernel rows that read padding for all its pixels. */
static conv_tile_steps conv_tile_rows_k(const fc_conv2d_shape *s, size_t block, size_t oh_min, size_t oh_max,
                                        const conv_tile_columns *columns) {
    const size_t cin_g = s->in_channels / s->groups, kw = s->kernel_width;
    size_t kh0, kh1, unused;
    conv_tile_steps t = {0, 0, 0, kw * block, *columns};
    conv_row_taps(s, oh_max, &kh0, &unused);
    conv_row_taps(s, oh_min, &unused, &kh1);
    if (kh0 >= kh1 || columns->kw0 >= columns->kw1) return t;
    t.k0 = conv_transposed_tap_k(kw * cin_g, block, kh0, columns->kw0);
    if (columns->kw0 == 0 && columns->kw1 == kw && !columns->skipped) { /* whole kernel rows: one run */
        t.kc = (kh1 - kh0) * kw * cin_g;
        t.k_runs = 1;
        return t;
    }
    t.kc = (columns->kw1 - columns->kw0) * block;
    t.k_runs = (kh1 - kh0) * (cin_g / block);
    return t;
}

/* The k steps of a transposed tile whose pixels span output rows [oh_min, oh_max] and
 * columns [ow_min, ow_max], no edge pixels skipping taps on their own (see conv_tile_cols
 * and conv_tile_rows_k). */
static conv_tile_steps conv_tile_k(const fc_conv2d_shape *s, size_t block, size_t oh_min, size_t oh_max,
                                   size_t ow_min, size_t ow_max) {
    const conv_tile_columns columns = conv_tile_cols(s, block, ow_min, ow_max, 0);
    return conv_tile_rows_k(s, block, oh_min, oh_max, &columns);
}

/* Pixels of tile `segment` of a row of tiles of mr pixels (CONV_TILES_PER_ROW), from
 * column segment * mr: mr, or the row's last ones. */
static size_t conv_row_tile_count(const fc_conv2d_shape *s, size_t mr, size_t segment) {
    const size_t ow = segment * mr;
    return s->out_width - ow < mr ? s->out_width - ow : mr;
}

/* The columns of tile `segment` of a row of tiles of mr pixels: alike in every row. */
static conv_tile_columns conv_row_tile_columns(const fc_conv2d_shape *s, size_t mr, size_t block, size_t segment) {
    const size_t ow = segment * mr, n = conv_row_tile_count(s, mr, segment);
    return conv_tile_cols(s, block, ow, ow + n - 1, CONV_FIRST_PIXELS | (n == mr ? CONV_LAST_PIXELS : 0));
}

/* Pixels that kernel column j from a tile's start (lead) or end (trail) of its computed
 * columns skips there, of `steps` (its edges' lead or trail): block steps per column, the
 * columns skipping most pixels outermost. */
static size_t conv_edge_column_skip(const size_t *steps, size_t block, size_t j) {
    for (size_t n = FC_MAX_EDGE_PIXELS; n > 0; n--) {
        const size_t columns = steps[n - 1] / block;
        if (j < columns) return n;
        j -= columns;
    }
    return 0;
}

/* Kernel rows read inside the input, summed over the output rows. The rows that read all
 * of them form one run in the middle (the first valid kernel row falls and the last valid
 * one falls as oh grows), so only the rows near the top and bottom edges are visited. */
static size_t conv_valid_kernel_rows(const fc_conv2d_shape *s) {
    size_t total = 0, top = 0, bottom = s->out_height, first, last;
    for (; top < bottom; top++) {
        conv_row_taps(s, top, &first, &last);
        if (first == 0 && last == s->kernel_height) break;
        total += last - first;
    }
    for (; bottom > top; bottom--) {
        conv_row_taps(s, bottom - 1, &first, &last);
        if (first == 0 && last == s->kernel_height) break;
        total += last - first;
    }
    return total + (bottom - top) * s->kernel_height;
}

/* Output columns at the left and right edges that read padding in some kernel column;
 * returns how many of their taps do. */
static size_t conv_edge_columns(const fc_conv2d_shape *s, size_t *left, size_t *right) {
    size_t first, last, padded = 0;
    for (*left = 0; *left < s->out_width && (conv_col_taps(s, *left, &first, &last), first > 0); ++*left)
        padded += s->kernel_width - (last - first);
    for (*right = 0; *right < s->out_width - *left &&
                     (conv_col_taps(s, s->out_width - 1 - *right, &first, &last), last < s->kernel_width);
         ++*right)
        padded += s->kernel_width - (last - first);
    return padded;
}

/* Work of tiles of one row (mr pixels, the last maybe fewer) over one image, in k steps of
 * a tile: each skips the kernel rows, and where the tile does not span the row the
 * columns, that read padding for all its pixels; a step that skips an edge pixel costs
 * (mr - 1) / mr of one. The rows that read every kernel row cost alike: counted once. */
static double conv_row_tiles_work(const fc_conv2d_shape *s, size_t mr, size_t block) {
    double work = 0, inner_row = -1;
    for (size_t oh = 0; oh < s->out_height; oh++) {
        size_t first, last;
        conv_row_taps(s, oh, &first, &last);
        const int inner = first == 0 && last == s->kernel_height;
        if (inner && inner_row >= 0) {
            work += inner_row;
            continue;
        }
        double row = 0;
        for (size_t segment = 0; segment * mr < s->out_width; segment++) {
            const conv_tile_columns columns = conv_row_tile_columns(s, mr, block, segment);
            const conv_tile_steps t = conv_tile_rows_k(s, block, oh, oh, &columns);
            row += (double)(t.k_runs * t.kc) - (double)(t.k_runs * columns.skipped) / (double)mr +
                   CONV_TRANSPOSED_STORE_COST;
        }
        if (inner) inner_row = row;
        work += row;
    }
    return work;
}

/* Work of compact tiles of mr pixels over one image (as one band), in k steps of a tile
 * (the tiles' k steps, their stores, and the price of reading pixels at their offsets). */
static double conv_compact_work(const fc_conv2d_shape *s, size_t mr, size_t block, const conv_tiling *tiling) {
    const size_t outputs = s->out_height * s->out_width;
    double work = 0;
    size_t r = 0, ow;
    conv_compact_pixel(s, tiling, s->out_height, 0, &r, &ow);
    for (size_t q0 = 0; q0 < outputs; q0 += mr) {
        size_t oh_min = SIZE_MAX, oh_max = 0, ow_min = SIZE_MAX, ow_max = 0, runs = 0, next = SIZE_MAX;
        for (size_t q = q0; q < q0 + mr && q < outputs; q++, conv_compact_next(s, tiling, s->out_height, &r, &ow)) {
            oh_min = r < oh_min ? r : oh_min;
            oh_max = r > oh_max ? r : oh_max;
            ow_min = ow < ow_min ? ow : ow_min;
            ow_max = ow > ow_max ? ow : ow_max;
            runs += r * s->out_width + ow != next;
            next = r * s->out_width + ow + 1;
        }
        const conv_tile_steps steps = conv_tile_k(s, block, oh_min, oh_max, ow_min, ow_max);
        work += (double)(steps.k_runs * steps.kc) + CONV_TRANSPOSED_STORE_COST +
                CONV_RUN_STORE_COST * (double)(runs - 1);
    }
    return work * CONV_OFFSET_STEP_COST;
}

/* Whether transposed tiles of one output row (mr pixels) skip every tap that reads padding,
 * so that they can read x itself: each skips the kernel rows that read padding for its row
 * (conv_tile_k), and the kernel columns that do for all its pixels or, on channel blocks,
 * for some of its edge pixels (a row's first FC_MAX_EDGE_PIXELS and, if its last tile is
 * full, its last ones) on their own. Checked tap by tap over the tiles of one row. */
static int conv_row_tiles_skip_padding(const fc_conv2d_shape *s, size_t mr, size_t block) {
    for (size_t ow = 0; ow < s->out_width; ow += mr) {
        const size_t n = conv_row_tile_count(s, mr, ow / mr);
        const conv_tile_columns t = conv_row_tile_columns(s, mr, block, ow / mr);
        for (size_t i = 0; i < n; i++) {
            size_t first, last;
            conv_col_taps(s, ow + i, &first, &last);
            for (size_t c = t.kw0; c < t.kw1; c++) {
                const int skipped = i < conv_edge_column_skip(t.edges.lead, block, c - t.kw0) ||
                                    n - 1 - i < conv_edge_column_skip(t.edges.trail, block, t.kw1 - 1 - c);
                if ((c < first || c >= last) && !skipped) return 0;
            }
        }
    }
    return 1;
}

/* Whether transposed tiles of one row (mr pixels) read x itself: the layer needs staging,
 * the tiles skip every tap that reads padding, and at a column stride, where they read their
 * pixels through offsets, they have few enough pixels. */
static int conv_row_tiles_read_x(const fc_conv2d_shape *s, size_t mr, size_t block) {
    return conv_needs_staging(s) && (s->stride_width == 1 || mr <= CONV_MAX_OFFSET_PIXELS) &&
           conv_row_tiles_skip_padding(s, mr, block);
}

/* Distinct phases (t * dilation) % stride of `taps` taps: the multiples of the dilation
 * cycle through stride / gcd(dilation, stride) of them. */
static size_t conv_phase_count(size_t taps, size_t dilation, size_t stride) {
    size_t a = dilation, b = stride;
    while (b) {
        const size_t r = a % b;
        a = b;
        b = r;
    }
    return taps < stride / a ? taps : stride / a;
}

/* Multiply-adds that staging one group of one image costs (0 where x itself serves). Some
 * methods do without it: compact tiles of an unpadded layer, tiles of one row that skip
 * every tap reading padding (conv_layout_init); the costs charge it to the others. */
static double conv_staging_work(const fc_conv2d_shape *s) {
    if (!conv_needs_staging(s)) return 0;
    const size_t planes = s->in_channels / s->groups *
                          conv_phase_count(s->kernel_height, s->dilation_height, s->stride_height) *
                          conv_phase_count(s->kernel_width, s->dilation_width, s->stride_width);
    const size_t rows = s->out_height + (s->kernel_height - 1) * s->dilation_height / s->stride_height;
    return CONV_STAGE_ELEMENT_COST * (double)planes * (double)rows * (double)conv_staged_row_width(s);
}

/* Transposed tiles of mr pixels: one row at a time, which lets each skip exactly the kernel
 * rows that read padding; or across the band's wide rows; or over its output pixels only,
 * where that costs less (the simpler order wins a tie), maybe taking the columns that read
 * padding first, so that their tiles skip the kernel columns that read padding only. Their
 * work per image, in k steps of a tile. */
static double conv_transposed_work_counted(const fc_conv2d_shape *s, size_t mr, size_t block, conv_tiling *tiling) {
    /* Wide and compact tiles priced as tiles of one row without their edge pixels: the
     * average steps per row. */
    const double k_size = (double)conv_k_size(s);
    const double steps = (double)conv_valid_kernel_rows(s) * k_size / (double)s->kernel_height / (double)s->out_height;
    const double tile_work = steps + CONV_TRANSPOSED_STORE_COST;
    /* Staging, in k steps of a tile (over a group's panels), where the tiles need it. */
    const double staging = conv_staging_work(s) / (double)mr / (double)(s->out_channels / s->groups);
    const int read_x = conv_row_tiles_read_x(s, mr, block);
    const double offset_cost = read_x && s->stride_width > 1 ? CONV_OFFSET_STEP_COST : 1;
    const double per_row = conv_row_tiles_work(s, mr, block) * offset_cost + (read_x ? 0 : staging);
    const double wide = (double)((s->out_height * conv_row_width(s, 0) + mr - 1) / mr) * tile_work + staging;
    *tiling = (conv_tiling){wide < per_row ? CONV_TILES_WIDE : CONV_TILES_PER_ROW, 0, 0};
    const double fewest = wide < per_row ? wide : per_row;
    if (mr > CONV_MAX_OFFSET_PIXELS) return fewest;
    const conv_tiling compact = {CONV_TILES_COMPACT, 0, 0};
    const double compact_staging = conv_reads_inside(s) ? 0 : staging;
    double compact_work = (double)((s->out_height * s->out_width + mr - 1) / mr) * tile_work * CONV_OFFSET_STEP_COST;
    conv_tiling edges = compact;
    const size_t padded = conv_edge_columns(s, &edges.edge_left, &edges.edge_right);
    double edge_work = compact_work;
    if (block > 1 && (double)padded >= CONV_EDGE_MIN_PADDED * (double)(s->out_width * s->kernel_width) &&
        s->out_height * s->out_width <= CONV_EDGE_MAX_PIXELS) {
        /* Counted tile by tile, the plain compact order too, to compare like with like. */
        compact_work = conv_compact_work(s, mr, block, &compact);
        edge_work = conv_compact_work(s, mr, block, &edges);
    }
    compact_work += compact_staging;
    edge_work += compact_staging;
    if (compact_work >= fewest && edge_work >= fewest) return fewest;
    *tiling = edge_work < compact_work ? edges : compact;
    return edge_work < compact_work ? edge_work : compact_work;
}

/* conv_transposed_work_counted, remembered per thread in a small table indexed by a hash of
 * (shape, mr, channel block): every call weighs every transposed tile, and counting compact tiles is a
 * pass over the pixels (1 % of a ResNeXt g32 3x3 @14 call). */
#define CONV_WORK_MEMO_SLOTS 64

static double conv_transposed_work(const fc_conv2d_shape *s, size_t mr, conv_tiling *tiling) {
    static _Thread_local struct {
        fc_conv2d_shape s;
        size_t mr, block;
        conv_tiling tiling;
        double work;
    } memo[CONV_WORK_MEMO_SLOTS];
    const size_t block = conv_channel_block(s); /* the active ISA's */
    size_t words[sizeof(*s) / sizeof(size_t)], hash = mr * 31 + block;
    memcpy(words, s, sizeof(*s));
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) hash = hash * 1000003u ^ words[i];
    __typeof__(memo[0]) *slot = &memo[(hash ^ hash >> 29) % CONV_WORK_MEMO_SLOTS];
    if (slot->mr != mr || slot->block != block || memcmp(&slot->s, s, sizeof(*s))) { /* mr 0: an empty slot */
        slot->s = *s;
        slot->mr = mr;
        slot->block = block;
        slot->work = conv_transposed_work_counted(s, mr, block, &slot->tiling);
    }
    *tiling = slot->tiling;
    return slot->work;
}

/* Columns that regular tiles nr wide compute over `pixels`: a last tile that would leave
 * whole vectors empty runs as tiles of one vector (tail_nr; 0: none) instead. */
static size_t conv_regular_columns(size_t pixels, size_t nr, size_t tail_nr) {
    const size_t rest = pixels % nr;
    if (!rest) return pixels;
    return pixels - rest + (tail_nr && rest <= nr - tail_nr ? (rest + tail_nr - 1) / tail_nr * tail_nr : nr);
}

/* Columns that regular MR x NR tiles (tail_nr: their one-vector tail, or 0) compute over an
 * image whose B rows are row_width wide: across the wide rows, or, where that computes
 * fewer (*per_row set), each output row apart, so that none computes dropped columns and
 * a row's last tile runs as tails (the 7x7 s2 stem: 48 + 48 + 16 of 115 wide columns).
 * Only tails of CONV_TAIL_MIN_ROWS rows or more run as fast as whole tiles do, and rows of
 * tails only (float64 3x3 448->384 @8: 16-wide tiles, rows of 8) ran 6 % slower. */
static size_t conv_regular_tile_columns(const fc_conv2d_shape *s, size_t row_width, size_t mr, size_t nr,
                                        size_t tail_nr, int *per_row) {
    const size_t wide = conv_regular_columns(s->out_height * row_width, nr, tail_nr);
    const size_t rows = s->out_height * conv_regular_columns(s->out_width, nr, tail_nr);
    *per_row = tail_nr && mr >= CONV_TAIL_MIN_ROWS && s->out_width >= nr && row_width > s->out_width &&
               rows < wide;
    return *per_row ? rows : wide;
}

/* Relative cost of a tile shape on this layer: the tile elements it computes, kept or
 * dropped (rounding of output channels and pixels), over the fraction of time its k loop
 * runs rather than its epilogue; the tile that costs least wins. A regular MR x NR tile
 * (tail_nr: its one-vector tail, or 0 to price its last tile whole) runs over wide pixels
 * or each row apart (conv_regular_tile_columns; plus, when `expanded`, the extra staging
 * that costs); a transposed one (MR pixels x NR
 * channels) over each row's real pixels and the kernel rows that do not read padding only,
 * with a dearer transposed store; and either with its staging (conv_staging_work) where its
 * tiles need it. */
static double conv_tile_cost(const fc_conv2d_shape *s, size_t mr, size_t nr, size_t tail_nr, int transposed,
                             int expanded) {
    const size_t cout_g = s->out_channels / s->groups;
    const double k_size = (double)conv_k_size(s);
    if (transposed) {
        conv_tiling tiling;
        return conv_transposed_work(s, mr, &tiling) * (double)mr * (double)((cout_g + nr - 1) / nr * nr) / k_size;
    }
    int per_row;
    const size_t columns = conv_regular_tile_columns(s, conv_row_width(s, expanded), mr, nr, tail_nr, &per_row);
    const double step = (double)mr * k_size >= CONV_LONG_PANEL_ELEMENTS ? CONV_LONG_PANEL_STEP_COST : 1.0;
    const double tiles = (double)((cout_g + mr - 1) / mr * mr) * (double)columns * (k_size * step + CONV_STORE_COST) /
                         k_size;
    if (!expanded) return tiles;
    /* KW staged copies per pixel and input channel instead of one (or none when x itself
     * serves), in k steps of a tile element. */
    const size_t copies = s->kernel_width - (conv_needs_staging(s) ? 1 : 0);
    return tiles + CONV_STAGE_COST * (double)(copies * s->out_height * s->out_width) /
                       (double)(s->kernel_height * s->kernel_width);
}

/* Expanded staging is for narrow maps: only where the whole expanded input fits one band
 * (a bound on the staged rows: every row phase, the output rows and the kernel's reach),
 * so that it never re-stages rows per band nor outgrows the stage budget. */
static int conv_can_expand(const fc_conv2d_shape *s, size_t elem_size) {
    const size_t phases = s->stride_height < s->kernel_height ? s->stride_height : s->kernel_height;
    const size_t rows = phases * (s->out_height + (s->kernel_height - 1) * s->dilation_height);
    return s->kernel_width > 1 && (double)s->in_channels * (double)s->kernel_width * (double)rows *
                                          (double)s->out_width * (double)elem_size <= CONV_STAGE_BYTES;
}

/* Cost, in conv_tile_cost's units per image, of packing the weights for transposed tiles
 * on each call: twice CONV_PACK_COST per weight where they outgrow the cache. */
static double conv_pack_cost(const fc_conv2d_shape *s, size_t elem_size) {
    const double bytes = (double)s->out_channels * (double)conv_k_size(s) * (double)elem_size;
    return CONV_PACK_COST * (bytes > CONV_PACK_CACHED_BYTES ? 2 : 1) * (double)(s->out_channels / s->groups) /
           (double)s->batch;
}

static size_t phase_slots(size_t taps, size_t dilation, size_t stride, size_t *tap_slot, size_t *tap_offset,
                          size_t *slot_phase) {
    size_t slots = 0;
    for (size_t t = 0; t < taps; t++) {
        const size_t reach = t * dilation, phase = reach % stride;
        size_t s = 0;
        while (s < slots && slot_phase[s] != phase) s++;
        if (s == slots) slot_phase[slots++] = phase;
        tap_slot[t] = s;
        tap_offset[t] = reach / stride;
    }
    return slots;
}

static void conv_layout_free(conv_layout *l) {
    free(l->tap_slot_h);
    free(l->row_columns);
}

/* Tiles of a band of `rows` output rows. */
static size_t conv_band_tiles(const fc_conv2d_shape *s, const conv_layout *l, size_t rows) {
    if (l->tiling.order == CONV_TILES_PER_ROW) return rows * l->segments;
    const size_t pixels = rows * (l->tiling.order == CONV_TILES_COMPACT ? s->out_width : l->row_width);
    return (pixels + l->tile_width - 1) / l->tile_width;
}

/* Bands of `band_rows` output rows in an image. */
static size_t conv_band_count(const fc_conv2d_shape *s, size_t band_rows) {
    return (s->out_height + band_rows - 1) / band_rows;
}

/* Zeros past the end of staged planes: the last row's right padding (between planes, the
 * next plane's first elements) and the dropped columns of the last tile. */
static size_t conv_stage_tail(const conv_layout *l) { return l->tile_width + l->row_width; }

/* Output rows per band when `fit` staged rows fit the budget and each band reads `reach`
 * rows beyond its own (at least one row, at most all). */
static size_t conv_band_rows(const fc_conv2d_shape *s, size_t fit, size_t reach) {
    const size_t rows = fit > reach + 1 ? fit - reach : 1;
    return rows < s->out_height ? rows : s->out_height;
}

/* Chooses how the input is staged and the work split for tiles of panel_rows channels by
 * tile_width pixels (transposed: tile_width pixels of one row); FC_ENOMEM if the small
 * tables fail. */
static int conv_layout_init(conv_layout *l, const fc_conv2d_shape *s, size_t panel_rows, size_t tile_width,
                            size_t tail_width, int transposed, int expanded, size_t elem_size, int threads) {
    const size_t kh = s->kernel_height, kw = s->kernel_width, cin_g = s->in_channels / s->groups;
    memset(l, 0, sizeof(*l));
    l->tiling = (conv_tiling){CONV_TILES_WIDE, 0, 0};
    if (transposed) conv_transposed_work(s, tile_width, &l->tiling);
    /* Compact tiles read each pixel at its own offset: on a layer without padding, at its
     * strides in x itself, which then needs no staging; so do tiles of one row that skip
     * every tap reading padding. */
    const int strided_x =
        !expanded && l->tiling.order == CONV_TILES_COMPACT && conv_needs_staging(s) && conv_reads_inside(s);
    l->x_rows = transposed && l->tiling.order == CONV_TILES_PER_ROW &&
                conv_row_tiles_read_x(s, tile_width, conv_channel_block(s));
    l->staged = expanded || (conv_needs_staging(s) && !strided_x && !l->x_rows);
    l->tap_slot_h = malloc(3 * (kh + kw) * sizeof(size_t));
    if (!l->tap_slot_h) return FC_ENOMEM;
    l->tap_row = l->tap_slot_h + kh;
    l->slot_phase_h = l->tap_row + kh;
    l->tap_slot_w = l->slot_phase_h + kh;
    l->tap_col = l->tap_slot_w + kw;
    l->slot_phase_w = l->tap_col + kw;
    const size_t sh = l->staged ? s->stride_height : 1, sw = l->staged ? s->stride_width : 1;
    l->slots_h = phase_slots(kh, s->dilation_height, sh, l->tap_slot_h, l->tap_row, l->slot_phase_h);
    /* Expanded: a "stride" beyond every reach makes each tap column a phase of its own, at offset 0. */
    l->slots_w = phase_slots(kw, s->dilation_width, expanded ? SIZE_MAX : sw, l->tap_slot_w, l->tap_col,
                             l->slot_phase_w);
    const size_t reach_h = l->tap_row[kh - 1], reach_w = l->tap_col[kw - 1];

    const size_t wanted = (size_t)threads * CONV_TASKS_PER_THREAD;
    l->own_staging = l->copy_staging = 0;
    if (l->staged) {
        l->row_width = conv_row_width(s, expanded);
        const size_t group_row_bytes = cin_g * l->slots_h * l->slots_w * l->row_width * elem_size;
        /* Bands of every channel within the stage budget, or, with own staging, of one group
         * within each thread's share of the own-staging budget. Own staging where its (band,
         * group) tasks share out evenly among the threads (as many as they want and a multiple
         * of them, or so many that one more for some costs little: a task runs whole), and a
         * thread's band fits its share with at least twice as many rows of its own as the rows
         * of reach it stages again. */
        const size_t own_fit = CONV_OWN_STAGE_BYTES / (size_t)threads / group_row_bytes;
        const size_t own_rows = conv_band_rows(s, own_fit, reach_h);
        const size_t own_tasks = s->batch * conv_band_count(s, own_rows) * s->groups;
        const int even =
            own_tasks % (size_t)threads == 0 || own_tasks >= CONV_RAGGED_TASKS_PER_THREAD * (size_t)threads;
        l->own_staging = own_fit > reach_h && (own_rows >= 2 * reach_h || own_rows == s->out_height) &&
                         own_tasks >= wanted && even;
        l->band_rows = l->own_staging ? own_rows
                                      : conv_band_rows(s, CONV_STAGE_BYTES / (s->groups * group_row_bytes), reach_h);
        l->plane_rows = l->band_rows + reach_h;
        /* Copies where they fit the own-staging budget and stage every input element once:
         * every phase is staged (not so the gather of a 1x1 stride-2 layer, which cost such
         * layers 1.5 % at 2 threads; 3x3 and 1x7 layers gained 2-6.5 %). */
        const double band_elements = (double)(s->groups * group_row_bytes / elem_size * l->plane_rows);
        const double band_fmas = (double)(s->out_channels * l->band_rows * s->out_width * conv_k_size(s));
        l->copy_staging = !l->own_staging && threads > 1 && l->slots_h >= sh && l->slots_w >= sw &&
                          (double)threads * band_elements * (double)elem_size <= CONV_OWN_STAGE_BYTES &&
                          CONV_STAGE_COST * band_elements <= CONV_COPY_STAGE_FRACTION * band_fmas / threads;
    } else {
        l->row_width = s->in_width;
        l->band_rows = s->out_height;
        l->plane_rows = s->in_height;
    }
    int regular_rows = 0;
    if (!transposed) conv_regular_tile_columns(s, l->row_width, panel_rows, tile_width, tail_width, &regular_rows);
    if (regular_rows) l->tiling.order = CONV_TILES_PER_ROW;
    l->plane_size = l->plane_rows * l->row_width;
    l->pixel_step_h = strided_x || l->x_rows ? s->stride_height * l->row_width : l->row_width;
    l->pixel_step_w = strided_x || l->x_rows ? s->stride_width : 1;
    l->tap_origin = l->x_rows ? -(ptrdiff_t)(s->pad_top * l->row_width + s->pad_left) : 0;

    l->panel_rows = panel_rows;
    l->tile_width = tile_width;
    l->transposed = transposed;
    l->segments = (s->out_width + tile_width - 1) / tile_width;
    l->channel_block = conv_channel_block(s);
    if (transposed && l->tiling.order == CONV_TILES_PER_ROW) { /* found once, not per tile and panel */
        l->row_columns = malloc(l->segments * sizeof(*l->row_columns));
        if (!l->row_columns) {
            conv_layout_free(l);
            return FC_ENOMEM;
        }
        for (size_t i = 0; i < l->segments; i++)
            l->row_columns[i] = conv_row_tile_columns(s, tile_width, l->channel_block, i);
    }
    const size_t planes = cin_g * l->slots_h * l->slots_w;
    const size_t block_elems = CONV_BLOCK_BYTES / elem_size / planes;
    const size_t reach = reach_h * l->row_width + reach_w;
    l->tiles_per_block = block_elems > reach + tile_width ? (block_elems - reach) / tile_width : 1;
    const size_t tiles = conv_band_tiles(s, l, l->band_rows);
    if (l->tiles_per_block > tiles) l->tiles_per_block = tiles;

    const size_t panels = (s->out_channels / s->groups + panel_rows - 1) / panel_rows;
    size_t blocks = s->groups * ((tiles + l->tiles_per_block - 1) / l->tiles_per_block);
    l->panel_chunks = threads > 1 && blocks < wanted && !l->own_staging ? (wanted + blocks - 1) / blocks : 1;
    if (l->panel_chunks > panels) l->panel_chunks = panels;
    /* Chunks of unequal size (5 panels in 4: 1x7 160->160 @17 ran only 1.55x faster on two
     * threads): chunks of one panel instead. (One-panel chunks throughout measured 8-30 %
     * slower on 2 threads where the chunks were even: 3x3 512->512 @7, 1x1 64->384 @14.) */
    if (panels % l->panel_chunks) l->panel_chunks = panels;
    /* Smaller tile blocks until the tasks share out evenly among the threads (3 tasks of
     * an unstaged 32->48 300x40 map on 2 threads ran 1.5x faster than on one). */
    const size_t units = s->batch * conv_band_count(s, l->band_rows);
    while (threads > 1 && !l->own_staging && (units * blocks * l->panel_chunks) % (size_t)threads &&
           units * blocks * l->panel_chunks < CONV_RAGGED_TASKS_PER_THREAD * (size_t)threads &&
           l->tiles_per_block > 1) {
        l->tiles_per_block = (l->tiles_per_block + 1) / 2;
        blocks = s->groups * ((tiles + l->tiles_per_block - 1) / l->tiles_per_block);
    }
    return FC_OK;
}

/* A unit of work: a band of output rows of one image. */
typedef struct {
    size_t image, oh0, rows;
} conv_unit;

static conv_unit conv_unit_band(const fc_conv2d_shape *s, const conv_layout *l, size_t unit) {
    const size_t bands = conv_band_count(s, l->band_rows), oh0 = unit % bands * l->band_rows;
    return (conv_unit){unit / bands, oh0, s->out_height - oh0 < l->band_rows ? s->out_height - oh0 : l->band_rows};
}

/* Tasks of one group in a band of `rows` output rows: tile blocks x panel chunks. */
static size_t conv_unit_tasks(const fc_conv2d_shape *s, const conv_layout *l, size_t rows) {
    return (conv_band_tiles(s, l, rows) + l->tiles_per_block - 1) / l->tiles_per_block * l->panel_chunks;
}

/* Offset in the B source of one group of B row k: k = (c, kh, kw) for regular tiles, as the
 * weights are stored; for transposed tiles as their weights are packed (conv_transposed_k). */
static void conv_tap_offsets(const fc_conv2d_shape *s, const conv_layout *l, ptrdiff_t *offsets) {
    const size_t cin_g = s->in_channels / s->groups, kh = s->kernel_height, kw = s->kernel_width;
    const size_t block = l->channel_block;
    for (size_t c = 0; c < cin_g; c++) {
        const size_t k_c = l->transposed ? conv_transposed_k(s, block, c) : c * kh * kw;
        for (size_t i = 0; i < kh; i++)
            for (size_t j = 0; j < kw; j++) {
                const size_t plane = (c * l->slots_h + l->tap_slot_h[i]) * l->slots_w + l->tap_slot_w[j];
                const size_t k =
                    l->transposed ? conv_transposed_tap_k(kw * cin_g, block, i, j) + k_c : k_c + i * kw + j;
                offsets[k] =
                    (ptrdiff_t)(plane * l->plane_size + l->tap_row[i] * l->row_width + l->tap_col[j]) + l->tap_origin;
            }
    }
}

/* Tile t of one row's tiles (CONV_TILES_PER_ROW): where it starts in the band's B source,
 * and its pixels' offsets from there (tile_width of them: 0, 1, ... or the column stride's
 * multiples on x read at its strides). */
static size_t conv_row_tile_start(const conv_layout *l, size_t t) {
    return t / l->segments * l->pixel_step_h + t % l->segments * l->tile_width * l->pixel_step_w;
}

static void conv_row_tile_pixels(const conv_layout *l, ptrdiff_t *pixels) {
    for (size_t i = 0; i < l->tile_width; i++) pixels[i] = (ptrdiff_t)(i * l->pixel_step_w);
}

/* The output columns of the tile starting at wide pixel q0 of a band starting at row oh0. */
static size_t conv_tile_runs(const fc_conv2d_shape *s, const conv_layout *l, size_t oh0, size_t band_pixels,
                             size_t q0, size_t nr, fc_tile_run *runs) {
    const size_t end = q0 + nr < band_pixels ? q0 + nr : band_pixels;
    if (l->row_width == s->out_width) { /* no dropped columns: the band is one run */
        runs[0] = (fc_tile_run){0, end - q0, oh0 * s->out_width + q0};
        return 1;
    }
    size_t count = 0;
    for (size_t q = q0; q < end;) {
        const size_t r = q / l->row_width, ow = q % l->row_width;
        if (ow < s->out_width) {
            const size_t length = s->out_width - ow < end - q ? s->out_width - ow : end - q;
            runs[count++] = (fc_tile_run){q - q0, length, (oh0 + r) * s->out_width + ow};
            q += length;
        } else {
            q += l->row_width - ow;
        }
    }
    return count;
}

#define CONV_T float
#define CONV_SFX f32
#include "ops/conv2d-template.h"

#define CONV_T double
#define CONV_SFX f64
#include "ops/conv2d-template.h"
