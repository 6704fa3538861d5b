# the bridge library and its tests
