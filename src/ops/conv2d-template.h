/* Template of the conv2d operator for one dtype (see conv2d.c for the method): included
 * by conv2d.c with CONV_T (float/double) and CONV_SFX (f32/f64) defined. */

#define CONV_PASTE_(a, b, c) a##b##c
#define CONV_PASTE(a, b, c) CONV_PASTE_(a, b, c)
#define CONV_FN(name) CONV_PASTE(fc_, CONV_SFX, name)
#define CONV_EPILOGUE CONV_PASTE(fc_, CONV_SFX, _epilogue)
#define CONV_GEMM_CONFIG CONV_PASTE(fc_, CONV_SFX, _gemm_config)
#define CONV_GEMM_TRANSPOSED_CONFIG CONV_PASTE(fc_, CONV_SFX, _gemm_transposed_config)

/* Copies a row of n elements: rows of 16 to 128 bytes as fixed-size moves, the last ones
 * overlapping the first (a 7-float row is two 16-byte moves), longer ones by the compiler's
 * loop (a memmove call). An element loop, or a library call, costs as much per short row as
 * the tiles spend on it (ResNeXt g32 @7: 13 % of the call went to staging). */
static inline void CONV_FN(_copy_row)(CONV_T *restrict dst, const CONV_T *restrict src, size_t n) {
    const size_t chunk = 16 / sizeof(CONV_T);
    if (n >= chunk && n <= 2 * chunk) {
        memcpy(dst, src, 16);
        memcpy(dst + n - chunk, src + n - chunk, 16);
    } else if (n > 2 * chunk && n <= 4 * chunk) {
        memcpy(dst, src, 32);
        memcpy(dst + n - 2 * chunk, src + n - 2 * chunk, 32);
    } else if (n > 4 * chunk && n <= 8 * chunk) {
        memcpy(dst, src, 64);
        memcpy(dst + n - 4 * chunk, src + n - 4 * chunk, 64);
    } else {
        for (size_t j = 0; j < n; j++) dst[j] = src[j];
    }
}

/* Fills dst with the staged plane of input channel src (phase (phase_h, phase_w)) for the
 * band starting at output row oh0; taps that fall in the padding read zero. */
static void CONV_FN(_stage_plane)(const fc_conv2d_shape *s, const conv_layout *l, const CONV_T *src, size_t oh0,
                                  size_t phase_h, size_t phase_w, CONV_T *dst) {
    const size_t sw = s->stride_width, width = l->row_width;
    /* Staged columns [first, last) read inside the input row (a division only for strides). */
    const ptrdiff_t col0 = (ptrdiff_t)phase_w - (ptrdiff_t)s->pad_left, in_w = (ptrdiff_t)s->in_width;
    const ptrdiff_t stride = (ptrdiff_t)sw;
    size_t first = col0 >= 0 ? 0 : sw == 1 ? (size_t)-col0 : (size_t)((-col0 + stride - 1) / stride);
    size_t last = col0 >= in_w ? 0 : sw == 1 ? (size_t)(in_w - col0) : (size_t)((in_w - col0 + stride - 1) / stride);
    if (last > width) last = width;
    if (first > last) first = last;
    for (size_t r = 0; r < l->plane_rows; r++, dst += width) {
        const ptrdiff_t ih = (ptrdiff_t)((oh0 + r) * s->stride_height + phase_h) - (ptrdiff_t)s->pad_top;
        if (ih < 0 || ih >= (ptrdiff_t)s->in_height) {
            memset(dst, 0, width * sizeof(CONV_T));
            continue;
        }
        const CONV_T *row = src + (size_t)ih * s->in_width + col0;
        /* The padding by loops rather than memset: a few elements, less than the call costs. */
        for (size_t j = 0; j < first; j++) dst[j] = 0;
        if (sw == 1)
            CONV_FN(_copy_row)(dst + first, row + first, last - first);
        else if (sw == 2) /* a constant stride lets the compiler vectorize the gather */
            for (size_t j = first; j < last; j++) dst[j] = row[j * 2];
        else
            for (size_t j = first; j < last; j++) dst[j] = row[j * sw];
        for (size_t j = last; j < width; j++) dst[j] = 0;
    }
}

/* Staged planes [begin, begin + count) (plane = channel x phase slot) of the band starting
 * at output row oh0 from one image of x, into consecutive planes from dst. The slot and
 * channel are counted along, not divided out per plane: a 7x7 layer stages 9-row planes,
 * where three divisions per plane were a fifth of the staging. */
static void CONV_FN(_stage_planes)(const fc_conv2d_shape *s, const conv_layout *l, const CONV_T *x_image,
                                   size_t oh0, size_t begin, size_t count, CONV_T *dst) {
    const size_t slots_w = l->slots_w, slots = l->slots_h * slots_w, in_plane = s->in_height * s->in_width;
    size_t c = begin / slots, slot_h = begin % slots / slots_w, slot_w = begin % slots_w;
    for (size_t i = 0; i < count; i++, dst += l->plane_size) {
        CONV_FN(_stage_plane)(s, l, x_image + c * in_plane, oh0, l->slot_phase_h[slot_h], l->slot_phase_w[slot_w],
                              dst);
        if (++slot_w == slots_w) {
            slot_w = 0;
            if (++slot_h == l->slots_h) {
                slot_h = 0;
                c++;
            }
        }
    }
}

