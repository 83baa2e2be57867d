/* Template of the conv2d operator for one dtype (see conv2d.c for the method): included
 * by conv2d.c with CONV_T (float/double) and CONV_SFX (f32/f64) defined. */

#define CONV_PASTE_(a, b, c) a##b##c
#define CONV_PASTE(a, b, c) CONV_PASTE_(a, b, c)
#define CONV_FN(name) CONV_PASTE(fc_, CONV_SFX, name)
#define CONV_EPILOGUE CONV_PASTE(fc_, CONV_SFX, _epilogue)
#define CONV_GEMM_CONFIG CONV_PASTE(fc_, CONV_SFX, _gemm_config)

/* Fills staged plane `plane` (channel c, phase slot) of the band starting at output row oh0
 * from one image-group of x; taps that fall in the padding read zero. */
static void CONV_FN(_stage_plane)(const fc_conv2d_shape *s, const conv_layout *l, const CONV_T *x_group, size_t oh0,
                                  size_t plane, CONV_T *staged) {
    const size_t slots = l->slots_h * l->slots_w, c = plane / slots;
    const size_t phase_h = l->slot_phase_h[plane % slots / l->slots_w], phase_w = l->slot_phase_w[plane % l->slots_w];
    const CONV_T *src = x_group + c * s->in_height * s->in_width;
    CONV_T *dst = staged + plane * l->plane_size;
    const size_t sw = s->stride_width, width = l->row_width;
    /* Staged columns [first, last) read inside the input row. */
    const ptrdiff_t col0 = (ptrdiff_t)phase_w - (ptrdiff_t)s->pad_left;
    size_t first = col0 >= 0 ? 0 : (size_t)((-col0 + (ptrdiff_t)sw - 1) / (ptrdiff_t)sw);
    size_t last = col0 >= (ptrdiff_t)s->in_width ? 0 : (size_t)(((ptrdiff_t)s->in_width - col0 + (ptrdiff_t)sw - 1) / (ptrdiff_t)sw);
    if (last > width) last = width;
    if (first > last) first = last;
    for (size_t r = 0; r < l->plane_rows; r++, dst += width) {
        const ptrdiff_t ih = (ptrdiff_t)((oh0 + r) * s->stride_height + phase_h) - (ptrdiff_t)s->pad_top;
        if (ih < 0 || ih >= (ptrdiff_t)s->in_height) {
            memset(dst, 0, width * sizeof(CONV_T));
            continue;
        }
        const CONV_T *row = src + (size_t)ih * s->in_width + col0;
        memset(dst, 0, first * sizeof(CONV_T));
        if (sw == 1)
            memcpy(dst + first, row + first, (last - first) * sizeof(CONV_T));
        else if (sw == 2) /* a constant stride lets the compiler vectorize the gather */
            for (size_t j = first; j < last; j++) dst[j] = row[j * 2];
        else
            for (size_t j = first; j < last; j++) dst[j] = row[j * sw];
        memset(dst + last, 0, (width - last) * sizeof(CONV_T));
    }
}

/* One task: the tiles [tile0, tile_end) of a band times the weight panels of one chunk. */
typedef struct {
    const fc_conv2d_shape *s;
    const conv_layout *l;
    const CONV_GEMM_CONFIG *gemm;
    const CONV_T *weight;          /* this group's first row of weights (k_size elements a row) */
    const CONV_T *last_panel;      /* zero-padded copy of the last panel if it would read past the weights, or NULL */
    const CONV_T *b;               /* B source of this image-group-band */
    size_t b_length;               /* elements readable from b */
    const ptrdiff_t *offsets;      /* per k */
    const ptrdiff_t *tile_offsets; /* per k, for a tile copied to scratch: k * NR */
    ptrdiff_t max_offset;
    CONV_T *out;                   /* (n, first channel of the group) */
    ptrdiff_t out_channel_stride;
    const CONV_EPILOGUE *ep;       /* offset to the group's first channel; residual to (n, group) */
    size_t oh0, band_pixels;
} CONV_FN(_band);

/* Tiles [t0, t1) (B of tile t at b + (t - t0) * b_step, rows at `offsets`) times the
 * weight panels [panel0, panel1): each A panel passes once over the tiles, which stay in L2. */
