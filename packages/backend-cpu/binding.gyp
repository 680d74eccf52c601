{
  # kiln_cpu.node: the native fast path of @kiln/backend-cpu. Portable flags only (no -march):
  # the AVX2/FMA kernels are compiled per function and chosen at run time from cpuid, so one
  # binary serves every x86-64 CPU. Build: `pnpm run build:native` (see README).
  # `--kiln_asan=1` (e.g. `node-gyp rebuild --kiln_asan=1`) builds with AddressSanitizer.
  "variables": { "kiln_asan%": 0 },
  "targets": [
    {
      "target_name": "kiln_cpu",
      "sources": [
        "native/src/addon.cc",
        "native/src/attention.cc",
        "native/src/conv.cc",
        "native/src/elementwise.cc",
        "native/src/fusion.cc",
        "native/src/loss.cc",
        "native/src/normalization.cc",
        "native/src/optim.cc",
        "native/src/reduce.cc",
        "native/src/sgemm.cc",
        "native/src/thread_pool.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno"],
      "cflags": ["-O3"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["kiln_asan==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"],
          "ldflags": ["-fsanitize=address"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] } }
        }]
      ]
    }
  ]
}
