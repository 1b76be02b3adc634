/*
 * A thin Node-API binding to the system's CBLAS (OpenBLAS where installed), loaded with dlopen
 * at first use so the addon builds without BLAS headers and a missing library is a clean
 * "unavailable" rather than a load error. Only the calls lib/native/blas.ts needs: sgemm, dgemm,
 * dsyrk on row-major typed arrays, the library's thread count and core (with a reload that picks the
 * core, see reload_blas); and, each optional (a library
 * without the symbol makes only that call unavailable, see `has`), triangular solves and products
 * (cblas_dtrsm, dtrsv, dtrmv) and LAPACK's Cholesky (dpotrf_), symmetric eigensolvers (dsyevd_, dsyevr_),
 * Householder QR (dgeqrf_, dormqr_) and SVD (dgesvd_)
 * through the Fortran ABI: a row-major matrix is the column-major transpose, so row-major lower
 * is column-major upper, and a symmetric matrix is its own transpose.
 *
 * Safety: every size is an integer in int32's range (NaN or 2^32 + 2 are refused, not wrapped),
 * every operand holds what its sizes and strides span, and no written operand overlaps another
 * operand of the same call (BLAS leaves aliasing undefined). `selfTest` runs one sgemm, dgemm
 * and dpotrf under a signal guard, so a library that crashes in them is reported, not fatal;
 * lib/native/blas.ts compares the results with JavaScript before it uses the library.
 * LINEARITY_BLAS_LIBRARY names a library to try before the default candidates.
 */
/* sigaction, sigsetjmp and setenv under -std=c11. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, UPPER = 121, LOWER = 122, NON_UNIT = 131, LEFT = 141 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
typedef void (*dsyrk_fn)(int, int, int, int, int, double, const double*, int, double, double*, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char* (*get_config_fn)(void);
typedef char* (*get_corename_fn)(void);
typedef void (*dtrsm_fn)(int, int, int, int, int, int, int, double, const double*, int, double*, int);
typedef void (*dtrxv_fn)(int, int, int, int, int, const double*, int, double*, int);
typedef void (*somatcopy_fn)(int, int, int, int, float, const float*, int, float*, int);
/* Fortran LAPACK (gfortran ABI: arguments by pointer, hidden string lengths last). */
typedef void (*dpotrf_fn)(const char*, const int*, double*, const int*, int*, size_t);
typedef void (*dsyevr_fn)(const char*, const char*, const char*, const int*, double*, const int*, const double*, const double*,
                          const int*, const int*, const double*, int*, double*, double*, const int*, int*, double*, const int*,
                          int*, const int*, int*, size_t, size_t, size_t);
typedef void (*dsyevd_fn)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*, int*, const int*,
                          int*, size_t, size_t);
typedef void (*dgeqrf_fn)(const int*, const int*, double*, const int*, double*, double*, const int*, int*);
typedef void (*dormqr_fn)(const char*, const char*, const int*, const int*, const int*, const double*, const int*, const double*, double*,
                          const int*, double*, const int*, int*, size_t, size_t);
typedef void (*dgesvd_fn)(const char*, const char*, const int*, const int*, double*, const int*, double*, double*, const int*, double*,
                          const int*, double*, const int*, int*, size_t, size_t);

static void* lib = NULL;
static const char* lib_name = NULL;
static sgemm_fn p_sgemm;
static dgemm_fn p_dgemm;
static dsyrk_fn p_dsyrk;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;
static get_config_fn p_get_config;
static get_corename_fn p_get_corename;
/* The core OpenBLAS detected itself, kept when `reload` replaced it (NULL otherwise). */
static char detected_core[64];
static int reloaded = 0;
/*
 * One load at a time: worker threads share this library and these pointers. `ready` is set with
 * release order after every pointer is written and read with acquire order, so a thread that
 * sees it set also sees the pointers (a plain `lib != NULL` check outside the lock did not
 * promise that). It works as pthread_once does, but reload_blas may load a second time.
 */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int ready = 0;
static dtrsm_fn p_dtrsm;
static dtrxv_fn p_dtrsv, p_dtrmv;
static dpotrf_fn p_dpotrf;
static dsyevr_fn p_dsyevr;
static dsyevd_fn p_dsyevd;
static somatcopy_fn p_somatcopy;
static dgeqrf_fn p_dgeqrf;
static dormqr_fn p_dormqr;
static dgesvd_fn p_dgesvd;

