/* Portable depthwise microkernels: one-element "vectors" (plain C arithmetic on any CPU),
 * compiled without ISA flags. */
#include "common.h"

typedef float dw_f32x1 __attribute__((vector_size(sizeof(float)), may_alias));
typedef double dw_f64x1 __attribute__((vector_size(sizeof(double)), may_alias));
typedef int32_t dw_i32x1 __attribute__((vector_size(sizeof(int32_t))));
typedef int64_t dw_i64x1 __attribute__((vector_size(sizeof(int64_t))));

#define DW_SCALAR_HOOKS(T, V, sfx)                                                                  \
    static inline V dw_##sfx##_min(V a, V b) { return (V){a[0] < b[0] ? a[0] : b[0]}; }             \
    static inline V dw_##sfx##_max(V a, V b) { return (V){a[0] > b[0] ? a[0] : b[0]}; }             \
    static inline V dw_##sfx##_window(const T *row, ptrdiff_t start, size_t n) {                    \
        return (V){start >= 0 && start < (ptrdiff_t)n ? row[start] : 0};                            \
    }                                                                                               \
    static inline V dw_##sfx##_masked(const T *p, unsigned bits) { return (V){bits & 1u ? p[0] : 0}; } \
    static inline void dw_##sfx##_store_masked(T *p, V v, unsigned bits) {                         \
        if (bits & 1u) p[0] = v[0];                                                                 \
    }                                                                                               \
    /* Never called: with one lane, every store is whole. */                                       \
    static inline void dw_##sfx##_store_partial(T *p, V v, size_t n) {                              \
        if (n) p[0] = v[0];                                                                         \
    }
DW_SCALAR_HOOKS(float, dw_f32x1, f32)
DW_SCALAR_HOOKS(double, dw_f64x1, f64)

#define DW_ISA scalar

#define DW_T float
#define DW_SFX f32
#define DW_EPILOGUE fc_f32_epilogue
#define DW_VL 1
#define DW_VEC dw_f32x1
#define DW_VMIN dw_f32_min
#define DW_VMAX dw_f32_max
#define DW_LOAD_WINDOW dw_f32_window
#define DW_STORE_PARTIAL dw_f32_store_partial
#define DW_LOAD_MASKED dw_f32_masked
#define DW_STORE_MASKED dw_f32_store_masked
#define DW_IVEC dw_i32x1
/* With one lane, a's lane is the even one, and the neighbour's lane is all a shift keeps. */
#define DW_EVENS ((dw_i32x1){0})
#define DW_ODDS ((dw_i32x1){1})
#define DW_FROM_PREV ((dw_i32x1){1})
#define DW_FROM_NEXT ((dw_i32x1){1})
#define DW_ZIP_LO ((dw_i32x1){0})
#define DW_ZIP_HI ((dw_i32x1){0})
#include "dwconv/dwconv-template.h"

#define DW_T double
#define DW_SFX f64
#define DW_EPILOGUE fc_f64_epilogue
#define DW_VL 1
#define DW_VEC dw_f64x1
#define DW_VMIN dw_f64_min
#define DW_VMAX dw_f64_max
#define DW_LOAD_WINDOW dw_f64_window
#define DW_STORE_PARTIAL dw_f64_store_partial
#define DW_LOAD_MASKED dw_f64_masked
#define DW_STORE_MASKED dw_f64_store_masked
#define DW_IVEC dw_i64x1
#define DW_EVENS ((dw_i64x1){0})
#define DW_ODDS ((dw_i64x1){1})
#define DW_FROM_PREV ((dw_i64x1){1})
#define DW_FROM_NEXT ((dw_i64x1){1})
#define DW_ZIP_LO ((dw_i64x1){0})
#define DW_ZIP_HI ((dw_i64x1){0})
#include "dwconv/dwconv-template.h"
