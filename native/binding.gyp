{
  # One addon: C++17 (gnu++17 from Node's common.gypi), C++ exceptions (node-addon-api's
  # node_addon_api_except target), linked dynamically against the system libbpf because Debian's
  # libbpf.a is not PIC.
  "targets": [
    {
      "target_name": "peregrine_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/bpf_object.cc",
        "src/bpf_object_attach.cc",
        "src/bpf_object_maps.cc",
        "src/bpf_object_kfunc.cc",
        "src/bpf_link.cc",
        "src/ring_reader.cc",
        "src/fanotify_guard.cc",
        "src/fanotify_table.cc",
        "src/system.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra", "-Wno-missing-field-initializers", "-O2"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libbpf libelf zlib | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs libbpf libelf zlib)", "-lpthread", "-ldl"]
    }
  ]
}