/* Candidates in order: OpenBLAS by its own name, then whatever Debian's libblas alternative is. */
static const char* CANDIDATES[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3", NULL};

/*
 * Whether this process set OPENBLAS_THREAD_TIMEOUT for the library's constructor (reported by
 * info()). Why: after each call OpenBLAS's worker threads wait for the next one by calling
 * sched_yield in a loop for 2^28 cycles (about 0.1 s) before they sleep. Between this project's
 * products (attention, norms, weights being read on every core) they never sleep, and on the
 * virtual machines it is measured on every sched_yield traps to the host: 10% of a TinyLlama
 * extraction's CPU time, 0.6-0.7 s of system time, went there. With 2^4 cycles they sleep at once
 * and are woken by the next call (a few microseconds, about 150 times per TinyLlama forward).
 * A user's OPENBLAS_THREAD_TIMEOUT or GOTO_THREAD_TIMEOUT is left to decide.
 */
static int thread_timeout_set = 0;

/* dlopen with OPENBLAS_THREAD_TIMEOUT=4 for the constructor to read, then removed again so child processes (PyTorch, numpy) keep their own default. */
static void* open_library(const char* name) {
  int ours = getenv("OPENBLAS_THREAD_TIMEOUT") == NULL && getenv("GOTO_THREAD_TIMEOUT") == NULL;
  if (ours) setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
  void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (ours) unsetenv("OPENBLAS_THREAD_TIMEOUT");
  thread_timeout_set = ours && h != NULL;
  return h;
}

static int load_blas_locked(void) {
  if (lib != NULL) return 1;
  const char* chosen = getenv("LINEARITY_BLAS_LIBRARY");
  for (int i = -1; i < 0 || CANDIDATES[i] != NULL; i++) {
    const char* name = i < 0 ? chosen : CANDIDATES[i];
    if (name == NULL || name[0] == '\0') continue;
    void* h = open_library(name);
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
    p_get_corename = (get_corename_fn)dlsym(h, "openblas_get_corename");
    p_dtrsm = (dtrsm_fn)dlsym(h, "cblas_dtrsm");
    p_dtrsv = (dtrxv_fn)dlsym(h, "cblas_dtrsv");
    p_dtrmv = (dtrxv_fn)dlsym(h, "cblas_dtrmv");
    p_dpotrf = (dpotrf_fn)dlsym(h, "dpotrf_");
    p_dsyevr = (dsyevr_fn)dlsym(h, "dsyevr_");
    p_dsyevd = (dsyevd_fn)dlsym(h, "dsyevd_");
    p_somatcopy = (somatcopy_fn)dlsym(h, "cblas_somatcopy");
    p_dgeqrf = (dgeqrf_fn)dlsym(h, "dgeqrf_");
    p_dormqr = (dormqr_fn)dlsym(h, "dormqr_");
    p_dgesvd = (dgesvd_fn)dlsym(h, "dgesvd_");
    lib = h;
    lib_name = name;
    return 1;
  }
  return 0;
}

static int load_blas(void) {
  if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) return 1;
  pthread_mutex_lock(&load_lock);
  int ok = load_blas_locked();
  if (ok) __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&load_lock);
  return ok;
}

/* The loaded library's row-major cblas_sgemm for the other files (kernels.c), or NULL. */
void blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  p_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int blas_ready(void) { return load_blas() && p_sgemm != NULL; }

/*
 * Unload the library and load it again with OPENBLAS_CORETYPE=core. Why a reload: a DYNAMIC_ARCH
 * OpenBLAS picks its kernels once, in its constructor, from CPUID's family and model; where a
 * virtual machine masks the model it falls back to its generic Prescott (SSE3) kernels, and only
 * OPENBLAS_CORETYPE, read by that constructor, changes the choice. The environment variable is
 * set process-wide (setenv), so child processes (PyTorch, numpy) inherit the same kernel.
 * Returns 1 when the library reloaded (check the core it reports: an unknown name makes OpenBLAS
 * keep its own detection).
 */
static int reload_blas(const char* core) {
  pthread_mutex_lock(&load_lock);
  int ok = load_blas_locked();
  if (ok && !reloaded && p_get_corename != NULL) {
    snprintf(detected_core, sizeof detected_core, "%s", p_get_corename());
    setenv("OPENBLAS_CORETYPE", core, 1);
    /* Called once, by the main thread, before any worker thread exists (lib/native/blas.ts). */
    __atomic_store_n(&ready, 0, __ATOMIC_RELEASE);
    dlclose(lib);
    lib = NULL;
    ok = load_blas_locked();
    reloaded = ok;
    if (ok) __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&load_lock);
  return ok && reloaded;
}

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
    napi_throw_range_error(env, NULL, "native blas: gemm sizes and strides must be integers in int32's range, alpha and beta numbers");
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
  size_t es = f64 ? sizeof(double) : sizeof(float);
  size_t cbytes = span(M, N, ldc) * es;
  if (overlaps(pc, cbytes, pa, span(ar, ac, lda) * es) || overlaps(pc, cbytes, pb, span(br, bc, ldb) * es)) {
    napi_throw_range_error(env, NULL, "native blas: gemm output C overlaps input A or B; give C its own buffer");
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
  if (overlaps(pc, span(N, N, ldc) * sizeof(double), pa, span(K, N, lda) * sizeof(double))) {
    napi_throw_range_error(env, NULL, "native blas: syrkUpper output C overlaps input A; give C its own buffer");
    return NULL;
  }
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return NULL; }
  if (N == 0) return NULL;
  p_dsyrk(ROW_MAJOR, UPPER, TRANS, N, K, 1.0, pa, lda, 1.0, pc, ldc);
  return NULL;
}

/* info(): { library, config, threads, corename, detected } (detected: the core OpenBLAS chose itself, when reloadWithCore replaced it) or null when no CBLAS library can be loaded. */
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
  CHECK(napi_create_string_utf8(env, p_get_corename != NULL ? p_get_corename() : "", NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "corename", v));
  if (reloaded) {
    CHECK(napi_create_string_utf8(env, detected_core, NAPI_AUTO_LENGTH, &v));
  } else {
    CHECK(napi_get_null(env, &v));
  }
  CHECK(napi_set_named_property(env, out, "detected", v));
  CHECK(napi_get_boolean(env, thread_timeout_set, &v));
  CHECK(napi_set_named_property(env, out, "threadTimeoutSet", v));
  return out;
}

/* reloadWithCore(core): see reload_blas; returns whether the library was reloaded (once per process). */
static napi_value reload_with_core(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value a[1], r;
  char core[32];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, a[0], core, sizeof core, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, NULL, "native blas: reloadWithCore(core: string)");
    return NULL;
  }
  CHECK(napi_get_boolean(env, reload_blas(core), &r));
  return r;
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

