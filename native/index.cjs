'use strict';
// Loads the compiled addon (native/build.sh). Kept as CommonJS: ESM callers use createRequire.
module.exports = require('./build/Release/peregrine_native.node');