/* One image-group-band of a call: everything a task needs to multiply its tiles. */
typedef struct {
    const fc_conv2d_shape *s;
    const conv_layout *l;
    const CONV_GEMM_CONFIG *gemm;            /* regular tiles, or NULL */
    const CONV_GEMM_TRANSPOSED_CONFIG *gemmt; /* transposed tiles, or NULL */
    const CONV_T *weight;          /* regular: this group's first row of weights (k_size elements a row) */
    const CONV_T *last_panel;      /* regular: zero-padded copy of a last panel that would read past the weights */
    const CONV_T *packed;          /* transposed: this group's panels of NR channels x k_size rows */
    const CONV_T *b;               /* B source of this image-group-band */
    size_t b_length;               /* elements readable from b */
    const ptrdiff_t *offsets;      /* per k */
    const ptrdiff_t *tile_offsets; /* per k, for a tile copied to scratch: k * tile width */
    ptrdiff_t max_offset;
    CONV_T *out;                   /* (n, first channel of the group) */
    ptrdiff_t out_channel_stride;
    const CONV_EPILOGUE *ep;       /* offset to the group's first channel; residual to (n, group) */
    size_t oh0, band_pixels;
} CONV_FN(_band);

/* A compact tile: its pixels in the band's B source (the first, lowest and highest), the
 * rows and columns of the output they span, and the runs they are stored in. */
typedef struct {
    size_t start, end;      /* B source elements [start, end) hold its pixels at tap offset 0 */
    size_t count;           /* its pixels (the band's last tile may have fewer than tile_width) */
    size_t oh_min, oh_max, ow_min, ow_max;
    size_t run_count;
} CONV_FN(_compact);

/* Compact tile t of the band (see conv_compact_pixel); `pixels` (if not NULL) gets each
 * pixel's offset from `start`, tile_width of them, the last repeated past `count` (the
 * kernel reads every one); `runs` (if not NULL) the runs of consecutive output pixels. */
static CONV_FN(_compact) CONV_FN(_compact_tile)(const CONV_FN(_band) *band, size_t t, ptrdiff_t *pixels,
                                                fc_tile_run *runs) {
    const conv_layout *l = band->l;
    const size_t width = l->tile_width, ow_count = band->s->out_width, rows = band->band_pixels / l->row_width;
    const size_t q0 = t * width, outputs = rows * ow_count;
    CONV_FN(_compact) c = {SIZE_MAX, 0, outputs - q0 < width ? outputs - q0 : width, SIZE_MAX, 0, SIZE_MAX, 0, 0};
    size_t r, ow;
    conv_compact_pixel(band->s, &l->tiling, rows, q0, &r, &ow);
    if (!l->tiling.edge_left && !l->tiling.edge_right) { /* the band's pixels in order: one run, rows in order */
        c.oh_min = band->oh0 + r;
        c.ow_min = c.ow_max = ow;
        if (runs) runs[c.run_count++] = (fc_tile_run){0, c.count, (band->oh0 + r) * ow_count + ow};
        c.start = r * l->pixel_step_h + ow * l->pixel_step_w;
        for (size_t i = 0; i < c.count; i++) {
            c.end = r * l->pixel_step_h + ow * l->pixel_step_w + 1;
            c.ow_max = ow > c.ow_max ? ow : c.ow_max;
            if (++ow == ow_count && i + 1 < c.count) ow = 0, ++r, c.ow_min = 0;
            if (pixels) pixels[i] = (ptrdiff_t)(c.end - 1 - c.start);
        }
        c.oh_max = band->oh0 + r;
        for (size_t i = c.count; pixels && i < width; i++) pixels[i] = pixels[c.count - 1];
        return c;
    }
    ptrdiff_t at[CONV_MAX_OFFSET_PIXELS];
    for (size_t i = 0; i < c.count; i++, conv_compact_next(band->s, &l->tiling, rows, &r, &ow)) {
        const size_t b = r * l->pixel_step_h + ow * l->pixel_step_w, out = (band->oh0 + r) * ow_count + ow;
        at[i] = (ptrdiff_t)b;
        c.start = b < c.start ? b : c.start;
        c.end = b + 1 > c.end ? b + 1 : c.end;
        c.oh_min = r < c.oh_min ? r : c.oh_min;
        c.oh_max = r > c.oh_max ? r : c.oh_max;
        c.ow_min = ow < c.ow_min ? ow : c.ow_min;
        c.ow_max = ow > c.ow_max ? ow : c.ow_max;
        if (!runs) continue;
        fc_tile_run *last = c.run_count ? &runs[c.run_count - 1] : NULL;
        if (last && last->offset + last->length == out)
            last->length++;
        else
            runs[c.run_count++] = (fc_tile_run){i, 1, out};
    }
    c.oh_min += band->oh0;
    c.oh_max += band->oh0;
    for (size_t i = 0; pixels && i < width; i++) pixels[i] = at[i < c.count ? i : c.count - 1] - (ptrdiff_t)c.start;
    return c;
}

/* Where tile t reads in the band's B source at tap offset 0: from the return value to
 * *end, one past its last pixel; a compact tile's pixels are at the offsets from there
 * that `pixels` gets, if not NULL (see _compact_tile). */
