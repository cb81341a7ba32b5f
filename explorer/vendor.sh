#!/usr/bin/env bash
# Re-create explorer/static/vendor/ from the npm registry: the pre-built browser bundles the
# explorer page loads, byte for byte as published, their licences, and SHA256SUMS.
# Run by hand when upgrading (then update README.md there); CI and `make install` never
# need npm, because the result is committed.
set -euo pipefail
cd "$(dirname "$0")"
GRAPHIQL=${GRAPHIQL:-3.9.0}
REACT=${REACT:-18.3.1}
GRAPHQL=${GRAPHQL:-16.15.0}  # only for the licence list: graphiql's bundle includes graphql-js

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for tgz in "$work"/*.tgz; do
  mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"
done

out=static/vendor
rm -rf "$out/LICENSES" && mkdir -p "$out/LICENSES"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/react-$REACT/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
for pkg in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  cp "$work/$pkg/package/LICENSE" "$out/LICENSES/${pkg%-*}.LICENSE"
done

# graphiql.min.js bundles its dependencies: collect the licence of every package in its
# production dependency tree (a superset of what the bundle contains).
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
  --ignore-scripts "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql@$GRAPHQL")
node "$PWD/third_party_licenses.js" "$work" > "$out/LICENSES/THIRD_PARTY_LICENSES.txt"

(cd "$out" && find . -type f ! -name SHA256SUMS ! -name README.md | LC_ALL=C sort \
  | sed 's|^\./||' | xargs sha256sum > SHA256SUMS)
du -ch "$out"/*.js "$out"/*.css | tail -1
