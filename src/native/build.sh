#!/bin/sh
# npm install runs this (package.json "install"), and t/run-all when the build is missing or
# older than its sources: the native datapath, built by node-gyp against this Node's own
# headers (npm's nodedir, else the installation's include/node), never a download.
# A machine that cannot build it still installs: the daemon then logs that it relays on the
# event loop (media-datapath auto), and t/unit/daemon/native.ts fails, so CI notices.
cd "$(dirname "$0")/../.." || exit 0
nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
if command -v node-gyp >/dev/null 2>&1; then
  gyp=node-gyp
else
  gyp="node $(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
fi
if $gyp rebuild --nodedir="$nodedir" --loglevel=warn >build.log 2>&1; then
  rm -f build.log
else
  echo "sipproxy64: the native media datapath was not built (see build.log); the JavaScript one will be used" >&2
fi
exit 0