static size_t CONV_FN(_tile_extent)(const CONV_FN(_band) *band, size_t t, size_t *end, ptrdiff_t *pixels) {
    const conv_layout *l = band->l;
    const size_t width = l->tile_width;
    if (l->tiling.order == CONV_TILES_COMPACT) {
        const CONV_FN(_compact) c = CONV_FN(_compact_tile)(band, t, pixels, NULL);
        *end = c.end;
        return c.start;
    }
    if (l->tiling.order != CONV_TILES_PER_ROW) {
        *end = t * width + width;
        return t * width;
    }
    const size_t start = conv_row_tile_start(l, t);
    *end = start + (width - 1) * l->pixel_step_w + 1;
    if (pixels) conv_row_tile_pixels(l, pixels);
    return start;
}

/* Whether tile t reads inside the band's B source only: its last pixel at the largest tap
 * offset does, or it is a whole tile of one row of x, which reads no tap outside. */
static int CONV_FN(_tile_inside)(const CONV_FN(_band) *band, size_t t) {
    const conv_layout *l = band->l;
    size_t end;
    CONV_FN(_tile_extent)(band, t, &end, NULL);
    if (end + (size_t)band->max_offset <= band->b_length) return 1;
    return l->x_rows && (t % l->segments + 1 < l->segments || band->s->out_width % l->tile_width == 0);
}

/* Tiles [t0, t1) times the weight panels [panel0, panel1): each panel passes once over the
 * tiles, which stay in L2. B of tile t is read at b + start(t), or from `copy` (tile t0
 * copied to scratch, t1 = t0 + 1). */
static void CONV_FN(_multiply)(const CONV_FN(_band) *band, size_t panel0, size_t panel1, size_t t0, size_t t1,
                               const CONV_T *copy) {
    const fc_conv2d_shape *s = band->s;
    const conv_layout *l = band->l;
    const size_t rows_per_panel = l->panel_rows, cout_g = s->out_channels / s->groups;
    const size_t k_size = conv_k_size(s);
    const size_t pixels = s->out_height * s->out_width, panel_count = (cout_g + rows_per_panel - 1) / rows_per_panel;
    const ptrdiff_t *offsets = copy ? band->tile_offsets : band->offsets;
    const size_t ocs = (size_t)band->out_channel_stride;
    fc_tile_run runs[FC_MAX_TILE_RUNS];
    for (size_t i = panel0; i < panel1; i++) {
        const size_t row0 = i * rows_per_panel;
        const size_t rows = cout_g - row0 < rows_per_panel ? cout_g - row0 : rows_per_panel;
        CONV_EPILOGUE ep = *band->ep;
        ep.bias = ep.bias ? ep.bias + row0 : NULL;
        ep.scale = ep.scale ? ep.scale + row0 : NULL;
        ep.slope = ep.slope ? ep.slope + row0 : NULL;
        ep.residual = ep.residual ? ep.residual + row0 * pixels : NULL;
        ep.residual_row_stride = (ptrdiff_t)pixels;
        CONV_T *out_rows = band->out + (ptrdiff_t)row0 * band->out_channel_stride;
        if (band->gemmt) {
            const CONV_T *w = band->packed + i * k_size * rows_per_panel;
            /* Compact tiles read each pixel at its own offset, tiles of one row of x at its
             * column stride. */
            const int compact = l->tiling.order == CONV_TILES_COMPACT;
            const int strided = l->tiling.order == CONV_TILES_PER_ROW && l->pixel_step_w > 1;
            ptrdiff_t pixels[CONV_MAX_TILE_PIXELS];
            if (strided) conv_row_tile_pixels(l, pixels);
            for (size_t t = t0; t < t1; t++) {
                /* The tile's first pixel in B, its pixels, the runs of them that are stored,
                 * the output rows and columns they span (tiles of one row: their columns are
                 * the layout's). */
                size_t start, tile_pixels, count, oh_min, oh_max, ow_min = 0, ow_max = s->out_width - 1;
                if (compact) {
                    const CONV_FN(_compact) c = CONV_FN(_compact_tile)(band, t, pixels, runs);
                    start = c.start;
                    tile_pixels = c.count;
                    count = c.run_count;
                    oh_min = c.oh_min;
                    oh_max = c.oh_max;
                    ow_min = c.ow_min;
                    ow_max = c.ow_max;
                } else if (l->tiling.order == CONV_TILES_PER_ROW) {
                    ow_min = t % l->segments * l->tile_width;
                    start = conv_row_tile_start(l, t);
                    tile_pixels = conv_row_tile_count(s, l->tile_width, t % l->segments);
                    oh_min = oh_max = band->oh0 + t / l->segments;
                    runs[0] = (fc_tile_run){0, tile_pixels, oh_min * s->out_width + ow_min};
                    count = 1;
                } else {
                    start = t * l->tile_width;
                    tile_pixels = band->band_pixels - start < l->tile_width ? band->band_pixels - start : l->tile_width;
                    count = conv_tile_runs(s, l, band->oh0, band->band_pixels, start, l->tile_width, runs);
                    oh_min = band->oh0 + start / l->row_width;
                    oh_max = band->oh0 + (start + tile_pixels - 1) / l->row_width;
                }
                const conv_tile_steps k =
                    l->row_columns
                        ? conv_tile_rows_k(s, l->channel_block, oh_min, oh_max, &l->row_columns[t % l->segments])
                        : conv_tile_k(s, l->channel_block, oh_min, oh_max, ow_min, ow_max);
                band->gemmt->ukernel(tile_pixels, rows, k.kc, k.k_runs, k.k_run_stride,
                                     k.columns.skipped ? &k.columns.edges : NULL,
                                     copy ? copy : band->b + start, offsets + k.k0,
                                     (compact || strided) && !copy ? pixels : NULL,
                                     w + k.k0 * rows_per_panel, out_rows, ocs, runs, count, &ep);
            }
        } else {
            const CONV_T *a =
                i == panel_count - 1 && band->last_panel ? band->last_panel : band->weight + row0 * k_size;
            const int per_row = l->tiling.order == CONV_TILES_PER_ROW;
            for (size_t t = t0; t < t1; t++) {
                /* The tile's first wide pixel and the pixels from there it stores (its row's
                 * last ones, tiles of one row). */
                const size_t q0 = per_row ? conv_row_tile_start(l, t) : t * l->tile_width;
                const size_t rest = per_row ? conv_row_tile_count(s, l->tile_width, t % l->segments)
                                            : band->band_pixels - q0;
                const size_t tail_nr = band->gemm->tail_nr;
                const CONV_T *b = copy ? copy : band->b + q0;
                if (band->gemm->tail && rest <= l->tile_width - tail_nr) { /* the last, whole vectors empty */
                    for (size_t q = 0; q < rest; q += tail_nr) {
                        const size_t count = conv_tile_runs(s, l, band->oh0, band->band_pixels, q0 + q,
                                                            rest - q < tail_nr ? rest - q : tail_nr, runs);
                        band->gemm->tail(rows, k_size, a, k_size, b + q, offsets, out_rows, ocs, runs, count, &ep);
                    }
                    continue;
                }
                const size_t count = conv_tile_runs(s, l, band->oh0, band->band_pixels, q0,
                                                    rest < l->tile_width ? rest : l->tile_width, runs);
                band->gemm->ukernel(rows, k_size, a, k_size, b, offsets, out_rows, ocs, runs, count, &ep);
            }
        }
    }
}