/* A float64 typed-array argument holding at least `need` elements; throws and returns 0 otherwise. */
static int f64_arg(napi_env env, napi_value v, size_t need, double** data, const char* what) {
  size_t len;
  if (!typed(env, v, napi_float64_array, (void**)data, &len)) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (len < need) {
    napi_throw_range_error(env, NULL, what);
    return 0;
  }
  return 1;
}

/* Loads the library and checks that the optional symbol `p` resolved; throws otherwise. */
static int have(napi_env env, void* p, const char* call) {
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return 0; }
  if (p == NULL) {
    char msg[160];
    snprintf(msg, sizeof msg, "native blas: %s is not in the loaded library", call);
    napi_throw_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

/*
 * potrfLower(n, A, lda) -> info: the lower triangle of the row-major symmetric A [n, n] becomes its
 * Cholesky factor L (A = L L^T); the strict upper triangle is untouched. info 0, or k > 0 when the
 * leading minor of order k is not positive definite (LAPACK dpotrf, 'U' in column-major terms).
 */
static napi_value potrf_lower(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  int n, lda;
  double* pa;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 3 || !int_arg(env, a[0], &n) || !int_arg(env, a[2], &lda)) {
    napi_throw_type_error(env, NULL, "native blas: potrfLower(n, A: Float64Array, lda)");
    return NULL;
  }
  if (n < 0 || lda < (n > 1 ? n : 1)) { napi_throw_range_error(env, NULL, "native blas: potrfLower needs n >= 0 and lda >= n"); return NULL; }
  if (!f64_arg(env, a[1], span(n, n, lda), &pa, "native blas: potrfLower A must be a Float64Array of at least (n - 1) lda + n elements")) return NULL;
  if (!have(env, (void*)p_dpotrf, "dpotrf_")) return NULL;
  int out = 0;
  if (n > 0) p_dpotrf("U", &n, pa, &lda, &out, 1);
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * trsmLower(trans, M, N, L, ldl, B, ldb): B [M, N] := op(L)^-1 B in place, L lower triangular
 * [M, M] with a non-unit diagonal, op(L) = L or L^T; row-major (cblas_dtrsm, left side).
 */
static napi_value trsm_lower(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  bool trans;
  int M, N, ldl, ldb;
  double *pl, *pb;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 7 || napi_get_value_bool(env, a[0], &trans) != napi_ok || !int_arg(env, a[1], &M) || !int_arg(env, a[2], &N) ||
      !int_arg(env, a[4], &ldl) || !int_arg(env, a[6], &ldb)) {
    napi_throw_type_error(env, NULL, "native blas: trsmLower(trans, M, N, L: Float64Array, ldl, B: Float64Array, ldb)");
    return NULL;
  }
  if (M < 0 || N < 0 || ldl < (M > 1 ? M : 1) || ldb < (N > 1 ? N : 1)) {
    napi_throw_range_error(env, NULL, "native blas: trsmLower needs M, N >= 0, ldl >= M and ldb >= N");
    return NULL;
  }
  if (!f64_arg(env, a[3], span(M, M, ldl), &pl, "native blas: trsmLower L must be a Float64Array of at least (M - 1) ldl + M elements") ||
      !f64_arg(env, a[5], span(M, N, ldb), &pb, "native blas: trsmLower B must be a Float64Array of at least (M - 1) ldb + N elements"))
    return NULL;
  if (overlaps(pb, span(M, N, ldb) * sizeof(double), pl, span(M, M, ldl) * sizeof(double))) {
    napi_throw_range_error(env, NULL, "native blas: trsmLower B overlaps L; give B its own buffer");
    return NULL;
  }
  if (!have(env, (void*)p_dtrsm, "cblas_dtrsm")) return NULL;
  if (M > 0 && N > 0) p_dtrsm(ROW_MAJOR, LEFT, LOWER, trans ? TRANS : NO_TRANS, NON_UNIT, M, N, 1.0, pl, ldl, pb, ldb);
  return NULL;
}

