#!/usr/bin/env bash
# Builds "dist/Diarization Studio.app" on macOS from packaging/diarization_studio.spec
# (the same spec builds the Linux folder: packaging/build_linux.sh). Unsigned: see
# packaging/README.md for what Gatekeeper says and how to open it.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(uname -s)" != "Darwin" ]; then
  echo "build_mac.sh builds the macOS .app and runs on macOS; on Linux use packaging/build_linux.sh." >&2
  exit 1
fi
scripts/setup.sh requirements-build.txt
# The icon: resources/icon.png drawn into every size macOS asks for.
iconset=build/icon.iconset
rm -rf "$iconset" && mkdir -p "$iconset"
for size in 16 32 128 256 512; do
  sips -z $size $size resources/icon.png --out "$iconset/icon_${size}x${size}.png" >/dev/null
  sips -z $((size * 2)) $((size * 2)) resources/icon.png --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$iconset" -o build/icon.icns
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/diarization_studio.spec
app="dist/Diarization Studio.app"
echo "Built $app in $(( $(date +%s) - start )) s, $(du -sh "$app" | cut -f1) on disk."
echo "Checking it: \"$app/Contents/MacOS/Diarization Studio\" --self-test"
HF_HUB_OFFLINE=1 "$app/Contents/MacOS/Diarization Studio" --self-test
# The self-test must not have written into the bundle (senko's CoreML cache goes to the
# data folder): an ad-hoc signature still verifies.
codesign --force --deep --sign - "$app"
codesign --verify --deep --strict "$app"
# What people download: a disk image with the app and an Applications link, and a zip
# made by ditto (zip -r would flatten the bundle's symlinks).
version=$(.venv/bin/python -c 'from app import __version__; print(__version__)')
staging=build/dmg
rm -rf "$staging" && mkdir -p "$staging"
ditto "$app" "$staging/Diarization Studio.app"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "Diarization Studio" -srcfolder "$staging" -ov -format UDZO "dist/Diarization-Studio-$version.dmg"
ditto -c -k --sequesterRsrc --keepParent "$app" "dist/Diarization-Studio-$version.zip"
echo "Made dist/Diarization-Studio-$version.dmg and .zip."