/* Tiles [t0, t1) times panels [panel0, panel1). Tiles whose dropped columns would read
 * past the end of the B source are copied to `scratch` (k_size x tile width) first. */
static void CONV_FN(_run_tiles)(const CONV_FN(_band) *band, size_t panel0, size_t panel1, size_t t0, size_t t1,
                                CONV_T *scratch) {
    const size_t width = band->l->tile_width;
    const size_t k_size = conv_k_size(band->s);
    /* Transposed tiles of one row may read their pixels at a stride; regular ones read NR in a row. */
    const int gathered = band->l->tiling.order == CONV_TILES_COMPACT ||
                         (band->l->tiling.order == CONV_TILES_PER_ROW && band->l->transposed);
    ptrdiff_t pixels[CONV_MAX_TILE_PIXELS];
    for (size_t t = t0, end; t < t1; t++) {
        size_t safe_end = t;
        while (safe_end < t1 && CONV_FN(_tile_inside)(band, safe_end)) safe_end++;
        if (safe_end > t) { /* tiles [t, safe_end) read inside, tile safe_end (if any) past the end */
            CONV_FN(_multiply)(band, panel0, panel1, t, safe_end, NULL);
            t = safe_end;
            if (t == t1) break;
        }
        const size_t start = CONV_FN(_tile_extent)(band, t, &end, gathered ? pixels : NULL);
        for (size_t k = 0; k < k_size; k++)
            for (size_t j = 0; j < width; j++) {
                const size_t at = start + (gathered ? (size_t)pixels[j] : j) + (size_t)band->offsets[k];
                scratch[k * width + j] = at < band->b_length ? band->b[at] : 0;
            }
        CONV_FN(_multiply)(band, panel0, panel1, t, t + 1, scratch);
    }
}

/* The active ISA's regular tile, and staging (expanded or not), that waste least on this
 * shape, its cost in *cost; `with_tails`: counting that a band's last tile runs as one-vector
 * tiles where it would leave whole vectors empty (as calls run them), else pricing it whole.
 * Transposed tiles are weighed against the latter (with tails counted, regular tiles won on
 * 1x1 96->576 @14 and ResNeXt's g32 3x3 @14, and ran 3 and 5 % slower than transposed ones);
 * calls choose by the former (1x1 s2 64->128 @56: 8x48 and tails, 12 % faster than 12x32). */
static const CONV_GEMM_CONFIG *CONV_FN(_choose_tile)(const fc_conv2d_shape *s, int with_tails, int *expanded,
                                                     double *cost) {
    const CONV_GEMM_CONFIG *tiles = fc_active()->CONV_PASTE(, CONV_SFX, _gemm), *best = &tiles[0];
    double best_cost = conv_tile_cost(s, best->mr, best->nr, with_tails ? best->tail_nr : 0, 0, 0);
    *expanded = 0;
    for (size_t i = 0; i < FC_GEMM_TILES; i++)
        for (int e = 0; e <= conv_can_expand(s, sizeof(CONV_T)); e++) {
            const size_t tail_nr = with_tails ? tiles[i].tail_nr : 0;
            const double c = tiles[i].ukernel ? conv_tile_cost(s, tiles[i].mr, tiles[i].nr, tail_nr, 0, e) : best_cost;
            if (c < (1 - CONV_TILE_MARGIN) * best_cost) {
                best = &tiles[i];
                best_cost = c;
                *expanded = e;
            }
        }
    if (cost) *cost = best_cost;
    return best;
}

