# Dispatch, threads, and the epilogue shared by every family.

cdef extern from "common.h":
    enum:
        FC_OK
        FC_ENOMEM
    ctypedef struct fc_output_layout:
        ptrdiff_t batch_stride, channel_stride
    ctypedef struct fc_f32_epilogue:
        const float *bias
        const float *slope
        const float *residual
        ptrdiff_t residual_row_stride
        float min
        float max
        const float *scale
    ctypedef struct fc_f64_epilogue:
        const double *bias
        const double *slope
        const double *residual
        ptrdiff_t residual_row_stride
        double min
        double max
        const double *scale

cdef extern from "dispatch.h":
    int fc_cpu_best_isa()
    int fc_set_isa(int isa)
    const char *fc_isa_name(int isa)
    const char *fc_compiler_version()
    const char *fc_build_info()
    ctypedef struct fc_dispatch_table:
        int isa
    const fc_dispatch_table *fc_active()
    enum:
        FC_ISA_COUNT

cdef extern from "threads.h":
    int fc_max_threads()
    void fc_set_max_threads(int n)

ctypedef fused real:
    float
    double


ISA_NAMES = tuple(fc_isa_name(i).decode() for i in range(FC_ISA_COUNT))


def cpu_best_isa():
    """Name of the best ISA both compiled in and supported by this CPU."""
    return ISA_NAMES[fc_cpu_best_isa()]


def active_isa():
    return ISA_NAMES[fc_active().isa]


def set_isa(str name):
    """Makes ``name`` the active ISA; False if this build or CPU cannot run it."""
    return fc_set_isa(ISA_NAMES.index(name)) == 0


def compiler_version():
    return fc_compiler_version().decode()


def build_info():
    return fc_build_info().decode()


def max_threads():
    return fc_max_threads()


def set_max_threads(int n):
    fc_set_max_threads(n)


cdef inline void check_status(int status) except *:
    if status == FC_ENOMEM:
        raise MemoryError("fastconv could not allocate its workspace")
    if status != FC_OK:
        raise RuntimeError(f"fastconv kernel failed with status {status}")


cdef inline const real *data_or_null(const real[::1] a) noexcept nogil:
    return &a[0] if a is not None else NULL


cdef inline fc_output_layout output_layout(real[:, :, :, :] out) noexcept:
    """Strides, in elements, of out's batch and channel axes (its planes are C-contiguous)."""
    cdef fc_output_layout layout
    layout.batch_stride = out.strides[0] // sizeof(real)
    layout.channel_stride = out.strides[1] // sizeof(real)
    return layout