/* trsvLower / trmvLower(trans, n, L, ldl, x): x := op(L)^-1 x or op(L) x, L lower [n, n] row-major. */
static napi_value trxv_lower(napi_env env, napi_callback_info info, int solve) {
  size_t argc = 5;
  napi_value a[5];
  bool trans;
  int n, ldl;
  double *pl, *px;
  const char* name = solve ? "trsvLower" : "trmvLower";
  char msg[160];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 5 || napi_get_value_bool(env, a[0], &trans) != napi_ok || !int_arg(env, a[1], &n) || !int_arg(env, a[3], &ldl)) {
    snprintf(msg, sizeof msg, "native blas: %s(trans, n, L: Float64Array, ldl, x: Float64Array)", name);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  if (n < 0 || ldl < (n > 1 ? n : 1)) {
    snprintf(msg, sizeof msg, "native blas: %s needs n >= 0 and ldl >= n", name);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  snprintf(msg, sizeof msg, "native blas: %s needs L of at least (n - 1) ldl + n and x of at least n float64 elements", name);
  if (!f64_arg(env, a[2], span(n, n, ldl), &pl, msg) || !f64_arg(env, a[4], (size_t)n, &px, msg)) return NULL;
  if (overlaps(px, (size_t)n * sizeof(double), pl, span(n, n, ldl) * sizeof(double))) {
    snprintf(msg, sizeof msg, "native blas: %s x overlaps L; give x its own buffer", name);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  if (!have(env, solve ? (void*)p_dtrsv : (void*)p_dtrmv, solve ? "cblas_dtrsv" : "cblas_dtrmv")) return NULL;
  if (n > 0) (solve ? p_dtrsv : p_dtrmv)(ROW_MAJOR, LOWER, trans ? TRANS : NO_TRANS, NON_UNIT, n, pl, ldl, px, 1);
  return NULL;
}

static napi_value trsv_lower(napi_env env, napi_callback_info info) { return trxv_lower(env, info, 1); }
static napi_value trmv_lower(napi_env env, napi_callback_info info) { return trxv_lower(env, info, 0); }

/*
 * The double workspace a LAPACK workspace query (lwork = -1) asked for in wquery: sets *lwork and
 * returns at least one double, or NULL when out of memory (the caller throws, naming its call).
 */
static double* lapack_work(double wquery, int* lwork) {
  *lwork = (int)wquery;
  return malloc(sizeof(double) * (size_t)(*lwork > 1 ? *lwork : 1));
}

/*
 * eigh(n, A, lda, w, Z, ldz) -> info: every eigenpair of the symmetric row-major A [n, n] (its upper
 * triangle is read; A is overwritten). w [n] ascending; row k of Z [n, ldz] is the unit eigenvector
 * of w[k]. LAPACK dsyevr (MRRR), workspace allocated here. info 0, or LAPACK's non-zero code,
 * or EIGH_INCOMPLETE (-1000, outside LAPACK's -1..-21 for an illegal argument) when dsyevr
 * reported success but returned fewer than n eigenvalues.
 */
#define EIGH_INCOMPLETE (-1000)
static napi_value eigh(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  int n, lda, ldz;
  double *pa, *pw, *pz;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 6 || !int_arg(env, a[0], &n) || !int_arg(env, a[2], &lda) || !int_arg(env, a[5], &ldz)) {
    napi_throw_type_error(env, NULL, "native blas: eigh(n, A: Float64Array, lda, w: Float64Array, Z: Float64Array, ldz)");
    return NULL;
  }
  if (n < 0 || lda < (n > 1 ? n : 1) || ldz < (n > 1 ? n : 1)) { napi_throw_range_error(env, NULL, "native blas: eigh needs n >= 0, lda >= n and ldz >= n"); return NULL; }
  if (!f64_arg(env, a[1], span(n, n, lda), &pa, "native blas: eigh A must be a Float64Array of at least (n - 1) lda + n elements") ||
      !f64_arg(env, a[3], (size_t)n, &pw, "native blas: eigh w must be a Float64Array of at least n elements") ||
      !f64_arg(env, a[4], span(n, n, ldz), &pz, "native blas: eigh Z must be a Float64Array of at least (n - 1) ldz + n elements"))
    return NULL;
  {
    size_t ab = span(n, n, lda) * sizeof(double), wb = (size_t)n * sizeof(double), zb = span(n, n, ldz) * sizeof(double);
    if (overlaps(pa, ab, pw, wb) || overlaps(pa, ab, pz, zb) || overlaps(pw, wb, pz, zb)) {
      napi_throw_range_error(env, NULL, "native blas: eigh A, w and Z must not overlap");
      return NULL;
    }
  }
  if (!have(env, (void*)p_dsyevr, "dsyevr_")) return NULL;
  int out = 0;
  if (n > 0) {
    int found = 0, il = 1, iu = n, query = -1, iquery = 0;
    double vl = 0, vu = 0, abstol = 0, wquery = 0;
    int* isuppz = malloc(sizeof(int) * 2 * (size_t)n);
    if (isuppz == NULL) { napi_throw_error(env, NULL, "native blas: eigh out of memory"); return NULL; }
    p_dsyevr("V", "A", "L", &n, pa, &lda, &vl, &vu, &il, &iu, &abstol, &found, pw, pz, &ldz, isuppz, &wquery, &query, &iquery, &query, &out, 1, 1, 1);
    int lwork = 0, liwork = iquery;
    double* work = out == 0 ? lapack_work(wquery, &lwork) : NULL;
    int* iwork = out == 0 ? malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1)) : NULL;
    if (out == 0 && (work == NULL || iwork == NULL)) {
      free(isuppz), free(work), free(iwork);
      napi_throw_error(env, NULL, "native blas: eigh out of memory");
      return NULL;
    }
    if (out == 0) p_dsyevr("V", "A", "L", &n, pa, &lda, &vl, &vu, &il, &iu, &abstol, &found, pw, pz, &ldz, isuppz, work, &lwork, iwork, &liwork, &out, 1, 1, 1);
    if (out == 0 && found != n) out = EIGH_INCOMPLETE;
    free(isuppz), free(work), free(iwork);
  }
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * eighInPlace(n, A, lda, w) -> info: every eigenpair of the symmetric row-major A [n, n] (its upper
 * triangle is read): w [n] ascending, and row k of A becomes the unit eigenvector of w[k]. LAPACK
 * dsyevd (divide and conquer: deflates clusters such as the zero eigenvalues of a rank-deficient
 * Gram), workspace (~2 n^2 doubles) allocated here. info 0, or LAPACK's non-zero code.
 */