/* The active ISA's transposed tile for this shape if it beats the best regular one by the
 * margin, else NULL; `pack_cost` (same units as conv_tile_cost) is added to its cost. As
 * among regular tiles, the first is the default that another must beat by the margin. */
static const CONV_GEMM_TRANSPOSED_CONFIG *CONV_FN(_choose_transposed)(const fc_conv2d_shape *s, double pack_cost) {
    int expanded;
    double regular_cost;
    CONV_FN(_choose_tile)(s, 0, &expanded, &regular_cost);
    const CONV_GEMM_TRANSPOSED_CONFIG *tiles = fc_active()->CONV_PASTE(, CONV_SFX, _gemm_transposed), *best = &tiles[0];
    double best_cost = conv_tile_cost(s, best->mr, best->nr, 0, 1, 0);
    for (size_t i = 1; i < FC_GEMM_TRANSPOSED_TILES; i++) {
        const double cost = tiles[i].ukernel ? conv_tile_cost(s, tiles[i].mr, tiles[i].nr, 0, 1, 0) : best_cost;
        if (cost < (1 - CONV_TILE_MARGIN) * best_cost) {
            best = &tiles[i];
            best_cost = cost;
        }
    }
    /* Regular tiles stage (their costs, compared among themselves, leave that out). */
    regular_cost += conv_staging_work(s) / (double)conv_k_size(s);
    return best_cost + pack_cost < (1 - CONV_TILE_MARGIN) * regular_cost ? best : NULL;
}

size_t CONV_FN(_conv2d_transposed_channels)(const fc_conv2d_shape *s) {
    const CONV_GEMM_TRANSPOSED_CONFIG *t = CONV_FN(_choose_transposed)(s, 0);
    return t ? t->nr : 0;
}

/* The transposed tile a call runs, or NULL for regular tiles. With `prepacked` weights,
 * wherever transposed tiles win; otherwise the call packs them itself, so only where they
 * win by more than the packing costs (batches of small maps). */
static const CONV_GEMM_TRANSPOSED_CONFIG *CONV_FN(_choose_call_tile)(const fc_conv2d_shape *s, int prepacked) {
    return CONV_FN(_choose_transposed)(s, prepacked ? 0 : conv_pack_cost(s, sizeof(CONV_T)));
}

/* The tiles and staging of a call. */
typedef struct {
    const CONV_GEMM_TRANSPOSED_CONFIG *gemmt; /* transposed tiles, or NULL */
    const CONV_GEMM_CONFIG *gemm;             /* else regular tiles */
    int expanded;                             /* regular tiles over expanded staging */
    size_t panel_rows, tile_width;            /* output channels and pixels of a tile */
} CONV_FN(_tiles);

/* The tiles of a call with weights prepacked for `packed_channels`-wide transposed tiles
 * (0: for whatever the active ISA packs), or not prepacked. */
static CONV_FN(_tiles) CONV_FN(_call_tiles)(const fc_conv2d_shape *s, int prepacked, size_t packed_channels) {
    CONV_FN(_tiles) t = {CONV_FN(_choose_call_tile)(s, prepacked), NULL, 0, 0, 0};
    if (prepacked && t.gemmt && packed_channels && t.gemmt->nr != packed_channels)
        t.gemmt = NULL; /* packed for another ISA's tile */
    if (!t.gemmt) t.gemm = CONV_FN(_choose_tile)(s, 1, &t.expanded, NULL);
    t.panel_rows = t.gemmt ? t.gemmt->nr : t.gemm->mr;
    t.tile_width = t.gemmt ? t.gemmt->mr : t.gemm->nr;
    return t;
}

int CONV_FN(_conv2d_method)(const fc_conv2d_shape *s, int prepacked) {
    const CONV_FN(_tiles) t = CONV_FN(_call_tiles)(s, prepacked, 0);
    int per_row = 0;
    if (t.gemm && !t.expanded)
        conv_regular_tile_columns(s, conv_row_width(s, 0), t.gemm->mr, t.gemm->nr, t.gemm->tail_nr, &per_row);
    if (!t.gemmt) return t.expanded ? FC_CONV2D_EXPANDED : per_row ? FC_CONV2D_ROWS : FC_CONV2D_REGULAR;
    conv_tiling tiling;
    conv_transposed_work(s, t.gemmt->mr, &tiling);
    if (tiling.order != CONV_TILES_COMPACT) return FC_CONV2D_TRANSPOSED;
    return tiling.edge_left + tiling.edge_right ? FC_CONV2D_EDGES : FC_CONV2D_COMPACT;
}

/* Elements of weights packed for transposed tiles `nr` channels wide. */
static size_t CONV_FN(_packed_size)(const fc_conv2d_shape *s, size_t nr) {
    return s->groups * ((s->out_channels / s->groups + nr - 1) / nr) * nr * conv_k_size(s);
}

