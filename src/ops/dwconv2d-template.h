/* Template of the dwconv2d operator for one dtype: included by dwconv2d.c with
 * DWCONV_T (float/double) and DWCONV_SFX (f32/f64) defined. */

#define DWCONV_PASTE_(a, b, c) a##b##c
#define DWCONV_PASTE(a, b, c) DWCONV_PASTE_(a, b, c)
#define DWCONV_FN(name) DWCONV_PASTE(fc_, DWCONV_SFX, name)
#define DWCONV_EPILOGUE DWCONV_PASTE(fc_, DWCONV_SFX, _epilogue)
#define DWCONV_UKERNEL DWCONV_PASTE(fc_, DWCONV_SFX, _dwconv_ukernel)

/* What every task of one call shares. */
typedef struct {
    const fc_conv2d_shape *s;
    const fc_dwconv_plan *plan;
    DWCONV_UKERNEL ukernel;
    const dwconv2d_split *d;
    const DWCONV_T *x, *weight;
    DWCONV_T *out;
    fc_output_layout layout;
    const DWCONV_EPILOGUE *ep;
    int status; /* FC_ENOMEM if a thread could not allocate its workspace */
} DWCONV_FN(_dwconv2d_call);

/* Task t: a block of output rows of a block of channels of one image. */
static void DWCONV_FN(_dwconv2d_task)(const DWCONV_FN(_dwconv2d_call) *c, size_t t, void *workspace) {
    const fc_conv2d_shape *s = c->s;
    const dwconv2d_split *d = c->d;
    const DWCONV_EPILOGUE *ep = c->ep;
    const size_t multiplier = s->out_channels / s->in_channels, taps = s->kernel_height * s->kernel_width;
    const size_t in_plane = s->in_height * s->in_width, out_plane = s->out_height * s->out_width;
    const size_t n = t / (d->channel_blocks * d->row_blocks);
    const size_t channel_block = t / d->row_blocks % d->channel_blocks, row_block = t % d->row_blocks;
    const size_t co_begin = dwconv2d_block_begin(d, s->out_channels, channel_block);
    const size_t co_end = dwconv2d_block_begin(d, s->out_channels, channel_block + 1);
    const size_t oh_begin = row_block * d->rows_per_block;
    const size_t oh_end = oh_begin + d->rows_per_block < s->out_height ? oh_begin + d->rows_per_block : s->out_height;
    /* One call per run of output channels whose input planes are evenly spaced: the whole
     * block at multiplier 1, else the outputs of one input channel. */
    const size_t run = multiplier == 1 ? co_end - co_begin : multiplier;
    const ptrdiff_t x_channel_stride = multiplier == 1 ? (ptrdiff_t)in_plane : 0;
    for (size_t co = co_begin; co < co_end;) {
        const size_t channels = co_end - co < run - co % run ? co_end - co : run - co % run;
        DWCONV_EPILOGUE channel_ep;
        if (ep) {
            channel_ep = *ep;
            channel_ep.bias = ep->bias ? ep->bias + co : NULL;
            channel_ep.slope = ep->slope ? ep->slope + co : NULL;
            channel_ep.residual = ep->residual ? ep->residual + (n * s->out_channels + co) * out_plane : NULL;
            channel_ep.residual_row_stride = (ptrdiff_t)s->out_width;
        }
        c->ukernel(c->plan, channels, oh_begin, oh_end, c->x + (n * s->in_channels + co / multiplier) * in_plane,
                   x_channel_stride, c->weight + co * taps,
                   c->out + (ptrdiff_t)n * c->layout.batch_stride + (ptrdiff_t)co * c->layout.channel_stride,
                   c->layout.channel_stride, ep ? &channel_ep : NULL, workspace);
        co += channels;
    }
}

/* Thread `thread` of `threads`: its share of the tasks (contiguous: a thread's row blocks
 * of one plane stay together), in a workspace of its own. */
static void DWCONV_FN(_dwconv2d_thread)(void *arg, int thread, int threads) {
    DWCONV_FN(_dwconv2d_call) *c = arg;
    const unsigned fp_state = fc_denormals_flush();
    void *workspace = fc_alloc(c->plan->workspace.total_bytes);
    if (workspace) {
        fc_dwconv_workspace_init(c->plan, workspace);
        const size_t tasks = c->d->tasks, end = tasks * (size_t)(thread + 1) / (size_t)threads;
        for (size_t t = tasks * (size_t)thread / (size_t)threads; t < end; t++)
            DWCONV_FN(_dwconv2d_task)(c, t, workspace);
        free(workspace);
    } else {
#pragma omp atomic write
        c->status = FC_ENOMEM;
    }
    fc_denormals_restore(fp_state);
}

int DWCONV_FN(_dwconv2d)(const fc_conv2d_shape *s, const DWCONV_T *x, const DWCONV_T *weight, DWCONV_T *out,
                         fc_output_layout layout, const DWCONV_EPILOGUE *ep) {
    fc_dwconv_plan plan;
    plan.shape = *s;
    plan.workspace = fc_dwconv_workspace(s, sizeof(DWCONV_T), fc_active()->dwconv_direct_small,
                                           fc_active()->dwconv_stream_bytes);
    const DWCONV_UKERNEL ukernel = DWCONV_FN(_dwconv_select)(DWCONV_FN(_dwconv_kernels_for)(fc_active()->isa), s);
    const int threads = fc_max_threads();
    const dwconv2d_split d =
        dwconv2d_choose_split(s, plan.workspace.planar || plan.workspace.interleaved || plan.workspace.streamed,
                              plan.workspace.interleaved ? FC_DWCONV_LANE_BYTES / sizeof(DWCONV_T) : 1, threads);
    DWCONV_FN(_dwconv2d_call) call = {s, &plan, ukernel, &d, x, weight, out, layout, ep, FC_OK};
    fc_run_threads(d.threads, DWCONV_FN(_dwconv2d_thread), &call);
    return call.status;
}

#undef DWCONV_PASTE_
#undef DWCONV_PASTE
#undef DWCONV_FN
#undef DWCONV_EPILOGUE
#undef DWCONV_UKERNEL
#undef DWCONV_T
#undef DWCONV_SFX