static void CONV_FN(_multiply)(const CONV_FN(_band) *band, size_t panel0, size_t panel1, size_t t0, size_t t1,
                               const CONV_T *b, size_t b_step, const ptrdiff_t *offsets) {
    const fc_conv2d_shape *s = band->s;
    const size_t mr = band->gemm->mr, nr = band->gemm->nr, cout_g = s->out_channels / s->groups;
    const size_t k_size = s->in_channels / s->groups * s->kernel_height * s->kernel_width;
    const size_t pixels = s->out_height * s->out_width, panel_count = (cout_g + mr - 1) / mr;
    fc_tile_run runs[FC_MAX_TILE_RUNS];
    for (size_t i = panel0; i < panel1; i++) {
        const size_t row0 = i * mr, rows = cout_g - row0 < mr ? cout_g - row0 : mr;
        CONV_EPILOGUE ep = *band->ep;
        ep.bias = ep.bias ? ep.bias + row0 : NULL;
        ep.slope = ep.slope ? ep.slope + row0 : NULL;
        ep.residual = ep.residual ? ep.residual + row0 * pixels : NULL;
        ep.residual_row_stride = (ptrdiff_t)pixels;
        const CONV_T *a = i == panel_count - 1 && band->last_panel ? band->last_panel : band->weight + row0 * k_size;
        CONV_T *out_rows = band->out + (ptrdiff_t)row0 * band->out_channel_stride;
        for (size_t t = t0; t < t1; t++) {
            const size_t count = conv_tile_runs(s, band->l, band->oh0, band->band_pixels, t * nr, nr, runs);
            band->gemm->ukernel(rows, k_size, a, k_size, b + (t - t0) * b_step, offsets, out_rows,
                                (size_t)band->out_channel_stride, runs, count, &ep);
        }
    }
}

/* Tiles [t0, t1) times panels [panel0, panel1). Tiles whose dropped columns would read
 * past the end of the B source are copied to `scratch` (k_size x NR) first, one by one. */
static void CONV_FN(_run_tiles)(const CONV_FN(_band) *band, size_t panel0, size_t panel1, size_t t0, size_t t1,
                                CONV_T *scratch) {
    const size_t nr = band->gemm->nr;
    const size_t k_size = band->s->in_channels / band->s->groups * band->s->kernel_height * band->s->kernel_width;
    const size_t reach = nr + (size_t)band->max_offset;
    size_t safe_end = band->b_length >= reach ? (band->b_length - reach) / nr + 1 : 0;
    if (safe_end > t1) safe_end = t1;
    if (safe_end > t0) CONV_FN(_multiply)(band, panel0, panel1, t0, safe_end, band->b + t0 * nr, nr, band->offsets);
    for (size_t t = safe_end > t0 ? safe_end : t0; t < t1; t++) {
        for (size_t k = 0; k < k_size; k++)
            for (size_t j = 0; j < nr; j++) {
                const size_t at = t * nr + j + (size_t)band->offsets[k];
                scratch[k * nr + j] = at < band->b_length ? band->b[at] : 0;
            }
        CONV_FN(_multiply)(band, panel0, panel1, t, t + 1, scratch, 0, band->tile_offsets);
    }
}

/* The active ISA's tile that wastes least on this shape. */
static const CONV_GEMM_CONFIG *CONV_FN(_choose_tile)(const fc_conv2d_shape *s) {
    const CONV_GEMM_CONFIG *tiles = fc_active()->CONV_PASTE(, CONV_SFX, _gemm), *best = &tiles[0];
    for (size_t i = 1; i < FC_GEMM_TILES; i++)
        if (tiles[i].ukernel && conv_tile_cost(s, tiles[i].mr, tiles[i].nr) <
                                    (1 - CONV_TILE_MARGIN) * conv_tile_cost(s, best->mr, best->nr))
            best = &tiles[i];
    return best;
}

size_t CONV_FN(_conv2d_workspace_size)(const fc_conv2d_shape *s) {
    const CONV_GEMM_CONFIG *gemm = CONV_FN(_choose_tile)(s);
    const int threads = fc_max_threads();
    conv_layout l;
    if (conv_layout_init(&l, s, gemm->mr, gemm->nr, sizeof(CONV_T), threads) != FC_OK) return 0;
    const size_t k_size = s->in_channels / s->groups * s->kernel_height * s->kernel_width;
    const size_t staged = l.staged ? s->in_channels / s->groups * l.slots_h * l.slots_w * l.plane_size : 0;
    const size_t last_panel = s->out_channels / s->groups % gemm->mr ? gemm->mr * k_size : 0;
    conv_layout_free(&l);
    return (staged + last_panel + (size_t)threads * k_size * gemm->nr) * sizeof(CONV_T) + 2 * k_size * sizeof(ptrdiff_t);
}

