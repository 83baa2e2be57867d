#include "ops/conv2d.h"

#include <stdlib.h>
#include <string.h>

#include "threads.h"

/* K rows of one packed im2col block: long enough to hide the tile's load/store, short
 * enough that the A panel (KC x MR) stays in L1 while the B block streams from L2. */
#define CONV_KC 256
/* Bytes of one packed im2col block (KC x NC): half of a 1 MiB L2, leaving room for A. */
#define CONV_BLOCK_BYTES (256 * 1024)
/* Tasks per thread to aim for, so that dynamic scheduling can even out ragged tiles. */
#define CONV_TASKS_PER_THREAD 4

typedef struct {
    size_t kc, nc;             /* packed block: kc rows x nc columns (nc a multiple of NR) */
    size_t pixel_blocks;       /* ceil(pixels / nc) */
    size_t panel_chunks;       /* the MR-row panels of a group are split into this many tasks */
    size_t panels_per_chunk;
} conv_blocking;

static conv_blocking conv_choose_blocking(const fc_conv2d_shape *s, size_t mr, size_t nr, size_t elem_size,
                                          int threads) {
    conv_blocking b;
    const size_t k_size = s->in_channels / s->groups * s->kernel_height * s->kernel_width;
    const size_t pixels = s->out_height * s->out_width;
    const size_t panels = (s->out_channels / s->groups + mr - 1) / mr;
    b.kc = k_size < CONV_KC ? k_size : CONV_KC;
    size_t nc = CONV_BLOCK_BYTES / elem_size / b.kc / nr * nr;
    if (nc < nr) nc = nr;
    const size_t pixels_rounded = (pixels + nr - 1) / nr * nr;
    b.nc = nc < pixels_rounded ? nc : pixels_rounded;
    b.pixel_blocks = (pixels + b.nc - 1) / b.nc;
    const size_t tiles = s->batch * s->groups * b.pixel_blocks;
    const size_t wanted = (size_t)threads * CONV_TASKS_PER_THREAD;
    b.panel_chunks = 1;
    if (threads > 1 && tiles < wanted) b.panel_chunks = (wanted + tiles - 1) / tiles;
    if (b.panel_chunks > panels) b.panel_chunks = panels;
    b.panels_per_chunk = (panels + b.panel_chunks - 1) / b.panel_chunks;
    b.panel_chunks = (panels + b.panels_per_chunk - 1) / b.panels_per_chunk;
    return b;
}

size_t fc_conv2d_packed_weights_size(const fc_conv2d_shape *s, size_t mr) {
    const size_t panels = (s->out_channels / s->groups + mr - 1) / mr;
    return s->groups * panels * mr * (s->in_channels / s->groups) * s->kernel_height * s->kernel_width;
}

#define CONV_T float
#define CONV_SFX f32
#include "ops/conv2d-template.h"

#define CONV_T double
#define CONV_SFX f64
#include "ops/conv2d-template.h"
