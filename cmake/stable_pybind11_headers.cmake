# pip builds in an isolated environment with pybind11 in a new temporary folder each time.
# Compiled against that folder, every `pip install .` would see new include paths (and its old
# headers gone) and recompile everything. This copies the headers into the build folder,
# rewriting only a header whose content changed (configure_file leaves equal files untouched),
# and points pybind11's include path there, so an unchanged tree reuses its objects.
set(nerve_pybind11_include "${CMAKE_BINARY_DIR}/pybind11-include")
file(GLOB_RECURSE nerve_pybind11_headers RELATIVE "${pybind11_INCLUDE_DIR}"
     "${pybind11_INCLUDE_DIR}/pybind11/*")
foreach(header IN LISTS nerve_pybind11_headers)
  configure_file("${pybind11_INCLUDE_DIR}/${header}" "${nerve_pybind11_include}/${header}" COPYONLY)
endforeach()
set_property(TARGET pybind11::pybind11_headers
             PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${nerve_pybind11_include}")
