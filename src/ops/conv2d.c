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
 * are copied into a scratch tile first. On narrow maps, where dropped columns waste much of
 * a tile, each tap column can instead be staged as a plane of its own ("expanded": rows
 * hold just the OW real columns), at the price of KW copies of the input. Plans (and calls
 * whose work pays for packing) may run "transposed" tiles instead: MR pixels (of one row, or
 * of the wide band as regular tiles take them) x NR output channels, over weights packed
 * kernel row first, so that a tile skips the kernel rows that read padding only. */
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
/* Most pixels a compact transposed tile spans (it keeps one offset per pixel). */
#define CONV_MAX_COMPACT_WIDTH 16
/* A compact tile, whose pixels are read through their offsets, runs this much slower than
 * one of consecutive pixels (measured: 0-3 % on ResNet-18's layers forced compact). */
#define CONV_COMPACT_STEP_COST 1.02
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
    CONV_TILES_COMPACT, /* consecutive output pixels across rows, each read at its own offset: none dropped */
} conv_tile_order;

typedef struct {
    int staged;            /* copy the input into padded phase planes (else read x) */
    size_t slots_h;        /* distinct row phases (kh*dh) % sh of the taps: 1 unless staged */
    size_t slots_w;        /* distinct column phases */
    size_t band_rows;      /* output rows per band */
    size_t plane_rows;     /* rows of one staged plane: band_rows + the kernel's reach */
    size_t row_width;      /* Wq: elements per wide row of the B source */
    size_t plane_size;     /* elements between planes of the B source */
    size_t panel_rows;     /* output channels per weight panel */
    size_t tile_width;     /* wide pixels a tile spans: NR, or MR for transposed tiles */
    int transposed;        /* tiles of pixels x output channels, over weights packed for them */
    conv_tile_order order; /* how transposed tiles take a band's pixels (regular ones: CONV_TILES_WIDE) */
    size_t segments;       /* CONV_TILES_PER_ROW: tiles per output row */
    size_t tiles_per_block;
    size_t panel_chunks;   /* weight panels are split evenly (sizes differ by at most one) into this many tasks */
    int own_staging;       /* a task stages one group of one band into its thread's buffer and runs all
                            * its tiles: enough of them for the threads (groups, images, bands), and
                            * no barrier, no staged plane read by another core */
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

/* The kernel rows [*first, *last) whose taps read inside the input for output row oh (the
 * others read padding only): a transposed tile, one row of pixels, skips the rest of its k. */
static void conv_row_taps(const fc_conv2d_shape *s, size_t oh, size_t *first, size_t *last) {
    const ptrdiff_t top = (ptrdiff_t)(oh * s->stride_height) - (ptrdiff_t)s->pad_top; /* input row of tap 0 */
    const ptrdiff_t dh = (ptrdiff_t)s->dilation_height, h = (ptrdiff_t)s->in_height;
    const ptrdiff_t lo = top >= 0 ? 0 : (-top + dh - 1) / dh, hi = top >= h ? 0 : (h - top + dh - 1) / dh;
    *last = hi < (ptrdiff_t)s->kernel_height ? (size_t)hi : s->kernel_height;
    *first = lo < (ptrdiff_t)*last ? (size_t)lo : *last;
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

/* Transposed tiles of mr pixels: one row at a time, which lets each skip exactly the kernel
 * rows that read padding; or across the band's wide rows, or over its output pixels only,
 * where that costs less (the simpler order wins a tie). The tile count per image, in tiles
 * of consecutive pixels' cost. */
static double conv_transposed_tiles(const fc_conv2d_shape *s, size_t mr, conv_tile_order *order) {
    const size_t per_row = s->out_height * ((s->out_width + mr - 1) / mr);
    const size_t wide = (s->out_height * conv_row_width(s, 0) + mr - 1) / mr;
    const double compact = (double)((s->out_height * s->out_width + mr - 1) / mr) * CONV_COMPACT_STEP_COST;
    *order = wide < per_row ? CONV_TILES_WIDE : CONV_TILES_PER_ROW;
    const double fewest = (double)(wide < per_row ? wide : per_row);
    if (compact >= fewest || mr > CONV_MAX_COMPACT_WIDTH) return fewest;
    *order = CONV_TILES_COMPACT;
    return compact;
}

/* Columns that regular tiles nr wide compute over `pixels`: a last tile that would leave
 * whole vectors empty runs as tiles of one vector (tail_nr; 0: none) instead. */
static size_t conv_regular_columns(size_t pixels, size_t nr, size_t tail_nr) {
    const size_t rest = pixels % nr;
    if (!rest) return pixels;
    return pixels - rest + (tail_nr && rest <= nr - tail_nr ? (rest + tail_nr - 1) / tail_nr * tail_nr : nr);
}

/* Relative cost of a tile shape on this layer: the tile elements it computes, kept or
 * dropped (rounding of output channels and pixels), over the fraction of time its k loop
 * runs rather than its epilogue; the tile that costs least wins. A regular MR x NR tile
 * (tail_nr: its one-vector tail, or 0 to price its last tile whole) runs over wide pixels
 * (plus, when `expanded`, the extra staging that costs); a transposed one (MR pixels x NR
 * channels) over each row's real pixels and the kernel rows that do not read padding only,
 * with a dearer transposed store. */
static double conv_tile_cost(const fc_conv2d_shape *s, size_t mr, size_t nr, size_t tail_nr, int transposed,
                             int expanded) {
    const size_t cout_g = s->out_channels / s->groups;
    const double k_size = (double)conv_k_size(s);
    if (transposed) { /* k steps per pixel: each row skips the kernel rows that read padding only */
        const double steps = (double)conv_valid_kernel_rows(s) * k_size / (double)s->kernel_height;
        conv_tile_order order;
        const double tiles = conv_transposed_tiles(s, mr, &order);
        return tiles * (double)mr * (double)((cout_g + nr - 1) / nr * nr) *
               (steps / (double)s->out_height + CONV_TRANSPOSED_STORE_COST) / k_size;
    }
    const size_t wide = s->out_height * conv_row_width(s, expanded);
    const double step = (double)mr * k_size >= CONV_LONG_PANEL_ELEMENTS ? CONV_LONG_PANEL_STEP_COST : 1.0;
    const double tiles = (double)((cout_g + mr - 1) / mr * mr) * (double)conv_regular_columns(wide, nr, tail_nr) *
                         (k_size * step + CONV_STORE_COST) / k_size;
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
 * on each call. */
static double conv_pack_cost(const fc_conv2d_shape *s) {
    return CONV_PACK_COST * (double)(s->out_channels / s->groups) / (double)s->batch;
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

static void conv_layout_free(conv_layout *l) { free(l->tap_slot_h); }

/* Tiles of a band of `rows` output rows. */
static size_t conv_band_tiles(const fc_conv2d_shape *s, const conv_layout *l, size_t rows) {
    if (l->order == CONV_TILES_PER_ROW) return rows * l->segments;
    const size_t pixels = rows * (l->order == CONV_TILES_COMPACT ? s->out_width : l->row_width);
    return (pixels + l->tile_width - 1) / l->tile_width;
}

/* Bands of `band_rows` output rows in an image. */
static size_t conv_band_count(const fc_conv2d_shape *s, size_t band_rows) {
    return (s->out_height + band_rows - 1) / band_rows;
}

/* Zeros past the end of a thread's own staged planes: the last row's right padding (in the
 * shared buffer, the next plane's first elements) and the dropped columns of the last tile. */
static size_t conv_own_tail(const conv_layout *l) { return l->tile_width + l->row_width; }

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
                            int transposed, int expanded, size_t elem_size, int threads) {
    const size_t kh = s->kernel_height, kw = s->kernel_width, cin_g = s->in_channels / s->groups;
    memset(l, 0, sizeof(*l));
    l->staged = expanded || conv_needs_staging(s);
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
    l->own_staging = 0;
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
    } else {
        l->row_width = s->in_width;
        l->band_rows = s->out_height;
        l->plane_rows = s->in_height;
    }
    l->plane_size = l->plane_rows * l->row_width;

    l->panel_rows = panel_rows;
    l->tile_width = tile_width;
    l->transposed = transposed;
    l->order = CONV_TILES_WIDE;
    if (transposed) conv_transposed_tiles(s, tile_width, &l->order);
    l->segments = (s->out_width + tile_width - 1) / tile_width;
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
    if (panels % l->panel_chunks) {
        /* Chunks of unequal size (5 panels in 4: 1x7 160->160 @17 ran only 1.55x faster on
         * two threads): chunks of one panel, and smaller tile blocks until the tasks share
         * out evenly among the threads. (One-panel chunks throughout measured 8-30 % slower
         * on 2 threads where the chunks were even: 3x3 512->512 @7, 1x1 64->384 @14.) */
        l->panel_chunks = panels;
        while ((blocks * panels) % (size_t)threads &&
               blocks * panels < CONV_RAGGED_TASKS_PER_THREAD * (size_t)threads && l->tiles_per_block > 1) {
            l->tiles_per_block = (l->tiles_per_block + 1) / 2;
            blocks = s->groups * ((tiles + l->tiles_per_block - 1) / l->tiles_per_block);
        }
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
 * weights are stored; k = (kh, c, kw) for transposed tiles, as their weights are packed. */
static void conv_tap_offsets(const fc_conv2d_shape *s, const conv_layout *l, ptrdiff_t *offsets) {
    const size_t cin_g = s->in_channels / s->groups, kh = s->kernel_height, kw = s->kernel_width;
    for (size_t c = 0; c < cin_g; c++)
        for (size_t i = 0; i < kh; i++)
            for (size_t j = 0; j < kw; j++) {
                const size_t plane = (c * l->slots_h + l->tap_slot_h[i]) * l->slots_w + l->tap_slot_w[j];
                const size_t k = l->transposed ? (i * cin_g + c) * kw + j : (c * kh + i) * kw + j;
                offsets[k] = (ptrdiff_t)(plane * l->plane_size + l->tap_row[i] * l->row_width + l->tap_col[j]);
            }
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