static napi_value eigh_in_place(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  int n, lda;
  double *pa, *pw;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 4 || !int_arg(env, a[0], &n) || !int_arg(env, a[2], &lda)) {
    napi_throw_type_error(env, NULL, "native blas: eighInPlace(n, A: Float64Array, lda, w: Float64Array)");
    return NULL;
  }
  if (n < 0 || lda < (n > 1 ? n : 1)) { napi_throw_range_error(env, NULL, "native blas: eighInPlace needs n >= 0 and lda >= n"); return NULL; }
  if (!f64_arg(env, a[1], span(n, n, lda), &pa, "native blas: eighInPlace A must be a Float64Array of at least (n - 1) lda + n elements") ||
      !f64_arg(env, a[3], (size_t)n, &pw, "native blas: eighInPlace w must be a Float64Array of at least n elements"))
    return NULL;
  if (overlaps(pa, span(n, n, lda) * sizeof(double), pw, (size_t)n * sizeof(double))) {
    napi_throw_range_error(env, NULL, "native blas: eighInPlace A and w must not overlap");
    return NULL;
  }
  if (!have(env, (void*)p_dsyevd, "dsyevd_")) return NULL;
  int out = 0;
  if (n > 0) {
    int query = -1, iquery = 0;
    double wquery = 0;
    p_dsyevd("V", "L", &n, pa, &lda, pw, &wquery, &query, &iquery, &query, &out, 1, 1);
    int lwork = 0, liwork = iquery;
    double* work = out == 0 ? lapack_work(wquery, &lwork) : NULL;
    int* iwork = out == 0 ? malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1)) : NULL;
    if (out == 0 && (work == NULL || iwork == NULL)) {
      free(work), free(iwork);
      napi_throw_error(env, NULL, "native blas: eighInPlace out of memory");
      return NULL;
    }
    if (out == 0) p_dsyevd("V", "L", &n, pa, &lda, pw, work, &lwork, iwork, &liwork, &out, 1, 1);
    free(work), free(iwork);
  }
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * qrColMajor(m, n, A, lda, tau) -> info: the Householder QR of the COLUMN-major A [m, n] (column
 * stride lda) in place, LAPACK dgeqrf: R in the upper triangle, the reflectors below it and in
 * tau [min(m, n)]. Workspace allocated here. (Column-major because the caller stacks row blocks.)
 */
static napi_value qr_col_major(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  int m, n, lda;
  double *pa, *pt;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 5 || !int_arg(env, a[0], &m) || !int_arg(env, a[1], &n) || !int_arg(env, a[3], &lda)) {
    napi_throw_type_error(env, NULL, "native blas: qrColMajor(m, n, A: Float64Array, lda, tau: Float64Array)");
    return NULL;
  }
  if (m < 0 || n < 0 || lda < (m > 1 ? m : 1)) { napi_throw_range_error(env, NULL, "native blas: qrColMajor needs m, n >= 0 and lda >= m"); return NULL; }
  int k = m < n ? m : n;
  if (!f64_arg(env, a[2], span(n, m, lda), &pa, "native blas: qrColMajor A must be a Float64Array of at least (n - 1) lda + m elements") ||
      !f64_arg(env, a[4], (size_t)k, &pt, "native blas: qrColMajor tau must be a Float64Array of at least min(m, n) elements"))
    return NULL;
  if (overlaps(pa, span(n, m, lda) * sizeof(double), pt, (size_t)k * sizeof(double))) {
    napi_throw_range_error(env, NULL, "native blas: qrColMajor A and tau must not overlap");
    return NULL;
  }
  if (!have(env, (void*)p_dgeqrf, "dgeqrf_")) return NULL;
  int out = 0;
  if (m > 0 && n > 0) {
    int query = -1;
    double wquery = 0;
    p_dgeqrf(&m, &n, pa, &lda, pt, &wquery, &query, &out);
    int lwork = 0;
    double* work = out == 0 ? lapack_work(wquery, &lwork) : NULL;
    if (out == 0 && work == NULL) { napi_throw_error(env, NULL, "native blas: qrColMajor out of memory"); return NULL; }
    if (out == 0) p_dgeqrf(&m, &n, pa, &lda, pt, work, &lwork, &out);
    free(work);
  }
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * applyQtColMajor(m, n, k, A, lda, tau, C, ldc) -> info: C [m, n] := Q^T C, COLUMN-major, Q the
 * product of the k reflectors that qrColMajor left in A [m, k] and tau (LAPACK dormqr, side L,
 * trans T). Workspace allocated here. C must not overlap A or tau.
 */
static napi_value apply_qt_col_major(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  int m, n, k, lda, ldc;
  double *pa, *pt, *pc;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 8 || !int_arg(env, a[0], &m) || !int_arg(env, a[1], &n) || !int_arg(env, a[2], &k) || !int_arg(env, a[4], &lda) || !int_arg(env, a[7], &ldc)) {
    napi_throw_type_error(env, NULL, "native blas: applyQtColMajor(m, n, k, A: Float64Array, lda, tau: Float64Array, C: Float64Array, ldc)");
    return NULL;
  }
  if (m < 0 || n < 0 || k < 0 || k > m || lda < (m > 1 ? m : 1) || ldc < (m > 1 ? m : 1)) {
    napi_throw_range_error(env, NULL, "native blas: applyQtColMajor needs m, n >= 0, 0 <= k <= m, lda >= m and ldc >= m");
    return NULL;
  }
  if (!f64_arg(env, a[3], span(k, m, lda), &pa, "native blas: applyQtColMajor A must be a Float64Array of at least (k - 1) lda + m elements") ||
      !f64_arg(env, a[5], (size_t)k, &pt, "native blas: applyQtColMajor tau must be a Float64Array of at least k elements") ||
      !f64_arg(env, a[6], span(n, m, ldc), &pc, "native blas: applyQtColMajor C must be a Float64Array of at least (n - 1) ldc + m elements"))
    return NULL;
  size_t cb = span(n, m, ldc) * sizeof(double);
  if (overlaps(pc, cb, pa, span(k, m, lda) * sizeof(double)) || overlaps(pc, cb, pt, (size_t)k * sizeof(double))) {
    napi_throw_range_error(env, NULL, "native blas: applyQtColMajor C overlaps A or tau; give C its own buffer");
    return NULL;
  }
  if (!have(env, (void*)p_dormqr, "dormqr_")) return NULL;
  int out = 0;
  if (m > 0 && n > 0 && k > 0) {
    int query = -1;
    double wquery = 0;
    p_dormqr("L", "T", &m, &n, &k, pa, &lda, pt, pc, &ldc, &wquery, &query, &out, 1, 1);
    int lwork = 0;
    double* work = out == 0 ? lapack_work(wquery, &lwork) : NULL;
    if (out == 0 && work == NULL) { napi_throw_error(env, NULL, "native blas: applyQtColMajor out of memory"); return NULL; }
    if (out == 0) p_dormqr("L", "T", &m, &n, &k, pa, &lda, pt, pc, &ldc, work, &lwork, &out, 1, 1);
    free(work);
  }
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * svdSquare(n, A, s, U, Vt) -> info: the SVD A = U diag(s) Vt of the COLUMN-major A [n, n]
 * (LAPACK dgesvd, jobu = jobvt = 'A'; A is destroyed): s [n] descending, U and Vt [n, n]
 * column-major. Workspace allocated here. No operand may overlap another.
 */
