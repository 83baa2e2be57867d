/* Template of the activation microkernel: y[i] = clamp(x[i] < 0 ? x[i] * slope : x[i], lo, hi)
 * for i < n, the same arithmetic as the GEMM epilogue. Instantiated per dtype and ISA by
 * the eltwise__<isa>.c files; plain C that the compiler vectorizes for the file's ISA.
 * x and y may be the same array (in place), so they are not restrict.
 * Parameters: ELTWISE_T, ELTWISE_NAME. */
#include <stddef.h>

void ELTWISE_NAME(size_t n, const ELTWISE_T *x, ELTWISE_T *y, ELTWISE_T slope, ELTWISE_T lo, ELTWISE_T hi) {
    if (slope == 1) {
        for (size_t i = 0; i < n; i++) {
            ELTWISE_T v = x[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            ELTWISE_T v = x[i];
            v = v < 0 ? v * slope : v;
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
    }
}

#undef ELTWISE_T
#undef ELTWISE_NAME
