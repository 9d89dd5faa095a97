# Compiler launcher, linker, warnings and sanitizers for every basalt target.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

# mold links in a fraction of the time of ld.bfd; lld is the fallback.
find_program(MOLD_PROGRAM mold)
find_program(LLD_PROGRAM ld.lld)
if(MOLD_PROGRAM)
  add_link_options(-fuse-ld=mold)
elseif(LLD_PROGRAM)
  add_link_options(-fuse-ld=lld)
endif()

set(BASALT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(BASALT_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # In a unity batch every source is an included file, where GCC takes a member of a type from an
  # anonymous namespace for a header's mistake; it is not one in a .cpp file.
  list(APPEND BASALT_WARNINGS -Wno-subobject-linkage)
endif()
if(BASALT_WERROR)
  list(APPEND BASALT_WARNINGS -Werror)
endif()

if(BASALT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(BASALT_TSAN)
  # ThreadSanitizer (the tsan preset): only the unit tests that run threads are built with it (the
  # basalt_threaded_tests target; see basalt_add_unit_tests).
  # -Wno-tsan: GCC warns that Asio's atomic_thread_fence is not modelled by TSan; no threaded test
  # runs Asio code (realtime links basalt_http for EventStream only).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
endif()
if(BASALT_FUZZ)
  # ASan only: clang 14 miscompiles coroutines under UBSan + coverage instrumentation
  # ("Cannot represent a difference across sections"). UBSan runs in the GCC debug build.
  add_compile_options(-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address)
endif()

# Boost.Asio: coroutines, no deprecated API; Beast: no deprecated API.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_CONCEPTS)