static napi_value svd_square(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  int n;
  double *pa, *ps, *pu, *pv;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 5 || !int_arg(env, a[0], &n)) {
    napi_throw_type_error(env, NULL, "native blas: svdSquare(n, A: Float64Array, s: Float64Array, U: Float64Array, Vt: Float64Array)");
    return NULL;
  }
  if (n < 0) { napi_throw_range_error(env, NULL, "native blas: svdSquare needs n >= 0"); return NULL; }
  size_t nn = (size_t)n * (size_t)n;
  if (!f64_arg(env, a[1], nn, &pa, "native blas: svdSquare A must be a Float64Array of at least n^2 elements") ||
      !f64_arg(env, a[2], (size_t)n, &ps, "native blas: svdSquare s must be a Float64Array of at least n elements") ||
      !f64_arg(env, a[3], nn, &pu, "native blas: svdSquare U must be a Float64Array of at least n^2 elements") ||
      !f64_arg(env, a[4], nn, &pv, "native blas: svdSquare Vt must be a Float64Array of at least n^2 elements"))
    return NULL;
  {
    size_t b = nn * sizeof(double), sb = (size_t)n * sizeof(double);
    if (overlaps(pa, b, ps, sb) || overlaps(pa, b, pu, b) || overlaps(pa, b, pv, b) || overlaps(ps, sb, pu, b) || overlaps(ps, sb, pv, b) || overlaps(pu, b, pv, b)) {
      napi_throw_range_error(env, NULL, "native blas: svdSquare A, s, U and Vt must not overlap");
      return NULL;
    }
  }
  if (!have(env, (void*)p_dgesvd, "dgesvd_")) return NULL;
  int out = 0;
  if (n > 0) {
    int query = -1;
    double wquery = 0;
    p_dgesvd("A", "A", &n, &n, pa, &n, ps, pu, &n, pv, &n, &wquery, &query, &out, 1, 1);
    int lwork = 0;
    double* work = out == 0 ? lapack_work(wquery, &lwork) : NULL;
    if (out == 0 && work == NULL) { napi_throw_error(env, NULL, "native blas: svdSquare out of memory"); return NULL; }
    if (out == 0) p_dgesvd("A", "A", &n, &n, pa, &n, ps, pu, &n, pv, &n, work, &lwork, &out, 1, 1);
    free(work);
  }
  napi_value r;
  CHECK(napi_create_int32(env, out, &r));
  return r;
}

/*
 * The self-test's guard: while selfTest runs the library, SIGABRT, SIGSEGV, SIGBUS, SIGILL and
 * SIGFPE raised on the testing thread jump back to it, so a library that aborts or crashes in
 * its first products is reported instead of ending the process without a word. The same
 * signals on any other thread (V8's own SIGSEGV handling for WebAssembly included) go to the
 * handler installed before.
 */
