// Catch2's main in its own translation unit: it alone takes ~30 s to compile.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