int CONV_FN(_conv2d)(const fc_conv2d_shape *s, const CONV_T *x, const CONV_T *weight, CONV_T *out,
                     fc_conv2d_output_layout layout, const CONV_EPILOGUE *ep) {
    const CONV_GEMM_CONFIG *gemm = CONV_FN(_choose_tile)(s);
    const size_t mr = gemm->mr, nr = gemm->nr, groups = s->groups;
    const size_t cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t k_size = cin_g * s->kernel_height * s->kernel_width;
    const size_t in_plane = s->in_height * s->in_width, pixels = s->out_height * s->out_width;
    const size_t x_length = s->batch * s->in_channels * in_plane;
    const size_t panels = (cout_g + mr - 1) / mr;
    conv_layout l;
    if (conv_layout_init(&l, s, mr, nr, sizeof(CONV_T), fc_max_threads()) != FC_OK) return FC_ENOMEM;
    const size_t planes = cin_g * l.slots_h * l.slots_w;
    /* The last group's last panel reads MR rows: past the end of the weights if partial. */
    const size_t last_rows = cout_g % mr;
    ptrdiff_t *offsets = malloc(2 * k_size * sizeof(ptrdiff_t));
    CONV_T *staged = l.staged ? fc_alloc(planes * l.plane_size * sizeof(CONV_T)) : NULL;
    CONV_T *last_panel = last_rows ? fc_alloc(mr * k_size * sizeof(CONV_T)) : NULL;
    if (!offsets || (l.staged && !staged) || (last_rows && !last_panel)) {
        free(offsets);
        free(staged);
        free(last_panel);
        conv_layout_free(&l);
        return FC_ENOMEM;
    }
    if (last_rows) {
        memcpy(last_panel, weight + (s->out_channels - last_rows) * k_size, last_rows * k_size * sizeof(CONV_T));
        memset(last_panel + last_rows * k_size, 0, (mr - last_rows) * k_size * sizeof(CONV_T));
    }
    ptrdiff_t *tile_offsets = offsets + k_size, max_offset = 0;
    conv_tap_offsets(s, &l, offsets);
    for (size_t k = 0; k < k_size; k++) {
        tile_offsets[k] = (ptrdiff_t)(k * nr);
        if (offsets[k] > max_offset) max_offset = offsets[k];
    }
    const size_t bands = (s->out_height + l.band_rows - 1) / l.band_rows;
    const size_t units = s->batch * groups * bands;
    const CONV_EPILOGUE no_epilogue = {NULL, NULL, NULL, 0, -(CONV_T)__builtin_inf(), (CONV_T)__builtin_inf()};
    if (!ep) ep = &no_epilogue;
    const double flops = 2.0 * (double)s->batch * (double)s->out_channels * (double)pixels * (double)k_size;

    int status = FC_OK;
#pragma omp parallel if (flops > CONV_PARALLEL_FLOPS)
    {
        const unsigned fp_state = fc_denormals_flush();
        CONV_T *scratch = fc_alloc(k_size * nr * sizeof(CONV_T));
        if (!scratch) {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
        for (size_t unit = 0; unit < units; unit++) {
            const size_t band_index = unit % bands, g = unit / bands % groups, n = unit / bands / groups;
            const size_t oh0 = band_index * l.band_rows;
            const size_t rows = s->out_height - oh0 < l.band_rows ? s->out_height - oh0 : l.band_rows;
            const CONV_T *x_group = x + (n * s->in_channels + g * cin_g) * in_plane;
            if (l.staged) {
#pragma omp for schedule(static)
                for (size_t plane = 0; plane < planes; plane++)
                    CONV_FN(_stage_plane)(s, &l, x_group, oh0, plane, staged);
            }
            CONV_EPILOGUE group_ep = *ep;
            group_ep.bias = ep->bias ? ep->bias + g * cout_g : NULL;
            group_ep.slope = ep->slope ? ep->slope + g * cout_g : NULL;
            group_ep.residual = ep->residual ? ep->residual + (n * s->out_channels + g * cout_g) * pixels : NULL;
            const CONV_FN(_band) band = {
                s, &l, gemm, weight + g * cout_g * k_size, g == groups - 1 ? last_panel : NULL,
                l.staged ? staged : x_group,
                l.staged ? planes * l.plane_size : x_length - (size_t)(x_group - x),
                offsets, tile_offsets, max_offset,
                out + (ptrdiff_t)n * layout.batch_stride + (ptrdiff_t)(g * cout_g) * layout.channel_stride,
                layout.channel_stride, &group_ep, oh0, rows * l.row_width};
            const size_t tiles = (band.band_pixels + nr - 1) / nr;
            const size_t blocks = (tiles + l.tiles_per_block - 1) / l.tiles_per_block;
#pragma omp for schedule(dynamic, 1)
            for (size_t task = 0; task < blocks * l.panel_chunks; task++) {
                if (!scratch) continue;
                const size_t block = task / l.panel_chunks, chunk = task % l.panel_chunks;
                const size_t t0 = block * l.tiles_per_block;
                const size_t t1 = t0 + l.tiles_per_block < tiles ? t0 + l.tiles_per_block : tiles;
                const size_t p0 = chunk * l.panels_per_chunk;
                const size_t p1 = p0 + l.panels_per_chunk < panels ? p0 + l.panels_per_chunk : panels;
                CONV_FN(_run_tiles)(&band, p0, p1, t0, t1, scratch);
            }
        }
        free(scratch);
        fc_denormals_restore(fp_state);
    }
    free(offsets);
    free(staged);
    free(last_panel);
    conv_layout_free(&l);
    return status;
}

#undef CONV_PASTE_
#undef CONV_PASTE
#undef CONV_FN
#undef CONV_EPILOGUE
#undef CONV_GEMM_CONFIG
#undef CONV_T
#undef CONV_SFX