void CONV_FN(_conv2d_pack_transposed)(const fc_conv2d_shape *s, size_t nr, const CONV_T *weight, CONV_T *packed) {
    const size_t cout_g = s->out_channels / s->groups, cin_g = s->in_channels / s->groups;
    const size_t kh = s->kernel_height, kw = s->kernel_width, k_size = conv_k_size(s);
    const size_t panels = (cout_g + nr - 1) / nr, block = conv_channel_block(s);
#pragma omp parallel for schedule(static) if (s->out_channels * k_size > CONV_PACK_PARALLEL_ELEMENTS)
    for (size_t gp = 0; gp < s->groups * panels; gp++) {
        const size_t g = gp / panels, m0 = gp % panels * nr;
        CONV_T *panel = packed + gp * k_size * nr;
        const size_t rows = cout_g - m0 < nr ? cout_g - m0 : nr;
        const CONV_T *w = weight + (g * cout_g + m0) * k_size;
        /* Groups of CONV_PACK_ROWS weight rows, read side by side in their order (few enough
         * streams for the prefetcher, each line read once), each k writing a short run of its
         * packed row. Packed rows go in conv_transposed_k's order, so that a tile skips the
         * kernel rows and columns that read padding by runs of k. */
        for (size_t c0 = 0; c0 < nr; c0 += CONV_PACK_ROWS) {
            const size_t c1 = c0 + CONV_PACK_ROWS < rows ? c0 + CONV_PACK_ROWS : rows;
            const size_t c_end = c0 + CONV_PACK_ROWS < nr ? c0 + CONV_PACK_ROWS : nr;
            const CONV_T *src = w;
            for (size_t ci = 0; ci < cin_g; ci++) {
                const size_t k_c = conv_transposed_k(s, block, ci);
                for (size_t i = 0; i < kh; i++)
                    for (size_t j = 0; j < kw; j++, src++) {
                        CONV_T *out = panel + (conv_transposed_tap_k(kw * cin_g, block, i, j) + k_c) * nr;
                        size_t c = c0;
                        for (; c < c1; c++) out[c] = src[c * k_size];
                        for (; c < c_end; c++) out[c] = 0;
                    }
            }
        }
    }
}

size_t CONV_FN(_conv2d_workspace_size)(const fc_conv2d_shape *s, int prepacked) {
    const CONV_FN(_tiles) t = CONV_FN(_call_tiles)(s, prepacked, 0);
    const int threads = fc_max_threads();
    conv_layout l;
    if (conv_layout_init(&l, s, t.panel_rows, t.tile_width, t.gemm ? t.gemm->tail_nr : 0, t.gemmt != NULL, t.expanded,
                         sizeof(CONV_T), threads) !=
        FC_OK)
        return 0;
    const size_t k_size = conv_k_size(s);
    const size_t group_elements = s->in_channels / s->groups * l.slots_h * l.slots_w * l.plane_size;
    const size_t staged = !l.staged        ? 0
                          : l.own_staging  ? (size_t)threads * (group_elements + conv_stage_tail(&l))
                          : l.copy_staging ? (size_t)threads * (s->groups * group_elements + conv_stage_tail(&l))
                                           : s->groups * group_elements + conv_stage_tail(&l);
    const size_t last_panels =
        t.gemm && s->out_channels / s->groups % t.gemm->mr ? s->groups * t.gemm->mr * k_size : 0;
    const size_t packing = t.gemmt && !prepacked ? CONV_FN(_packed_size)(s, t.gemmt->nr) : 0;
    conv_layout_free(&l);
    return (staged + last_panels + packing + (size_t)threads * k_size * t.tile_width) * sizeof(CONV_T) +
           2 * k_size * sizeof(ptrdiff_t);
}

/* What every thread of one call shares. */
typedef struct {
    const fc_conv2d_shape *s;
    const conv_layout *l;
    const CONV_GEMM_CONFIG *gemm;
    const CONV_GEMM_TRANSPOSED_CONFIG *gemmt;
    const CONV_T *x, *weight, *packed;
    const CONV_T *last_panels;  /* zero-padded last panels of groups [first_copied_group, groups) */
    size_t first_copied_group;
    CONV_T *staged;             /* the band's staged input planes, if l->staged */
    const ptrdiff_t *offsets, *tile_offsets;
    ptrdiff_t max_offset;
    CONV_T *out;
    fc_output_layout layout;
    const CONV_EPILOGUE *ep;
    int status;                 /* FC_ENOMEM if a thread could not allocate its scratch */
} CONV_FN(_call);

/* Task (block, chunk) of group g in the band of `rows` output rows from oh0 of image n:
 * tiles [block * tiles_per_block, ...) times a chunk of the group's weight panels. */
static void CONV_FN(_run_task)(const CONV_FN(_call) *c, const CONV_T *b, size_t b_length, size_t n, size_t oh0,
                               size_t rows, size_t g, size_t block, size_t chunk, CONV_T *scratch) {
    const fc_conv2d_shape *s = c->s;
    const conv_layout *l = c->l;
    const size_t groups = s->groups, cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t k_size = cin_g * s->kernel_height * s->kernel_width, pixels = s->out_height * s->out_width;
    const size_t panels = (cout_g + l->panel_rows - 1) / l->panel_rows, tiles = conv_band_tiles(s, l, rows);
    const CONV_EPILOGUE *ep = c->ep;
    CONV_EPILOGUE group_ep = *ep;
    group_ep.bias = ep->bias ? ep->bias + g * cout_g : NULL;
    group_ep.scale = ep->scale ? ep->scale + g * cout_g : NULL;
    group_ep.slope = ep->slope ? ep->slope + g * cout_g : NULL;
    group_ep.residual = ep->residual ? ep->residual + (n * s->out_channels + g * cout_g) * pixels : NULL;
    const CONV_FN(_band) band = {
        s, l, c->gemm, c->gemmt, c->weight + g * cout_g * k_size,
        g >= c->first_copied_group ? c->last_panels + (g - c->first_copied_group) * l->panel_rows * k_size : NULL,
        c->gemmt ? c->packed + g * panels * l->panel_rows * k_size : NULL, b, b_length, c->offsets, c->tile_offsets,
        c->max_offset,
        c->out + (ptrdiff_t)n * c->layout.batch_stride + (ptrdiff_t)(g * cout_g) * c->layout.channel_stride,
        c->layout.channel_stride, &group_ep, oh0, rows * l->row_width};
    const size_t t0 = block * l->tiles_per_block;
    const size_t t1 = t0 + l->tiles_per_block < tiles ? t0 + l->tiles_per_block : tiles;
    const size_t p0 = chunk * panels / l->panel_chunks, p1 = (chunk + 1) * panels / l->panel_chunks;
    CONV_FN(_run_tiles)(&band, p0, p1, t0, t1, scratch);
}

