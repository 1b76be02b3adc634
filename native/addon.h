/*
 * What the addon's source files share: argument checks for Node-API callbacks (sizes in int32's
 * range, typed arrays of the right type, non-overlapping operands) and the registration of each
 * file's calls on the module's exports (blas.c's init calls them).
 */
#ifndef LINEARITY_ADDON_H
#define LINEARITY_ADDON_H
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stddef.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "native blas: bad argument in " #call);  \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* Data pointer, element count and element type of a typed-array argument. */
static inline int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

/*
 * A size or stride: a number that is an integer in int32's range. napi_get_value_int32 alone
 * wraps (2^32 + 2 -> 2) and turns NaN into 0, which would multiply the wrong shapes.
 */
static inline int int_arg(napi_env env, napi_value v, int* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0) return 0;
  *out = (int)d;
  return 1;
}

/* Whether the byte ranges [p, p + n) and [q, q + m) share a byte (empty ranges share none). */
static inline int overlaps(const void* p, size_t n, const void* q, size_t m) {
  const char *a = p, *b = q;
  return n > 0 && m > 0 && a < b + m && b < a + n;
}
static inline int dbl_arg(napi_env env, napi_value v, double* out) { return napi_get_value_double(env, v, out) == napi_ok; }

/* Elements a row-major operand of `rows` x `cols` with leading dimension `ld` spans. */
static inline size_t span(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : (size_t)(rows - 1) * ld + cols; }


/*
 * Run fn on each of the n jobs of `jobs` (structs of `size` bytes): job 0 on this thread, the
 * others on threads of their own (a job whose thread cannot start runs here instead); returns
 * when all are done.
 */
static inline void run_shares(void* (*fn)(void*), void* jobs, size_t size, size_t n) {
  enum { MAX_SHARES = 16 };
  pthread_t ids[MAX_SHARES];
  int started[MAX_SHARES] = {0};
  char* at = jobs;
  for (size_t t = 1; t < n && t < MAX_SHARES; t++) started[t] = pthread_create(&ids[t], NULL, fn, at + t * size) == 0;
  fn(at);
  for (size_t t = 1; t < n; t++) {
    if (t < MAX_SHARES && started[t]) pthread_join(ids[t], NULL);
    else fn(at + t * size);
  }
}

/* convert.c's dst[i] = src[i] << 16 (bfloat16 bits to float32 bits), src and dst apart. */
void widen_bf16_bits(const uint16_t* restrict src, uint32_t* restrict dst, size_t n);

/* blas.c's loaded sgemm (row-major; call only after blas_ready() returned 1). */
int blas_ready(void);
void blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

/* Each file's calls, defined on `exports`; 0 after throwing. */
int register_kernels(napi_env env, napi_value exports);
int register_convert(napi_env env, napi_value exports);
int register_files(napi_env env, napi_value exports);
int register_read(napi_env env, napi_value exports);

/* One exported call of a file's table: `CALL("name", c_function)`. */
#define CALL(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

/*
 * One clone of a hot loop per vector width (AVX-512, AVX2, baseline), picked when the addon loads
 * (GCC target_clones); nothing elsewhere.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* Define `n` functions on `exports`; 0 after throwing. */
static inline int define_calls(napi_env env, napi_value exports, const napi_property_descriptor* props, size_t n) {
  return napi_define_properties(env, exports, n, props) == napi_ok;
}
#endif