static const int GUARDED[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
#define N_GUARDED ((int)(sizeof GUARDED / sizeof GUARDED[0]))
static struct sigaction guard_old[N_GUARDED];
static sigjmp_buf guard_jmp;
static pthread_t guard_thread;
static volatile sig_atomic_t guard_active = 0;
static volatile sig_atomic_t guard_signal = 0;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

static void guard_handler(int sig, siginfo_t* si, void* ctx) {
  if (guard_active && pthread_equal(pthread_self(), guard_thread)) {
    guard_signal = sig;
    siglongjmp(guard_jmp, 1);
  }
  for (int i = 0; i < N_GUARDED; i++) {
    if (GUARDED[i] != sig) continue;
    struct sigaction* old = &guard_old[i];
    if (old->sa_flags & SA_SIGINFO) {
      if (old->sa_sigaction != NULL) old->sa_sigaction(sig, si, ctx);
    } else if (old->sa_handler == SIG_DFL) {
      sigaction(sig, old, NULL);
      raise(sig);
    } else if (old->sa_handler != SIG_IGN) {
      old->sa_handler(sig);
    }
  }
}

static const char* signal_name(int sig) {
  switch (sig) {
    case SIGABRT: return "SIGABRT (the library called abort)";
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGILL: return "SIGILL (an instruction this CPU lacks)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    default: return "a signal";
  }
}

/*
 * selfTest(A32 [2,3], B32 [3,2], C32 [2,2], A64 [2,3], B64 [3,2], C64 [2,2], S64 [3,3]) -> null or
 * a sentence: C32 := A32 B32 (sgemm), C64 := A64 B64 (dgemm), and, where dpotrf_ resolved, S64's
 * lower triangle := its Cholesky factor (row-major), under the signal guard above. The caller
 * compares the results with its own; a crash comes back as "cblas_sgemm raised SIGABRT ...".
 */
static napi_value self_test(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7], r;
  float *a32, *b32, *c32;
  double *a64, *b64, *c64, *s64;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 7 || !typed(env, a[0], napi_float32_array, (void**)&a32, &len) || len < 6 || !typed(env, a[1], napi_float32_array, (void**)&b32, &len) || len < 6 ||
      !typed(env, a[2], napi_float32_array, (void**)&c32, &len) || len < 4 || !typed(env, a[3], napi_float64_array, (void**)&a64, &len) || len < 6 ||
      !typed(env, a[4], napi_float64_array, (void**)&b64, &len) || len < 6 || !typed(env, a[5], napi_float64_array, (void**)&c64, &len) || len < 4 ||
      !typed(env, a[6], napi_float64_array, (void**)&s64, &len) || len < 9) {
    napi_throw_type_error(env, NULL, "native blas: selfTest(A32[6], B32[6], C32[4], A64[6], B64[6], C64[4], S64[9])");
    return NULL;
  }
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return NULL; }
  pthread_mutex_lock(&guard_lock);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_handler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < N_GUARDED; i++) sigaction(GUARDED[i], &sa, &guard_old[i]);
  guard_thread = pthread_self();
  guard_signal = 0;
  const char* volatile stage = "cblas_sgemm";
  if (sigsetjmp(guard_jmp, 1) == 0) {
    guard_active = 1;
    p_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, 2, 2, 3, 1.0f, a32, 3, b32, 2, 0.0f, c32, 2);
    stage = "cblas_dgemm";
    p_dgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, 2, 2, 3, 1.0, a64, 3, b64, 2, 0.0, c64, 2);
    if (p_dpotrf != NULL) {
      stage = "dpotrf_";
      int n = 3, lda = 3, out = 0;
      p_dpotrf("U", &n, s64, &lda, &out, 1);
      if (out != 0) s64[0] = NAN; /* a positive definite input: any info is a failure */
    }
  }
  guard_active = 0;
  for (int i = 0; i < N_GUARDED; i++) sigaction(GUARDED[i], &guard_old[i], NULL);
  int sig = guard_signal;
  pthread_mutex_unlock(&guard_lock);
  if (sig == 0) {
    CHECK(napi_get_null(env, &r));
    return r;
  }
  char msg[200];
  snprintf(msg, sizeof msg, "%s raised %s", (const char*)stage, signal_name(sig));
  CHECK(napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &r));
  return r;
}

/*
 * selfTestQr(A [3 x 2 column-major], tau [2], C [3], S [4], s [2], U [4], Vt [4]) -> null or a
 * sentence: dgeqrf of A, dormqr of C with its reflectors, and dgesvd of the column-major 2 x 2 S,
 * under the signal guard of selfTest; the caller compares the results with known answers
 * (lib/native/blas.ts, qrSelfTestFailure) before the QR route uses the library.
 */
static napi_value self_test_qr(napi_env env, napi_callback_info info) {
  size_t argc = 7, len;
  napi_value a[7], r;
  double *pa, *pt, *pc, *ps2, *pw, *pu, *pv;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 7 || !typed(env, a[0], napi_float64_array, (void**)&pa, &len) || len < 6 || !typed(env, a[1], napi_float64_array, (void**)&pt, &len) || len < 2 ||
      !typed(env, a[2], napi_float64_array, (void**)&pc, &len) || len < 3 || !typed(env, a[3], napi_float64_array, (void**)&ps2, &len) || len < 4 ||
      !typed(env, a[4], napi_float64_array, (void**)&pw, &len) || len < 2 || !typed(env, a[5], napi_float64_array, (void**)&pu, &len) || len < 4 ||
      !typed(env, a[6], napi_float64_array, (void**)&pv, &len) || len < 4) {
    napi_throw_type_error(env, NULL, "native blas: selfTestQr(A[6], tau[2], C[3], S[4], s[2], U[4], Vt[4])");
    return NULL;
  }
  if (!load_blas()) { napi_throw_error(env, NULL, "native blas: no CBLAS library found"); return NULL; }
  if (p_dgeqrf == NULL || p_dormqr == NULL || p_dgesvd == NULL) { CHECK(napi_get_null(env, &r)); return r; }
  pthread_mutex_lock(&guard_lock);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_handler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < N_GUARDED; i++) sigaction(GUARDED[i], &sa, &guard_old[i]);
  guard_thread = pthread_self();
  guard_signal = 0;
  const char* volatile stage = "dgeqrf_";
  if (sigsetjmp(guard_jmp, 1) == 0) {
    guard_active = 1;
    int m = 3, n = 2, one = 1, lwork = 64, out = 0;
    double work[64];
    p_dgeqrf(&m, &n, pa, &m, pt, work, &lwork, &out);
    if (out != 0) pa[0] = NAN;
    stage = "dormqr_";
    p_dormqr("L", "T", &m, &one, &n, pa, &m, pt, pc, &m, work, &lwork, &out, 1, 1);
    if (out != 0) pc[0] = NAN;
    stage = "dgesvd_";
    int two = 2;
    p_dgesvd("A", "A", &two, &two, ps2, &two, pw, pu, &two, pv, &two, work, &lwork, &out, 1, 1);
    if (out != 0) pw[0] = NAN;
  }
  guard_active = 0;
  for (int i = 0; i < N_GUARDED; i++) sigaction(GUARDED[i], &guard_old[i], NULL);
  int sig = guard_signal;
  pthread_mutex_unlock(&guard_lock);
  if (sig == 0) {
    CHECK(napi_get_null(env, &r));
    return r;
  }
  char msg[200];
  snprintf(msg, sizeof msg, "%s raised %s", (const char*)stage, signal_name(sig));
  CHECK(napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &r));
  return r;
}