/* One thread's part of a call: its share of every worksharing loop. Called from a
 * parallel region, or directly, where each loop runs whole on the calling thread. */
static void CONV_FN(_conv2d_thread)(CONV_FN(_call) *c) {
    const fc_conv2d_shape *s = c->s;
    const conv_layout *l = c->l;
    const size_t groups = s->groups, cin_g = s->in_channels / groups;
    const size_t k_size = cin_g * s->kernel_height * s->kernel_width;
    const size_t in_plane = s->in_height * s->in_width, x_length = s->batch * s->in_channels * in_plane;
    const size_t planes = cin_g * l->slots_h * l->slots_w, group_elements = planes * l->plane_size;
    const size_t units = s->batch * conv_band_count(s, l->band_rows);
    const unsigned fp_state = fc_denormals_flush();
    CONV_T *scratch = fc_alloc(k_size * l->tile_width * sizeof(CONV_T));
    /* Own staging and copies go to a buffer of the thread's: one group's planes, or all
     * groups', then zeros. */
    const size_t tail = conv_stage_tail(l), own_elements = l->copy_staging ? groups * group_elements : group_elements;
    const int owned = l->own_staging || l->copy_staging;
    CONV_T *own = owned ? fc_alloc((own_elements + tail) * sizeof(CONV_T)) : NULL;
    if (own) memset(own + own_elements, 0, tail * sizeof(CONV_T));
    if (!scratch || (owned && !own)) {
#pragma omp atomic write
        c->status = FC_ENOMEM;
    }
    /* A unit is a band of one image. With own staging, a task is one group of one unit;
     * otherwise each unit is staged, every group at once, by the team (or with copies by each
     * thread), then its tasks (groups x tile blocks x panel chunks) run. */
    if (l->own_staging) {
#pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < units * groups; task++) {
            if (!scratch || !own) continue;
            const size_t g = task % groups;
            const conv_unit b = conv_unit_band(s, l, task / groups);
            const CONV_T *x_image = c->x + b.image * s->in_channels * in_plane;
            CONV_FN(_stage_planes)(s, l, x_image, b.oh0, g * planes, planes, own);
            const size_t tasks = conv_unit_tasks(s, l, b.rows);
            for (size_t t = 0; t < tasks; t++)
                CONV_FN(_run_task)(c, own, group_elements + tail, b.image, b.oh0, b.rows, g, t / l->panel_chunks,
                                   t % l->panel_chunks, scratch);
        }
    } else {
        for (size_t unit = 0; unit < units; unit++) {
            const conv_unit b = conv_unit_band(s, l, unit);
            const CONV_T *x_image = c->x + b.image * s->in_channels * in_plane;
            const size_t all = groups * planes;
            if (l->copy_staging && own) {
                CONV_FN(_stage_planes)(s, l, x_image, b.oh0, 0, all, own);
            } else if (l->staged && !l->copy_staging) { /* dynamic: a thread the OS pauses holds back little */
#pragma omp for schedule(dynamic, 1)
                for (size_t p = 0; p < all; p += CONV_STAGE_PLANES_PER_TASK)
                    CONV_FN(_stage_planes)(s, l, x_image, b.oh0, p,
                                           all - p < CONV_STAGE_PLANES_PER_TASK ? all - p : CONV_STAGE_PLANES_PER_TASK,
                                           c->staged + p * l->plane_size);
            }
            const size_t tasks = conv_unit_tasks(s, l, b.rows);
#pragma omp for schedule(dynamic, 1)
            for (size_t task = 0; task < groups * tasks; task++) {
                if (!scratch || (l->copy_staging && !own)) continue;
                const size_t g = task / tasks, t = task % tasks;
                const CONV_T *x_group = x_image + g * cin_g * in_plane;
                const CONV_T *src = l->staged ? (l->copy_staging ? own : c->staged) + g * group_elements : x_group;
                const size_t length =
                    l->staged ? (groups - g) * group_elements + tail : x_length - (size_t)(x_group - c->x);
                CONV_FN(_run_task)(c, src, length, b.image, b.oh0, b.rows, g, t / l->panel_chunks,
                                   t % l->panel_chunks, scratch);
            }
        }
    }
    free(scratch);
    free(own);
    fc_denormals_restore(fp_state);
}

