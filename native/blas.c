/*
 * A thin Node-API binding to the system's CBLAS (OpenBLAS where installed), loaded with dlopen
 * at first use so the addon builds without BLAS headers and a missing library is a clean
 * "unavailable" rather than a load error. Only the calls lib/native/blas.ts needs: sgemm, dgemm,
 * dsyrk on row-major typed arrays, and the library's thread count.
 */
#include <dlfcn.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
typedef void (*dsyrk_fn)(int, int, int, int, int, double, const double*, int, double, double*, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char* (*get_config_fn)(void);

static void* lib = NULL;
static const char* lib_name = NULL;
static sgemm_fn p_sgemm;
static dgemm_fn p_dgemm;
static dsyrk_fn p_dsyrk;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;
static get_config_fn p_get_config;

/* Candidates in order: OpenBLAS by its own name, then whatever Debian's libblas alternative is. */
static const char* CANDIDATES[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3", NULL};

static int load_blas(void) {
  if (lib != NULL) return 1;
  for (int i = 0; CANDIDATES[i] != NULL; i++) {
    void* h = dlopen(CANDIDATES[i], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) continue;
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    p_dgemm = (dgemm_fn)dlsym(h, "cblas_dgemm");
    p_dsyrk = (dsyrk_fn)dlsym(h, "cblas_dsyrk");
    if (p_sgemm == NULL || p_dgemm == NULL || p_dsyrk == NULL) {
      dlclose(h);
      continue;
    }
    p_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    p_get_threads = (get_threads_fn)dlsym(h, "openblas_get_num_threads");
    p_get_config = (get_config_fn)dlsym(h, "openblas_get_config");
    lib = h;
    lib_name = CANDIDATES[i];
    return 1;
  }
  return 0;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "native blas: bad argument in " #call);  \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* Data pointer, element count and element type of a typed-array argument. */
static int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static int int_arg(napi_env env, napi_value v, int* out) { return napi_get_value_int32(env, v, out) == napi_ok; }
static int dbl_arg(napi_env env, napi_value v, double* out) { return napi_get_value_double(env, v, out) == napi_ok; }

/* Elements a row-major operand of `rows` x `cols` with leading dimension `ld` spans. */
static size_t span(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : (size_t)(rows - 1) * ld + cols; }

/*
 * gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C,
 * row-major. Float32Array operands call sgemm, Float64Array ones dgemm. Bounds are checked here.
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 13) { napi_throw_error(env, NULL, "native blas: gemm takes 13 arguments"); return NULL; }
  bool ta, tb;
  int M, N, K, lda, ldb, ldc;
  double alpha, beta;
  CHECK(napi_get_value_bool(env, a[0], &ta));
  CHECK(napi_get_value_bool(env, a[1], &tb));
  if (!int_arg(env, a[2], &M) || !int_arg(env, a[3], &N) || !int_arg(env, a[4], &K) || !dbl_arg(env, a[5], &alpha) ||
      !int_arg(env, a[7], &lda) || !int_arg(env, a[9], &ldb) || !dbl_arg(env, a[10], &beta) || !int_arg(env, a[12], &ldc)) {
    napi_throw_error(env, NULL, "native blas: gemm expects numbers for sizes and scalars");
    return NULL;
  }
  if (M < 0 || N < 0 || K < 0) { napi_throw_range_error(env, NULL, "native blas: negative size"); return NULL; }
  napi_typedarray_type type;
  size_t la, lb, lc, off;
  void *pa, *pb, *pc;
  napi_value buf;
  CHECK(napi_get_typedarray_info(env, a[6], &type, &la, &pa, &buf, &off));
  int f64 = type == napi_float64_array;
  if (!f64 && type != napi_float32_array) { napi_throw_type_error(env, NULL, "native blas: gemm operands must be Float32Array or Float64Array"); return NULL; }
  napi_typedarray_type want = f64 ? napi_float64_array : napi_float32_array;
  if (!typed(env, a[8], want, &pb, &lb) || !typed(env, a[11], want, &pc, &lc)) {
    napi_throw_type_error(env, NULL, "native blas: gemm operands must share one float type");
    return NULL;
  }
  int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  if (lda < (ac > 1 ? ac : 1) || ldb < (bc > 1 ? bc : 1) || ldc < (N > 1 ? N : 1) ||
      span(ar, ac, lda) > la || span(br, bc, ldb) > lb || span(M, N, ldc) > lc) {
    napi_throw_range_error(env, NULL, "native blas: gemm operand too small for its sizes");
    return NULL;
  }
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return NULL; }
  if (M == 0 || N == 0) return NULL;
  if (f64)
    p_dgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc);
  else
    p_sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, M, N, K, (float)alpha, pa, lda, pb, ldb, (float)beta, pc, ldc);
  return NULL;
}

/* syrkUpper(N, K, A, lda, C, ldc): upper triangle of C += A^T A for row-major float64 A [K, N]. */
static napi_value syrk_upper(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int N, K, lda, ldc;
  void *pa, *pc;
  size_t la, lc;
  if (argc != 6 || !int_arg(env, a[0], &N) || !int_arg(env, a[1], &K) || !int_arg(env, a[3], &lda) || !int_arg(env, a[5], &ldc) ||
      !typed(env, a[2], napi_float64_array, &pa, &la) || !typed(env, a[4], napi_float64_array, &pc, &lc)) {
    napi_throw_type_error(env, NULL, "native blas: syrkUpper(N, K, A: Float64Array, lda, C: Float64Array, ldc)");
    return NULL;
  }
  if (N < 0 || K < 0 || lda < (N > 1 ? N : 1) || ldc < (N > 1 ? N : 1) || span(K, N, lda) > la || span(N, N, ldc) > lc) {
    napi_throw_range_error(env, NULL, "native blas: syrkUpper operand too small for its sizes");
    return NULL;
  }
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return NULL; }
  if (N == 0) return NULL;
  p_dsyrk(ROW_MAJOR, UPPER, TRANS, N, K, 1.0, pa, lda, 1.0, pc, ldc);
  return NULL;
}

/* info(): { library, config, threads } or null when no CBLAS library can be loaded. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  napi_value out, v;
  (void)info;
  if (!load_blas()) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, lib_name, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "library", v));
  const char* config = p_get_config != NULL ? p_get_config() : "";
  CHECK(napi_create_string_utf8(env, config, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "config", v));
  CHECK(napi_create_int32(env, p_get_threads != NULL ? p_get_threads() : 1, &v));
  CHECK(napi_set_named_property(env, out, "threads", v));
  return out;
}

/* setThreads(n): the library's thread count (OpenBLAS only; a no-op elsewhere). */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  int n;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || !int_arg(env, a[0], &n) || n < 1) { napi_throw_range_error(env, NULL, "native blas: setThreads(n >= 1)"); return NULL; }
  if (load_blas() && p_set_threads != NULL) p_set_threads(n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"syrkUpper", NULL, syrk_upper, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