/*
 * transpose32(src: Float32Array, rows, cols, dst: Float32Array): dst [cols, rows] = src [rows, cols]
 * transposed. Loading a model transposes every nn.Linear weight ([out, in] -> [in, out]); a
 * JavaScript loop moved 200-350M floats/s. OpenBLAS's cblas_somatcopy where the library has it
 * (0.6-3.4 ns a float measured here under load), else 8 x 8 blocks inside 64 x 64 tiles (3.3-4.3
 * ns; a plain tiled loop took up to 10 on power-of-two strides). src and dst must not overlap.
 */
static void transpose_tiles(const float* src, int rows, int cols, float* dst) {
  enum { T = 64, B = 8 };
  for (int i0 = 0; i0 < rows; i0 += T) {
    for (int j0 = 0; j0 < cols; j0 += T) {
      int i1 = i0 + T < rows ? i0 + T : rows, j1 = j0 + T < cols ? j0 + T : cols;
      for (int i = i0; i < i1; i += B) {
        for (int j = j0; j < j1; j += B) {
          int ie = i + B < i1 ? i + B : i1, je = j + B < j1 ? j + B : j1;
          for (int b = j; b < je; b++) {
            float* d = dst + (size_t)b * rows;
            for (int a = i; a < ie; a++) d[a] = src[(size_t)a * cols + b];
          }
        }
      }
    }
  }
}

static napi_value transpose32(napi_env env, napi_callback_info info) {
  size_t argc = 4, ls, ld;
  napi_value a[4];
  float *src, *dst;
  int rows, cols;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 4 || !typed(env, a[0], napi_float32_array, (void**)&src, &ls) || !int_arg(env, a[1], &rows) ||
      !int_arg(env, a[2], &cols) || !typed(env, a[3], napi_float32_array, (void**)&dst, &ld)) {
    napi_throw_type_error(env, NULL, "native blas: transpose32(src: Float32Array, rows, cols, dst: Float32Array)");
    return NULL;
  }
  size_t n = (size_t)rows * (size_t)cols;
  if (rows < 0 || cols < 0 || ls < n || ld < n || (dst < src + n && src < dst + n && n > 0)) {
    napi_throw_range_error(env, NULL, "native blas: transpose32 needs src and dst of rows * cols floats that do not overlap");
    return NULL;
  }
  if (n == 0) return NULL;
  if (load_blas() && p_somatcopy != NULL) p_somatcopy(ROW_MAJOR, TRANS, rows, cols, 1.0f, src, cols, dst, rows);
  else transpose_tiles(src, rows, cols, dst);
  return NULL;
}

/* has(call): whether the loaded library provides the symbol behind an optional call. */
static napi_value has_call(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value a[1], r;
  char name[32];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, a[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "native blas: has(call: string)");
    return NULL;
  }
  int ok = load_blas();
  void* p = NULL;
  if (strcmp(name, "potrfLower") == 0) p = (void*)p_dpotrf;
  else if (strcmp(name, "trsmLower") == 0) p = (void*)p_dtrsm;
  else if (strcmp(name, "trsvLower") == 0) p = (void*)p_dtrsv;
  else if (strcmp(name, "trmvLower") == 0) p = (void*)p_dtrmv;
  else if (strcmp(name, "eigh") == 0) p = (void*)p_dsyevr;
  else if (strcmp(name, "eighInPlace") == 0) p = (void*)p_dsyevd;
  else if (strcmp(name, "qrColMajor") == 0) p = (void*)p_dgeqrf;
  else if (strcmp(name, "applyQtColMajor") == 0) p = (void*)p_dormqr;
  else if (strcmp(name, "svdSquare") == 0) p = (void*)p_dgesvd;
  else if (strcmp(name, "gemm") == 0) p = p_sgemm != NULL && p_dgemm != NULL ? (void*)p_dgemm : NULL;
  else if (strcmp(name, "syrkUpper") == 0) p = (void*)p_dsyrk;
  CHECK(napi_get_boolean(env, ok && p != NULL, &r));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      CALL("gemm", gemm),
      CALL("syrkUpper", syrk_upper),
      CALL("info", blas_info),
      CALL("setThreads", set_threads),
      CALL("potrfLower", potrf_lower),
      CALL("trsmLower", trsm_lower),
      CALL("trsvLower", trsv_lower),
      CALL("trmvLower", trmv_lower),
      CALL("eigh", eigh),
      CALL("eighInPlace", eigh_in_place),
      CALL("has", has_call),
      CALL("reloadWithCore", reload_with_core),
      CALL("selfTest", self_test),
      CALL("selfTestQr", self_test_qr),
      CALL("qrColMajor", qr_col_major),
      CALL("applyQtColMajor", apply_qt_col_major),
      CALL("svdSquare", svd_square),
      CALL("transpose32", transpose32),
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  if (!register_kernels(env, exports) || !register_convert(env, exports) || !register_files(env, exports) || !register_read(env, exports)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