int CONV_FN(_conv2d)(const fc_conv2d_shape *s, const CONV_T *x, const CONV_T *weight, const CONV_T *packed,
                     size_t packed_channels, CONV_T *out, fc_output_layout layout, const CONV_EPILOGUE *ep) {
    const CONV_FN(_tiles) tiles = CONV_FN(_call_tiles)(s, packed != NULL, packed_channels);
    const CONV_GEMM_TRANSPOSED_CONFIG *gemmt = tiles.gemmt;
    const CONV_GEMM_CONFIG *gemm = tiles.gemm;
    const size_t panel_rows = tiles.panel_rows, tile_width = tiles.tile_width;
    CONV_T *packed_here = NULL;
    if (gemmt && !packed) {
        packed_here = fc_alloc(CONV_FN(_packed_size)(s, gemmt->nr) * sizeof(CONV_T));
        if (!packed_here) return FC_ENOMEM;
        CONV_FN(_conv2d_pack_transposed)(s, gemmt->nr, weight, packed_here);
        packed = packed_here;
    }
    const size_t groups = s->groups, cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t k_size = cin_g * s->kernel_height * s->kernel_width;
    const size_t pixels = s->out_height * s->out_width, panels = (cout_g + panel_rows - 1) / panel_rows;
    conv_layout l;
    if (conv_layout_init(&l, s, panel_rows, tile_width, tiles.gemm ? tiles.gemm->tail_nr : 0, gemmt != NULL,
                         tiles.expanded, sizeof(CONV_T),
                         fc_max_threads()) != FC_OK) {
        free(packed_here);
        return FC_ENOMEM;
    }
    const size_t planes = cin_g * l.slots_h * l.slots_w;
    /* A group's partial last panel reads MR rows: past the end of the weights for the
     * trailing groups whose panels reach beyond out_channels, so those panels are copied,
     * zero-padded. Groups [first_copied_group, groups) get one each. */
    const size_t last_rows = gemm ? cout_g % panel_rows : 0;
    size_t first_copied_group = groups;
    while (last_rows && first_copied_group > 0 &&
           (first_copied_group - 1) * cout_g + panels * panel_rows > s->out_channels)
        first_copied_group--;
    const size_t copied_groups = groups - first_copied_group;
    ptrdiff_t *offsets = malloc(2 * k_size * sizeof(ptrdiff_t));
    const int shared_staging = l.staged && !l.own_staging && !l.copy_staging; /* else each thread stages its own */
    /* Zeros past the staged planes, as past a thread's own: no tile reads past the end. */
    const size_t staged_elements = groups * planes * l.plane_size;
    CONV_T *staged = shared_staging ? fc_alloc((staged_elements + conv_stage_tail(&l)) * sizeof(CONV_T)) : NULL;
    CONV_T *last_panels = copied_groups ? fc_alloc(copied_groups * panel_rows * k_size * sizeof(CONV_T)) : NULL;
    if (!offsets || (shared_staging && !staged) || (copied_groups && !last_panels)) {
        free(offsets);
        free(staged);
        free(last_panels);
        free(packed_here);
        conv_layout_free(&l);
        return FC_ENOMEM;
    }
    if (staged) memset(staged + staged_elements, 0, conv_stage_tail(&l) * sizeof(CONV_T));
    for (size_t g = first_copied_group; g < groups; g++) {
        CONV_T *panel = last_panels + (g - first_copied_group) * panel_rows * k_size;
        memcpy(panel, weight + ((g + 1) * cout_g - last_rows) * k_size, last_rows * k_size * sizeof(CONV_T));
        memset(panel + last_rows * k_size, 0, (panel_rows - last_rows) * k_size * sizeof(CONV_T));
    }
    ptrdiff_t *tile_offsets = offsets + k_size, max_offset = 0;
    conv_tap_offsets(s, &l, offsets);
    for (size_t k = 0; k < k_size; k++) {
        tile_offsets[k] = (ptrdiff_t)(k * tile_width);
        if (offsets[k] > max_offset) max_offset = offsets[k];
    }
    const CONV_EPILOGUE no_epilogue = {NULL, NULL, NULL, 0, -(CONV_T)__builtin_inf(), (CONV_T)__builtin_inf()};
    CONV_FN(_call) call = {s, &l, gemm, gemmt, x, weight, packed, last_panels, first_copied_group, staged,
                           offsets, tile_offsets, max_offset, out, layout, ep ? ep : &no_epilogue, FC_OK};
    const double flops = 2.0 * (double)s->batch * (double)s->out_channels * (double)pixels * (double)k_size;
    /* No team where one thread does it all (even a team of one costs microseconds), unless
     * the caller runs in a team of its own, which the loops would then bind to. */
    if ((flops > CONV_PARALLEL_FLOPS && fc_max_threads() > 1) || fc_in_parallel()) {
#pragma omp parallel if (flops > CONV_PARALLEL_FLOPS)
        CONV_FN(_conv2d_thread)(&call);
    } else {
        CONV_FN(_conv2d_thread)(&call);
    }
    const int status = call.status;
    free(offsets);
    free(staged);
    free(last_panels);
    free(packed_here);
    conv_layout_free(&l);
    return status;
}

#undef CONV_PASTE_
#undef CONV_PASTE
#undef CONV_FN
#undef CONV_EPILOGUE
#undef CONV_GEMM_CONFIG
#undef CONV_GEMM_TRANSPOSED_CONFIG
#undef CONV_T
#undef CONV_SFX
