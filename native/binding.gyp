{
  "targets": [
    {
      "target_name": "blas",
      "sources": ["blas.c"],
      "cflags": ["-O2", "-std=c11"],
      "libraries": ["-ldl"]
    }
  ]
}
